"""Selection by the judge's probability of the requested path, kept per path."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htcgen.filters import apply_filters
from htcgen.selection import path_probability, select_by_judge
from htcgen.tfidf import TfidfHierarchyClassifier

from .conftest import TAXONOMY, TOPICS
from .conftest import topic_documents as _documents


class FixedJudge:
    """A judge whose probability of every label is given by the text: "p=0.3" gives 0.3 to each label."""

    def path_probabilities(self, texts, paths):
        return [[float(text.split("=")[1])] * len(path) for text, path in zip(texts, paths, strict=True)]


@pytest.fixture(scope="module")
def judge():
    return TfidfHierarchyClassifier(TAXONOMY).fit(_documents())


def test_path_probability_is_the_product_over_levels(judge):
    texts = ["a striker scored a goal from the penalty spot"]
    football, physics = ["Sports", "Football"], ["Science", "Physics"]
    levels = judge.path_probabilities(texts, [football])[0]
    assert path_probability(judge, texts, [football]) == [pytest.approx(levels[0] * levels[1])]
    assert path_probability(judge, texts, [football])[0] > path_probability(judge, texts, [physics])[0]
    assert path_probability(judge, texts, [["Sports", "Cricket"]]) == [0.0]  # a label the judge never saw
    with pytest.raises(ValueError, match="a path per text"):
        path_probability(judge, texts, [])


def test_the_best_share_of_each_path_is_kept_in_the_original_order():
    football, tennis = ["Sports", "Football"], ["Sports", "Tennis"]
    samples = [
        {"text": "p=0.2", "labels": football},
        {"text": "p=0.9", "labels": football},
        {"text": "p=0.1", "labels": tennis},
        {"text": "p=0.5", "labels": football},
        {"text": "p=0.05", "labels": tennis},
        {"text": "p=0.7", "labels": football},
    ]
    kept = select_by_judge(samples, FixedJudge(), keep_share=0.5)
    # football: 4 samples, the best 2 (0.9, 0.7); tennis: 2 samples, the best 1 (0.1), even though 0.2 and 0.5 of
    # football rank above it overall: each path keeps its share
    assert [s["text"] for s in kept] == ["p=0.9", "p=0.1", "p=0.7"]
    assert [s["judge_probability"] for s in kept] == [0.9**2, 0.1**2, 0.7**2]
    assert len(select_by_judge(samples, FixedJudge(), keep_share=1.0)) == len(samples)
    assert len(select_by_judge(samples, FixedJudge(), keep_share=0.01)) == 2  # at least one per path
    assert select_by_judge([], FixedJudge(), keep_share=0.5) == []
    for share in (0.0, 1.5):
        with pytest.raises(ValueError, match="keep_share"):
            select_by_judge(samples, FixedJudge(), keep_share=share)


@settings(max_examples=50, deadline=None)
@given(
    scores=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30),
    paths=st.data(),
    share=st.floats(0.01, 1.0),
)
def test_selection_keeps_ceil_share_per_path_and_never_a_worse_over_a_better(scores, paths, share):
    chosen = paths.draw(st.lists(st.sampled_from(sorted(TOPICS)), min_size=len(scores), max_size=len(scores)))
    samples = [{"text": f"p={score!r}", "labels": list(path)} for score, path in zip(scores, chosen, strict=True)]
    kept = select_by_judge(samples, FixedJudge(), keep_share=share)
    for path in {tuple(p) for p in chosen}:
        members = [s for s in samples if tuple(s["labels"]) == path]
        taken = [s for s in kept if tuple(s["labels"]) == path]
        assert len(taken) == math.ceil(share * len(members))
        lowest_kept = min(s["judge_probability"] for s in taken)
        dropped = [s for s in members if s["text"] not in {t["text"] for t in taken}]
        assert all(float(s["text"][2:]) ** 2 <= lowest_kept for s in dropped)


def test_apply_filters_selects_by_share_after_the_other_filters(judge):
    football = ["Sports", "Football"]
    samples = [
        {"text": "the striker scored a goal in the league final", "labels": football},
        {"text": "the enzyme folds the protein of the gene in the cell", "labels": football},  # off-label
        {"text": "short", "labels": football},  # too short
    ]
    kept, report = apply_filters(samples, classifier=judge, min_words=3, selection="share", keep_share=0.5)
    assert [s["text"] for s in kept] == [samples[0]["text"]]
    assert report.dropped == {"length": 1, "near_duplicate": 0, "judge_selection": 1} and report.kept == 1
    with pytest.raises(ValueError, match="unknown selection"):
        apply_filters(samples, classifier=judge, selection="best")
