"""Documents with label paths: reading (HWV's format or ours), a seeded train/dev/test split, and the
low-resource sampler (k documents per leaf)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from htcgen.taxonomy import Taxonomy
from lmcommon.data import iter_jsonl
from lmcommon.errors import DataError
from lmcommon.seed import keyed_uniform


def read_documents(path: str | Path, taxonomy: Taxonomy | None = None) -> list[dict]:
    """Reads JSONL documents as ``{"id", "text", "labels"}``: ``labels`` is one label path (a list of labels from
    the first level down). Accepts our format (``text``, ``labels``) and HWV's (``token``: [text], ``label``).

    Raises:
        DataError: a row without text or labels, or (given a taxonomy) with a path that is not a chain of
            parent -> child edges; the message names file and line.
    """
    documents = []
    for line, row in enumerate(iter_jsonl(path), start=1):
        text = row.get("text")
        if text is None and isinstance(row.get("token"), list):
            text = " ".join(row["token"])
        labels = row.get("labels", row.get("label"))
        if not isinstance(text, str) or not text.strip():
            raise DataError("missing or empty text", path=path, line=line, field="text")
        if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
            raise DataError("labels must be a non-empty list of label names", path=path, line=line, field="labels")
        if taxonomy is not None:
            try:
                taxonomy.validate_path(labels)
            except ValueError as error:
                raise DataError(str(error), path=path, line=line, field="labels") from None
        documents.append({"id": row.get("id", f"{Path(path).stem}-{line}"), "text": text.strip(), "labels": labels})
    return documents


def split_documents(
    documents: Sequence[dict], dev: float = 0.1, test: float = 0.2, seed: int = 13
) -> dict[str, list[dict]]:
    """A split stratified by first-level label: each document goes to a split by a hash of (seed, id), so a
    document keeps its split when others are added."""
    if not (0 <= dev < 1 and 0 <= test < 1 and dev + test < 1):
        raise ValueError(f"dev and test shares must be in [0, 1) and sum below 1, got {dev} and {test}")
    by_top: dict[str, list[dict]] = defaultdict(list)
    for document in documents:
        by_top[document["labels"][0]].append(document)
    splits: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    for group in by_top.values():
        ordered = sorted(group, key=lambda d: keyed_uniform(seed, d["id"]))
        n_test, n_dev = round(len(ordered) * test), round(len(ordered) * dev)
        splits["test"] += ordered[:n_test]
        splits["dev"] += ordered[n_test : n_test + n_dev]
        splits["train"] += ordered[n_test + n_dev :]
    return {name: sorted(docs, key=lambda d: d["id"]) for name, docs in splits.items()}


def truncate_labels(documents: Sequence[dict], depth: int) -> list[dict]:
    """Documents with label paths cut to their first ``depth`` levels."""
    return [{**d, "labels": d["labels"][:depth]} for d in documents]


def group_by_path(documents: Sequence[dict]) -> dict[tuple[str, ...], list[dict]]:
    """The documents (or samples) of every distinct label path, in the order they come."""
    groups: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    for document in documents:
        groups[tuple(document["labels"])].append(document)
    return dict(groups)


def sample_per_leaf(documents: Sequence[dict], k: int, seed: int = 0) -> list[dict]:
    """The low-resource setting: at most ``k`` documents for every distinct label path (leaf), seeded."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    by_leaf = group_by_path(documents)
    rng = random.Random(seed)
    sample = []
    for leaf in sorted(by_leaf):
        group = sorted(by_leaf[leaf], key=lambda d: d["id"])
        sample += rng.sample(group, min(k, len(group)))
    return sample
