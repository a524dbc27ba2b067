from __future__ import annotations

import pytest

from htcgen.quality import distinct_n, phrase_coverage, quality_report, self_similarity


def test_distinct_n_hand_computed():
    texts = ["a b a b", "a b c"]
    # unigrams: a b a b a b c -> 3 distinct of 7; bigrams: ab ba ab | ab bc -> 3 distinct of 5
    assert distinct_n(texts, 1) == pytest.approx(3 / 7)
    assert distinct_n(texts, 2) == pytest.approx(3 / 5)
    assert distinct_n([], 2) == 0.0
    with pytest.raises(ValueError, match="n must be >= 1"):
        distinct_n(texts, 0)


def test_self_similarity():
    assert self_similarity(["same words here", "same words here"]) == pytest.approx(1.0)
    assert self_similarity(["alpha beta", "gamma delta"]) == pytest.approx(0.0)
    assert self_similarity(["only one"]) == 0.0


def test_phrase_coverage_and_report():
    samples = [
        {"text": "The striker scored from the penalty area.", "phrases": ["striker", "penalty area"], "labels": ["S"]},
        {"text": "A quiet match.", "phrases": ["goalkeeper"], "labels": ["S"]},
    ]
    assert phrase_coverage(samples) == pytest.approx(2 / 3)
    report = quality_report(samples)
    assert report["samples"] == 2 and "label_consistency" not in report
    assert 0 < report["distinct_2"] <= 1


def test_within_path_diversity_hand_computed():
    from htcgen.quality import within_path_diversity

    samples = [
        {"text": "aa bb aa bb", "labels": ["X"]},
        {"text": "aa bb cc", "labels": ["X"]},  # path X: bigrams ab ba ab | ab bc -> 3 of 5
        {"text": "dd ee", "labels": ["Y"]},
        {"text": "dd ee", "labels": ["Y"]},  # path Y: de | de -> 1 of 2, and the two texts are identical
        {"text": "alone here", "labels": ["Z"]},  # one sample: no pair, left out
    ]
    diversity = within_path_diversity(samples)
    assert diversity["distinct_2_within_path"] == pytest.approx((3 / 5 + 1 / 2) / 2)
    # Y's pair has cosine 1; X's pair shares "aa", "bb" but not "cc", so the mean lies strictly between
    assert 0.5 < diversity["self_similarity_within_path"] < 1.0
    assert within_path_diversity(samples[4:]) == {"distinct_2_within_path": None, "self_similarity_within_path": None}
