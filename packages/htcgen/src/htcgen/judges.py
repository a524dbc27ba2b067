"""Several judges asked together: the classifiers a cell trains on its real documents, combined so that a generated
document is chosen only on evidence they share.

A judge trained on one document per path is wrong often (docs/htcgen.md: a third to two thirds of what a single
judge keeps carries its path), and TF-IDF and the encoder are wrong on different documents, so requiring both to
agree trades kept documents for label accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class JointJudge:
    """Judges asked together. :meth:`agrees` (the top-1 filter) says yes only when every judge does; the
    probability of a label (the ``share`` selection) is the geometric mean of the judges' probabilities of it, so
    one judge that rules a label out rules it out.

    Args:
        judges: classifiers with ``agrees(texts, paths, threshold)`` and ``path_probabilities(texts, paths)``, as
            :class:`htcgen.classify.HierarchyClassifier` has.

    Raises:
        ValueError: no judge given.
    """

    def __init__(self, judges: Sequence):
        if not judges:
            raise ValueError("a joint judge needs at least one classifier")
        self.judges = tuple(judges)

    def agrees(self, texts: Sequence[str], paths: Sequence[Sequence[str]], threshold: float = 0.5) -> list[bool]:
        verdicts = [judge.agrees(texts, paths, threshold) for judge in self.judges]
        return [all(each) for each in zip(*verdicts, strict=True)]

    def path_probabilities(self, texts: Sequence[str], paths: Sequence[Sequence[str]]) -> list[list[float]]:
        per_judge = [judge.path_probabilities(texts, paths) for judge in self.judges]
        return [
            [math.prod(values) ** (1.0 / len(values)) for values in zip(*levels, strict=True)]
            for levels in zip(*per_judge, strict=True)
        ]
