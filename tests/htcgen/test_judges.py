"""Judges asked together: the top-1 filter needs every judge, probabilities are their geometric mean."""

from __future__ import annotations

import pytest

from htcgen.filters import apply_filters
from htcgen.judges import JointJudge
from htcgen.selection import select_by_judge

FOOTBALL, TENNIS = ["Sports", "Football"], ["Sports", "Tennis"]


class ListedJudge:
    """Agrees with the texts it lists and gives each label of a path ``probability[text]``."""

    def __init__(self, agreeing: set[str], probability: dict[str, float]):
        self.agreeing, self.probability = agreeing, probability

    def agrees(self, texts, paths, threshold=0.5):
        return [text in self.agreeing for text in texts]

    def path_probabilities(self, texts, paths):
        return [[self.probability[text]] * len(path) for text, path in zip(texts, paths, strict=True)]


def test_a_document_passes_only_when_every_judge_agrees():
    first = ListedJudge({"a", "b"}, {})
    second = ListedJudge({"b", "c"}, {})
    assert JointJudge([first, second]).agrees(["a", "b", "c", "d"], [FOOTBALL] * 4) == [False, True, False, False]
    assert JointJudge([first]).agrees(["a", "c"], [FOOTBALL] * 2) == [True, False]


def test_label_probabilities_are_the_judges_geometric_mean():
    first = ListedJudge(set(), {"a": 0.8, "b": 0.5})
    second = ListedJudge(set(), {"a": 0.2, "b": 0.0})
    levels = JointJudge([first, second]).path_probabilities(["a", "b"], [FOOTBALL, TENNIS])
    assert levels == [[pytest.approx(0.4), pytest.approx(0.4)], [0.0, 0.0]]  # sqrt(0.8 * 0.2); a zero rules out


def test_the_filters_keep_what_both_judges_rank_first_and_selection_ranks_by_the_mean():
    a, b, c = "the striker scored twice", "a keeper saved the penalty", "fans sang in the stadium"
    samples = [{"text": text, "labels": FOOTBALL} for text in (a, b, c)]
    joint = JointJudge([ListedJudge({a, b}, {a: 0.9, b: 0.4, c: 0.6}), ListedJudge({b, c}, {a: 0.1, b: 0.4, c: 0.6})])
    kept, report = apply_filters(samples, classifier=joint, min_words=1, consistency_threshold=0.0)
    assert [s["text"] for s in kept] == [b] and report.dropped["label_consistency"] == 2
    # geometric means 0.3, 0.4, 0.6: the best one of three is c, though the first judge alone would take a
    assert [s["text"] for s in select_by_judge(samples, joint, keep_share=0.3)] == [c]


def test_a_joint_judge_needs_a_judge():
    with pytest.raises(ValueError, match="at least one classifier"):
        JointJudge([])
