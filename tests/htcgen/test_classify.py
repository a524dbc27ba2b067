from __future__ import annotations

import numpy
from hypothesis import given, settings
from hypothesis import strategies as st

from htcgen.classify import HierarchyClassifier
from htcgen.taxonomy import Taxonomy

TAXONOMY = Taxonomy(
    {"Root": ["A", "B", "C"], "A": ["A1", "A2"], "A1": ["A1x", "A1y"], "B": ["B1"], "B1": ["B1x"], "C": []}
)


class FixedProbabilities(HierarchyClassifier):
    def __init__(self, labels):
        self.taxonomy, self.labels = TAXONOMY, labels


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_decoding_never_outputs_a_child_without_its_parent(data):
    # any subset of the nodes may have been seen in training, with any probabilities
    labels = data.draw(st.lists(st.sampled_from(TAXONOMY.labels), unique=True, min_size=1))
    probabilities = numpy.array(
        data.draw(st.lists(st.lists(st.floats(0, 1), min_size=len(labels), max_size=len(labels)), min_size=1))
    )
    threshold = data.draw(st.floats(0, 1))
    for path in FixedProbabilities(labels).decode(probabilities, threshold):
        parent = TAXONOMY.root
        for label in path:
            assert TAXONOMY.parent[label] == parent, path
            assert label in labels
            parent = label


def test_decoding_stops_below_the_threshold_and_follows_the_best_child():
    labels = ["A", "B", "A1", "A2", "A1x", "A1y"]
    classifier = FixedProbabilities(labels)
    row = numpy.array([[0.3, 0.2, 0.9, 0.1, 0.4, 0.45]])
    assert classifier.decode(row, threshold=0.5) == [["A", "A1"]]  # A is taken below threshold: level 1 always is
    assert classifier.decode(row, threshold=0.4) == [["A", "A1", "A1y"]]


def test_agreement_needs_the_path_ranked_first_and_above_the_threshold():
    labels = ["A", "B", "A1", "A2"]
    classifier = FixedProbabilities(labels)
    classifier.predict_proba = lambda texts: numpy.array([[0.4, 0.3, 0.2, 0.1]] * len(texts))
    texts = ["t"] * 3
    paths = [["A", "A1"], ["A", "A2"], ["B"]]
    assert classifier.agrees(texts, paths, threshold=0.0) == [True, False, False]
    assert classifier.agrees(texts, paths, threshold=0.3) == [False, False, False]  # A1 has only 0.2
    assert classifier.agrees(["t"], [["A"]], threshold=0.4) == [True]
