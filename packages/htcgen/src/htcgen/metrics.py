"""Hierarchical classification metrics: micro- and macro-F1 over every node, and per level."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from htcgen.taxonomy import Taxonomy
from lmcommon.metrics import multilabel_f1


def hierarchical_f1(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], taxonomy: Taxonomy
) -> dict[str, Any]:
    """Micro- and macro-F1 over all nodes (each node on a path is a label), and the same per level.

    Macro-F1 averages over the nodes that occur in the gold or predicted paths (of that level).

    Returns:
        ``{"micro_f1", "macro_f1", "levels": {depth: {"micro_f1", "macro_f1"}}}``.

    Raises:
        ValueError: the two lists differ in length, or a label is not in the taxonomy.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold paths but {len(predicted)} predicted paths")
    for path in [*gold, *predicted]:
        for label in path:
            if label not in taxonomy:
                raise ValueError(f"label {label!r} is not in the taxonomy")
    result: dict[str, Any] = dict(multilabel_f1(gold, predicted))
    depths = sorted({taxonomy.depth[label] for path in gold for label in path})
    result["levels"] = {
        depth: multilabel_f1(
            [[x for x in path if taxonomy.depth[x] == depth] for path in gold],
            [[x for x in path if taxonomy.depth[x] == depth] for path in predicted],
        )
        for depth in depths
    }
    return result
