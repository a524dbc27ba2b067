"""The label hierarchy: built from a parent/children file (the HWV ``.taxonomy`` format) or from the label
paths of the data; paths, ancestors, siblings, depth, truncation, and validation of label paths."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from lmcommon.data import iter_text_lines
from lmcommon.errors import DataError

ROOT = "Root"


class Taxonomy:
    """A tree of labels under a virtual root; every label name is unique.

    Args:
        children: parent -> ordered children (the root's children are the first level).
        root: the name of the virtual root.

    Raises:
        ValueError: a label has two parents, the root is listed as a child, or a cycle.
    """

    def __init__(self, children: dict[str, list[str]], root: str = ROOT):
        self.root = root
        self.children = {parent: list(kids) for parent, kids in children.items()}
        self.parent: dict[str, str] = {}
        for parent, kids in self.children.items():
            for child in kids:
                if child == root:
                    raise ValueError(f"the root {root!r} is listed as a child of {parent!r}; the root has no parent")
                if child in self.parent and self.parent[child] != parent:
                    raise ValueError(f"label {child!r} has two parents: {self.parent[child]!r} and {parent!r}")
                self.parent[child] = parent
        self.depth: dict[str, int] = {}
        for label in self.parent:
            self._depth_of(label)

    def _depth_of(self, label: str) -> int:
        chain, node = [], label
        while node != self.root and node not in self.depth:
            if node in chain:
                raise ValueError(f"cycle in the taxonomy through {node!r}")
            chain.append(node)
            if node not in self.parent:
                raise ValueError(f"label {node!r} is not connected to the root {self.root!r}")
            node = self.parent[node]
        base = 0 if node == self.root else self.depth[node]
        for offset, name in enumerate(reversed(chain), start=1):
            self.depth[name] = base + offset
        return self.depth[label]

    # -- construction ---------------------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | Path, root: str = ROOT) -> Taxonomy:
        """Reads ``parent<TAB>child<TAB>child...`` lines (the first parent is the root).

        Raises:
            FileNotFoundError: no such file.
            DataError: a line with a parent and no children, or not UTF-8 (file and line named); a file without
                labels, a label with two parents, the root as a child, a cycle (file named).
        """
        children: dict[str, list[str]] = {}
        for line_number, line in iter_text_lines(path):
            if not line.strip():
                continue
            parent, *kids = [part.strip() for part in line.split("\t")]
            kids = [k for k in kids if k]
            if not kids:
                raise DataError(f"parent {parent!r} has no children", path=path, line=line_number)
            children.setdefault(parent, []).extend(k for k in kids if k not in children.get(parent, []))
        if not children:
            raise DataError("no labels: expected lines of parent<TAB>child<TAB>child...", path=path)
        try:
            return cls(children, root=root)
        except ValueError as error:
            raise DataError(str(error), path=path) from None

    @classmethod
    def from_paths(cls, paths: Iterable[Sequence[str]], root: str = ROOT) -> Taxonomy:
        """The smallest tree that contains every label path (each path starts at the first level)."""
        children: dict[str, list[str]] = {}
        for path in paths:
            parent = root
            for label in path:
                siblings = children.setdefault(parent, [])
                if label not in siblings:
                    siblings.append(label)
                parent = label
        return cls(children, root=root)

    # -- queries --------------------------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        """Every label, level by level, in file order."""
        return sorted(self.parent, key=lambda label: (self.depth[label], self._order(label)))

    def _order(self, label: str) -> int:
        return self.children[self.parent[label]].index(label)

    def __contains__(self, label: str) -> bool:
        return label in self.parent

    def __len__(self) -> int:
        return len(self.parent)

    def ancestors(self, label: str) -> list[str]:
        """From the first level down to the label's parent."""
        self._check(label)
        chain = []
        node = self.parent[label]
        while node != self.root:
            chain.append(node)
            node = self.parent[node]
        return chain[::-1]

    def path(self, label: str) -> list[str]:
        """The label path from the first level to ``label``."""
        return [*self.ancestors(label), label]

    def siblings(self, label: str) -> list[str]:
        self._check(label)
        return [other for other in self.children[self.parent[label]] if other != label]

    def children_of(self, label: str) -> list[str]:
        return list(self.children.get(label, []))

    def is_leaf(self, label: str) -> bool:
        return not self.children.get(label)

    def level(self, depth: int) -> list[str]:
        return [label for label in self.labels if self.depth[label] == depth]

    @property
    def max_depth(self) -> int:
        return max(self.depth.values(), default=0)

    def truncate(self, k: int) -> Taxonomy:
        """The taxonomy of the first ``k`` levels."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        kept = {
            parent: kids
            for parent, kids in self.children.items()
            if parent == self.root or self.depth.get(parent, 0) < k
        }
        return Taxonomy(kept, root=self.root)

    def validate_path(self, path: Sequence[str], document: str = "") -> None:
        """Raises ValueError unless ``path`` is a chain of parent -> child edges from the first level.

        The message names ``document`` (an id or ``file:line``) and the offending edge.
        """
        where = f"{document}: " if document else ""
        if not path:
            raise ValueError(f"{where}empty label path")
        parent = self.root
        for label in path:
            if label not in self.parent:
                raise ValueError(f"{where}unknown label {label!r} in path {list(path)}")
            if self.parent[label] != parent:
                raise ValueError(
                    f"{where}label path {list(path)} breaks at {label!r}: its parent is {self.parent[label]!r}, "
                    f"not {parent!r}"
                )
            parent = label

    def _check(self, label: str) -> None:
        if label not in self.parent:
            raise KeyError(f"unknown label {label!r}")
