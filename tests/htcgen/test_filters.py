from __future__ import annotations

import pytest

from htcgen.filters import apply_filters, consistency_filter, duplicate_filter, length_filter
from htcgen.tfidf import TfidfHierarchyClassifier

from .conftest import TAXONOMY
from .conftest import topic_documents as _documents


@pytest.fixture(scope="module")
def classifier():
    return TfidfHierarchyClassifier(TAXONOMY).fit(_documents())


def test_classifier_decodes_consistent_paths(classifier):
    predictions = classifier.predict(
        ["a striker scored a goal from the penalty spot", "quantum particle energy of a photon and an atom with mass"]
    )
    assert predictions == [["Sports", "Football"], ["Science", "Physics"]]
    for path in classifier.predict(["serve", "cell gene", "nothing relevant here"], threshold=0.99):
        for depth, label in enumerate(path, start=1):
            assert TAXONOMY.depth[label] == depth and (depth == 1 or TAXONOMY.parent[label] == path[depth - 2])


def test_planted_off_label_texts_are_dropped(classifier):
    samples = [
        {"text": "the striker beat the goalkeeper and scored a goal in the league", "labels": ["Sports", "Football"]},
        {
            "text": "the enzyme in the cell folds the protein of the gene",
            "labels": ["Sports", "Football"],
        },  # off-label
        {"text": "an ace on serve won the tiebreak on the clay court", "labels": ["Sports", "Tennis"]},
        {"text": "a photon carries energy and the atom gains mass", "labels": ["Science", "Biology"]},  # off-label
    ]
    kept = consistency_filter(samples, classifier, threshold=0.5)
    assert [s["labels"] for s in kept] == [["Sports", "Football"], ["Sports", "Tennis"]]


def test_planted_duplicates_are_dropped():
    real = ["The striker scored a late goal for the club in the league match."]
    samples = [
        {"text": "The striker scored a late goal for the club in the league match.", "labels": ["x"]},  # copies real
        {"text": "An ace on serve won the tiebreak on the clay court.", "labels": ["x"]},
        {"text": "An ace on serve won the tiebreak on the clay court!", "labels": ["x"]},  # repeats a sample
        {"text": "Quantum particles carry energy between atoms.", "labels": ["x"]},
    ]
    kept = duplicate_filter(samples, references=real, threshold=0.8)
    assert [s["text"] for s in kept] == [samples[1]["text"], samples[3]["text"]]


def test_length_bounds_and_report(classifier):
    short = {"text": "too short", "labels": ["Sports", "Football"]}
    good = {
        "text": "striker goal penalty goalkeeper club league pitch header corner kick",
        "labels": ["Sports", "Football"],
    }
    kept, report = apply_filters([short, good, dict(good)], classifier=classifier, min_words=5, max_words=50)
    assert kept == [good]
    assert report.received == 3 and report.kept == 1
    assert report.dropped == {"length": 1, "near_duplicate": 1, "label_consistency": 0}
    with pytest.raises(ValueError, match="min_words <= max_words"):
        length_filter([], 10, 5)
