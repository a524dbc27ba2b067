from __future__ import annotations

import pytest

from htcgen.eda import eda_augment

DOCUMENTS = [
    {"id": "f1", "text": "the striker scored a late goal from the penalty spot", "labels": ["Sports", "Football"]},
    {"id": "f2", "text": "the goalkeeper saved a header in the league match", "labels": ["Sports", "Football"]},
    {"id": "p1", "text": "a photon carries energy and momentum but no mass", "labels": ["Science", "Physics"]},
]


def test_eda_keeps_labels_and_changes_every_text():
    augmented = eda_augment(DOCUMENTS, copies=3, alpha=0.2, seed=1)
    assert len(augmented) == 9
    by_id = {d["id"]: d for d in DOCUMENTS}
    for copy in augmented:
        source = by_id[copy["id"].split("-eda")[0]]
        assert copy["labels"] == source["labels"] and copy["source"] == "eda"
        assert copy["text"] != source["text"]


def test_eda_inserts_only_words_of_the_same_label_path():
    football_words = set(" ".join(d["text"] for d in DOCUMENTS[:2]).split())
    for copy in eda_augment(DOCUMENTS[:2] + DOCUMENTS[2:], copies=20, alpha=0.3, seed=2):
        if copy["labels"] == ["Sports", "Football"]:
            assert set(copy["text"].split()) <= football_words


def test_eda_is_seeded_and_validates():
    assert eda_augment(DOCUMENTS, seed=4) == eda_augment(DOCUMENTS, seed=4)
    assert eda_augment(DOCUMENTS, seed=4) != eda_augment(DOCUMENTS, seed=5)
    assert eda_augment(DOCUMENTS, copies=0) == []
    with pytest.raises(ValueError, match="alpha"):
        eda_augment(DOCUMENTS, alpha=0)
    with pytest.raises(ValueError, match="copies"):
        eda_augment(DOCUMENTS, copies=-1)
