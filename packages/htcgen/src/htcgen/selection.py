"""Choosing which generated documents reach the classifier: per requested label path, the documents the judge finds
most probable for that path.

The exact-match filter (:func:`htcgen.filters.consistency_filter`) keeps a document only when a judge trained on
the cell's few documents ranks the requested path first; at one document per leaf it kept 2 to 23 of 102
(docs/htcgen.md). Ranking within each path and keeping the best share keeps the same number per path whatever the
judge's overall confidence, and orders them by how strongly the judge ties them to the path.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy


def path_probability(judge, texts: Sequence[str], paths: Sequence[Sequence[str]]) -> list[float]:
    """The judge's probability of each text's path: the product over levels of its label's probability there (the
    quantity the judge's path decoder maximises); 0 when the judge never saw one of the path's labels."""
    if len(texts) != len(paths):
        raise ValueError(f"need a path per text, got {len(texts)} texts and {len(paths)} paths")
    if not texts:
        return []
    per_label = judge.path_probabilities(list(texts), [list(path) for path in paths])
    return [float(numpy.prod(values)) if values else 0.0 for values in per_label]


def select_by_judge(samples: Sequence[dict], judge, keep_share: float) -> list[dict]:
    """Per label path (``sample["labels"]``), the ``ceil(keep_share * n)`` of its ``n`` samples that the judge gives
    the highest probability of that path (:func:`path_probability`); ties keep the earlier sample. Each kept sample
    gets ``judge_probability``. The result keeps the samples' original order.

    Raises:
        ValueError: ``keep_share`` outside (0, 1].
    """
    if not 0.0 < keep_share <= 1.0:
        raise ValueError(f"keep_share must be in (0, 1], got {keep_share}")
    if not samples:
        return []
    scores = path_probability(judge, [s["text"] for s in samples], [s["labels"] for s in samples])
    by_path: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index, sample in enumerate(samples):
        by_path[tuple(sample["labels"])].append(index)
    kept: set[int] = set()
    for members in by_path.values():
        ranked = sorted(members, key=lambda i: (-scores[i], i))
        kept.update(ranked[: math.ceil(keep_share * len(members))])
    return [{**samples[i], "judge_probability": scores[i]} for i in sorted(kept)]
