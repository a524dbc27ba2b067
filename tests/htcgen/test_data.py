from __future__ import annotations

from collections import Counter

import pytest

from htcgen.data import sample_per_leaf, split_documents, truncate_labels

DOCS = [{"id": f"d{i}", "text": f"text {i}", "labels": ["A" if i % 3 else "B", f"leaf{i % 4}"]} for i in range(60)]


def test_split_is_seeded_stratified_and_disjoint():
    splits = split_documents(DOCS, dev=0.1, test=0.2, seed=1)
    ids = [d["id"] for docs in splits.values() for d in docs]
    assert sorted(ids) == sorted(d["id"] for d in DOCS)  # each document in exactly one split
    assert split_documents(DOCS, dev=0.1, test=0.2, seed=1) == splits
    assert split_documents(DOCS, dev=0.1, test=0.2, seed=2) != splits
    test_tops = Counter(d["labels"][0] for d in splits["test"])
    assert test_tops == {"A": 8, "B": 4}  # 20% of 40 A's and of 20 B's
    with pytest.raises(ValueError, match="sum below 1"):
        split_documents(DOCS, dev=0.5, test=0.5)


def test_sample_per_leaf():
    sample = sample_per_leaf(DOCS, k=2, seed=0)
    per_leaf = Counter(tuple(d["labels"]) for d in sample)
    assert set(per_leaf.values()) == {2} and len(per_leaf) == len({tuple(d["labels"]) for d in DOCS})
    assert sample_per_leaf(DOCS, k=2, seed=0) == sample
    with pytest.raises(ValueError, match="k must be >= 1"):
        sample_per_leaf(DOCS, k=0)


def test_truncate_labels():
    assert truncate_labels(DOCS[:2], 1) == [{**DOCS[0], "labels": ["B"]}, {**DOCS[1], "labels": ["A"]}]
