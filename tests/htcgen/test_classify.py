from __future__ import annotations

import numpy
import pytest
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


def test_decoding_takes_the_most_probable_whole_path_and_the_threshold_cuts_it():
    labels = ["A", "B", "A1", "A2", "A1x", "A1y"]
    classifier = FixedProbabilities(labels)
    row = numpy.array([[0.3, 0.2, 0.9, 0.1, 0.4, 0.45]])
    # B has no known child, so the path [B] needs "ended" at level 2, whose probability is 1 - 0.9 - 0.1 = 0
    assert classifier.decode(row) == [["A", "A1", "A1y"]]  # log .3 + log .9 + log .45 beats log(1 - .85) at level 3
    assert classifier.decode(row, threshold=0.5) == [["A", "A1"]]  # A1y is under 0.5; level 1 is always kept
    assert classifier.decode(row, threshold=0.95) == [["A"]]


def test_a_confident_child_overrules_a_parent_that_lost_narrowly():
    classifier = FixedProbabilities(["A", "B", "A1", "B1"])
    row = numpy.array([[0.5, 0.45, 0.1, 0.8]])  # top-down would take A, then A1 at 0.1
    assert classifier.decode(row) == [["B", "B1"]]


def test_decoding_checks_the_shape_and_handles_no_rows():
    classifier = FixedProbabilities(["A", "B"])
    assert classifier.decode(numpy.zeros((0, 2))) == []
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        classifier.decode(numpy.zeros((1, 3)))


def test_agreement_needs_the_path_decoded_and_above_the_threshold():
    labels = ["A", "B", "A1", "A2"]
    classifier = FixedProbabilities(labels)
    classifier.predict_proba = lambda texts: numpy.array([[0.6, 0.4, 0.7, 0.3]] * len(texts))
    texts = ["t"] * 3
    paths = [["A", "A1"], ["A", "A2"], ["B"]]
    assert classifier.agrees(texts, paths, threshold=0.0) == [True, False, False]
    assert classifier.agrees(texts, paths, threshold=0.65) == [False, False, False]  # A has only 0.6
    assert classifier.agrees(["t"], [["A"]], threshold=0.6) == [True]  # a prefix of the decoded path agrees
