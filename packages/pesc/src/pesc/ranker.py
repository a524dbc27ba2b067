"""The learned decision whether to apply a misspelling candidate: a gradient-boosted tree ensemble over the
candidate's features (:mod:`pesc.candidate_features`), trained by ``pesc train-ranker`` and shipped inside the
package as JSON.

Scoring is plain Python over the exported trees, so the default checker needs neither scikit-learn nor NumPy
at run time; training needs the ``pesc[ranker]`` extra (scikit-learn).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from lmcommon.data import read_json, write_json
from lmcommon.errors import DataError

RANKER_FILE = "ranker.json"
FORMAT = "pesc-ranker-1"
MAX_DEPTH = 32  # levels of splits a tree may have (the shipped trees have 3)


@dataclass(frozen=True)
class Tree:
    """One regression tree, as scikit-learn's ``tree_`` arrays: node ``i`` tests ``x[feature[i]] <= threshold[i]``
    and goes to ``left[i]`` or ``right[i]``; a leaf (``left[i] == -1``) holds ``value[i]``."""

    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    value: tuple[float, ...]

    def predict(self, x: Sequence[float]) -> float:
        node = 0
        left, right, feature, threshold = self.left, self.right, self.feature, self.threshold
        while left[node] != -1:
            node = left[node] if x[feature[node]] <= threshold[node] else right[node]
        return self.value[node]


@dataclass(frozen=True)
class Ranker:
    """P(a candidate replacement is the right correction) from its features.

    Attributes:
        features: the feature names, in the order :meth:`probability` expects them.
        init: the ensemble's starting log-odds.
        learning_rate: the shrinkage every tree's output is scaled by.
        trees: the ensemble.
        threshold: the probability a candidate must reach to be applied (chosen on dev).
        pair_counts: how often each ``original+replacement`` pair was a correction in the training data (a
            feature; shipped with the model because the model was fitted on it).
        provenance: how the model was trained (command, data, measured figures).
    """

    features: tuple[str, ...]
    init: float
    learning_rate: float
    trees: tuple[Tree, ...]
    threshold: float
    pair_counts: dict[str, int]
    provenance: dict

    def probability(self, x: Sequence[float]) -> float:
        """The model's probability for one feature vector (len(x) == len(features))."""
        raw = self.init + self.learning_rate * self._tree_sum(x)
        return 1.0 / (1.0 + math.exp(-raw)) if raw > -700 else 0.0

    @functools.cached_property
    def _tree_sum(self) -> Callable[[Sequence[float]], float]:
        """The sum of every tree's output, compiled once into one function of nested comparisons: the checker
        asks for thousands of candidates a second, and walking node arrays in a loop costs several times more.
        Only numbers validated at load go into the source (features as int, thresholds and values as float)."""
        lines = ["def tree_sum(x):", " t = 0.0"]
        for tree in self.trees:
            stack = [(0, 1)]  # (node, indentation); a node's else-branch is emitted after its if-branch
            while stack:
                node, depth = stack.pop()
                pad = " " * depth
                if node == "else":
                    lines.append(f"{pad}else:")
                    continue
                if tree.left[node] == -1:
                    lines.append(f"{pad}t += {float(tree.value[node])!r}")
                    continue
                lines.append(f"{pad}if x[{int(tree.feature[node])}] <= {float(tree.threshold[node])!r}:")
                stack += [(tree.right[node], depth + 1), ("else", depth), (tree.left[node], depth + 1)]
        lines.append(" return t")
        namespace: dict = {}
        exec(compile("\n".join(lines), "<pesc ranker>", "exec"), namespace)
        return namespace["tree_sum"]

    def __getstate__(self) -> dict:
        # the compiled function cannot be pickled; it is compiled again on first use
        return {k: v for k, v in self.__dict__.items() if k != "_tree_sum"}

    def save(self, path: str | Path) -> None:
        """Writes the ranker as JSON (atomically)."""
        write_json(
            path,
            {
                "format": FORMAT,
                "features": list(self.features),
                "init": self.init,
                "learning_rate": self.learning_rate,
                "threshold": self.threshold,
                "trees": [
                    {name: list(getattr(tree, name)) for name in ("feature", "threshold", "left", "right", "value")}
                    for tree in self.trees
                ],
                "pair_counts": self.pair_counts,
                "provenance": self.provenance,
            },
        )

    @classmethod
    def load(cls, path: str | Path) -> Ranker:
        """Reads a ranker written by :meth:`save`.

        Raises:
            FileNotFoundError: no such file.
            DataError: not a pesc ranker, or a field is missing or malformed (the file is named).
        """
        data = read_json(path)
        if data.get("format") != FORMAT:
            raise DataError(f"not a pesc ranker (format {data.get('format')!r}, expected {FORMAT!r})", path=path)
        try:
            trees = tuple(
                Tree(
                    feature=tuple(int(i) for i in tree["feature"]),
                    threshold=tuple(_finite(v) for v in tree["threshold"]),
                    left=tuple(int(i) for i in tree["left"]),
                    right=tuple(int(i) for i in tree["right"]),
                    value=tuple(_finite(v) for v in tree["value"]),
                )
                for tree in data["trees"]
            )
            for number, tree in enumerate(trees):
                _check_tree(tree, len(data["features"]), number)
            return cls(
                features=tuple(data["features"]),
                init=float(data["init"]),
                learning_rate=float(data["learning_rate"]),
                trees=trees,
                threshold=float(data["threshold"]),
                pair_counts={str(k): int(v) for k, v in data["pair_counts"].items()},
                provenance=dict(data.get("provenance", {})),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise DataError(f"malformed pesc ranker ({type(error).__name__}: {error})", path=path) from None


def _check_tree(tree: Tree, features: int, number: int) -> None:
    """Raises ValueError unless ``tree`` is a binary tree of at most :data:`MAX_DEPTH` levels whose nodes point
    inside it and test features the ranker has: a hand-edited cycle would make prediction loop for ever, and a
    tree too deep would not compile (Python nests at most about 100 blocks)."""
    size = len(tree.feature)
    if size == 0 or any(len(column) != size for column in (tree.threshold, tree.left, tree.right, tree.value)):
        raise ValueError(f"tree {number}: its node arrays are empty or disagree in length")
    reached = set()
    stack = [(0, 1)]
    while stack:
        node, depth = stack.pop()
        if node in reached:
            raise ValueError(f"tree {number}: node {node} is reached twice (a cycle or a shared branch); not a tree")
        reached.add(node)
        if depth > MAX_DEPTH + 1:
            raise ValueError(f"tree {number}: deeper than {MAX_DEPTH} levels")
        left, right = tree.left[node], tree.right[node]
        if left == -1 and right == -1:
            continue
        if not (0 <= left < size and 0 <= right < size):
            raise ValueError(f"tree {number}: node {node} points outside the tree ({left}, {right})")
        if not 0 <= tree.feature[node] < features:
            tested = tree.feature[node]
            raise ValueError(f"tree {number}: node {node} tests feature {tested}, the ranker has {features}")
        stack += [(left, depth + 1), (right, depth + 1)]


def _finite(value) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


@functools.cache
def default_ranker() -> Ranker:
    """The ranker shipped inside the package (``pesc/resources/ranker.json``; see its PROVENANCE.md)."""
    with resources.as_file(resources.files("pesc").joinpath("resources", RANKER_FILE)) as path:
        return Ranker.load(path)
