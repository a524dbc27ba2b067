"""A diagnostic of whether generated documents carry their labels: an oracle classifier, trained once on every
training document (far more than any low-resource cell has), labels each generated document, and the share whose
oracle path equals the requested path is reported beside the same share for the cell's real documents.

The oracle only reads: nothing it says reaches a cell's training set or its selection (the experiment computes it
after the kept documents are fixed), so it judges the selection without steering it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def oracle_agreement(oracle, documents: Sequence[dict]) -> dict[str, Any]:
    """How many of ``documents`` the oracle gives exactly their ``labels`` path (``documents``: 0 when empty,
    ``share`` None then)."""
    if not documents:
        return {"documents": 0, "agree": 0, "share": None}
    predicted = oracle.predict([d["text"] for d in documents])
    agree = sum(list(path) == list(d["labels"]) for path, d in zip(predicted, documents, strict=True))
    return {"documents": len(documents), "agree": agree, "share": agree / len(documents)}
