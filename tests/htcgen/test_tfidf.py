from __future__ import annotations

import numpy
import pytest

from htcgen.evaluate import evaluate_classifier, make_classifier
from htcgen.levels import NO_LABEL, LevelCoding
from htcgen.taxonomy import Taxonomy
from htcgen.tfidf import FlatLevelClassifier, TfidfHierarchyClassifier

from .conftest import TAXONOMY
from .conftest import topic_documents as _documents

DEEP = Taxonomy({"Root": ["A", "B"], "A": ["A1", "A2"], "A1": ["A1x"], "B": ["B1"]})
DEEP_DOCUMENTS = [
    {"text": "alpha one deep", "labels": ["A", "A1", "A1x"]},
    {"text": "alpha two", "labels": ["A", "A2"]},
    {"text": "beta one", "labels": ["B", "B1"]},
]


def test_level_coding_gives_every_document_one_class_per_level():
    coding = LevelCoding(DEEP_DOCUMENTS, DEEP)
    assert coding.classes == [["A", "B"], ["A1", "B1", "A2"], [NO_LABEL, "A1x"]]  # taxonomy order
    assert coding.labels == ["A", "B", "A1", "B1", "A2", "A1x"]
    assert coding.indices(DEEP_DOCUMENTS).tolist() == [[0, 0, 1], [0, 2, 0], [1, 1, 0]]
    assert LevelCoding.from_dict(coding.as_dict()).labels == coding.labels
    with pytest.raises(ValueError, match="'A2' was never seen at level 2"):
        LevelCoding(DEEP_DOCUMENTS[:1], DEEP).indices(DEEP_DOCUMENTS[1:2])


@pytest.mark.parametrize("name", ["flat-svm", "flat-lr"])
def test_flat_baselines_give_exactly_one_label_per_level(name):
    classifier = make_classifier(name, TAXONOMY).fit(_documents(per_path=3))
    texts = [d["text"] for d in _documents(per_path=12)] + ["nothing known here", "striker quantum"]
    predicted = classifier.predict(texts)
    assert all(len(path) == 2 and [TAXONOMY.depth[x] for x in path] == [1, 2] for path in predicted)


def test_flat_baseline_may_break_the_hierarchy_where_the_hierarchy_classifier_cannot():
    documents = _documents(per_path=2)
    flat, hierarchy = FlatLevelClassifier(TAXONOMY).fit(documents), TfidfHierarchyClassifier(TAXONOMY).fit(documents)
    assert flat.coding.classes == [["Sports", "Science"], ["Football", "Physics", "Tennis", "Biology"]]
    # Science narrowly first at level 1, Football clearly first at level 2
    scores = [numpy.array([[0.45, 0.55]]), numpy.array([[0.7, 0.1, 0.1, 0.1]])]
    for classifier in (flat, hierarchy):
        classifier.level_probabilities = lambda texts: scores
    assert flat.predict(["x"]) == [["Science", "Football"]]
    assert hierarchy.predict(["x"]) == [["Sports", "Football"]]  # log .45 + log .7 beats log .55 + log .1


def test_tfidf_hierarchy_classifier_learns_the_toy_set_and_varying_depths():
    metrics = evaluate_classifier("tfidf", _documents(per_path=3), _documents(per_path=12), TAXONOMY)
    assert metrics["micro_f1"] > 0.9
    classifier = TfidfHierarchyClassifier(DEEP).fit(DEEP_DOCUMENTS * 3)
    assert classifier.predict(["alpha one deep", "alpha two", "beta one"]) == [d["labels"] for d in DEEP_DOCUMENTS]
    probabilities = classifier.predict_proba(["alpha two"])
    assert probabilities.shape == (1, 6) and abs(probabilities[0, :2].sum() - 1) < 1e-9  # level 1 has no "ended"


def test_tfidf_settings_are_checked():
    with pytest.raises(ValueError, match="unknown model"):
        FlatLevelClassifier(TAXONOMY, model="tree")
    with pytest.raises(ValueError, match="C and sharpness"):
        TfidfHierarchyClassifier(TAXONOMY, C=0)
    with pytest.raises(ValueError, match="not trained"):
        TfidfHierarchyClassifier(TAXONOMY).predict_proba(["x"])
