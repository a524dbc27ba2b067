"""Label paths seen as one class per level: what the per-level classifiers (TF-IDF and encoder) are trained on.

A document whose path ends above a level takes the class :data:`NO_LABEL` there (HWV paths have 2 to 6 levels), so
every document has exactly one class at every level and a softmax (or a multi-class SVM) per level fits it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy

from htcgen.taxonomy import Taxonomy

NO_LABEL = ""  # never a taxonomy label: Taxonomy.from_file drops empty names


class LevelCoding:
    """The classes of each level, as seen in the training documents.

    Args:
        documents: training documents with a ``labels`` path each.
        taxonomy: orders each level's classes as the taxonomy file does.

    Attributes:
        classes: per level (0 = first), its classes; :data:`NO_LABEL` first where some path ends above the level.
        labels: every taxonomy label seen in training, level by level: the columns of ``predict_proba``.
    """

    def __init__(self, documents: Sequence[dict], taxonomy: Taxonomy):
        depth = max(len(d["labels"]) for d in documents)
        order = {label: i for i, label in enumerate(taxonomy.labels)}
        self.classes: list[list[str]] = []
        for level in range(depth):
            seen = {d["labels"][level] for d in documents if len(d["labels"]) > level}
            ends_above = any(len(d["labels"]) <= level for d in documents)
            ranked = sorted(seen, key=lambda label: (order.get(label, len(order)), label))
            self.classes.append([NO_LABEL, *ranked] if ends_above else ranked)
        self.labels = [label for level in self.classes for label in level if label != NO_LABEL]

    @property
    def depth(self) -> int:
        return len(self.classes)

    def targets(self, documents: Sequence[dict], level: int) -> list[str]:
        """Each document's class at ``level``."""
        return [d["labels"][level] if len(d["labels"]) > level else NO_LABEL for d in documents]

    def indices(self, documents: Sequence[dict]) -> numpy.ndarray:
        """``(len(documents), depth)`` class indices into ``classes[level]``.

        Raises:
            ValueError: a document has a label this coding never saw at that level.
        """
        index = [{label: i for i, label in enumerate(level)} for level in self.classes]
        rows = []
        for number, document in enumerate(documents):
            row = []
            for level in range(self.depth):
                target = self.targets([document], level)[0]
                if target not in index[level]:
                    raise ValueError(
                        f"document {document.get('id', number)!r}: label {target or 'end of path'!r} was never seen "
                        f"at level {level + 1} in training"
                    )
                row.append(index[level][target])
            rows.append(row)
        return numpy.array(rows, dtype=numpy.int64).reshape(len(documents), self.depth)

    def to_columns(self, level_probabilities: Sequence[numpy.ndarray]) -> numpy.ndarray:
        """Per-level ``(n, len(classes[level]))`` probabilities -> ``(n, len(labels))`` node columns (the
        :data:`NO_LABEL` column dropped: it is 1 minus the level's other columns)."""
        kept = [
            probabilities[:, [i for i, label in enumerate(level) if label != NO_LABEL]]
            for probabilities, level in zip(level_probabilities, self.classes, strict=True)
        ]
        return numpy.concatenate(kept, axis=1)

    def as_dict(self) -> dict:
        return {"classes": self.classes}

    @classmethod
    def from_dict(cls, data: dict) -> LevelCoding:
        coding = cls.__new__(cls)
        coding.classes = [list(level) for level in data["classes"]]
        coding.labels = [label for level in coding.classes for label in level if label != NO_LABEL]
        return coding


def softmax(scores: numpy.ndarray) -> numpy.ndarray:
    """Row-wise softmax, stable for large scores."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    exponentials = numpy.exp(shifted)
    return exponentials / exponentials.sum(axis=1, keepdims=True)
