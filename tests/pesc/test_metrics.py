from __future__ import annotations

import pytest

from pesc.metrics import changed_positions, metrics_by_kind, sentence_metrics, sighan_metrics


def test_changed_positions_equal_length_and_length_changing():
    assert changed_positions("我跟我朋唷", "我跟我朋友") == {("x", 4)}
    assert changed_positions("我qu北京", "我去北京") == {("x", 1), ("x", 2)}
    assert changed_positions("ab", "axb") == {("ins", 1)}
    assert changed_positions("abc", "abc") == frozenset()


def test_sentence_metrics_hand_computed_with_length_changes():
    sources = ["我qu北京", "很gaoxing", "朋唷来了", "没有错", "wm好"]
    targets = ["我去北京", "很高兴", "朋友来了", "没有错", "我们好"]
    predictions = [
        "我去北京",  # detected and corrected
        "很搞性",  # detected (same span: 'gaoxing'), wrong characters
        "朋唷来了",  # missed
        "没有措",  # false positive on a correct sentence
        "我们好",  # detected and corrected
    ]
    m = sentence_metrics(sources, targets, predictions)
    # 4 sentences need a change, 4 were changed (incl. the false positive); 3 detected, 2 corrected
    assert (m["needing_change"], m["changed"]) == (4, 4)
    assert m["detection"] == pytest.approx({"precision": 3 / 4, "recall": 3 / 4, "f1": 3 / 4})
    assert m["correction"] == pytest.approx({"precision": 2 / 4, "recall": 2 / 4, "f1": 2 / 4})
    assert m["false_positive_rate"] == 1.0 and m["unchanged_when_correct"] == 0.0


def test_detection_needs_the_exact_span():
    # the prediction changes the right word but also a neighbour: not detected, not corrected
    m = sentence_metrics(["我qu北京"], ["我去北京"], ["他去北京"])
    assert m["detection"]["f1"] == 0.0 and m["correction"]["f1"] == 0.0


def test_empty_and_all_correct():
    empty = sentence_metrics([], [], [])
    assert empty["detection"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert empty["unchanged_when_correct"] == 1.0
    clean = sentence_metrics(["好"], ["好"], ["好"])
    assert clean["false_positive_rate"] == 0.0 and clean["changed"] == 0


def test_sighan_metrics_equal_length_agree_and_refuse_length_changes():
    sources, targets, predictions = ["朋唷来了", "没有措"], ["朋友来了", "没有错"], ["朋友来了", "没有借"]
    sighan = sighan_metrics(sources, targets, predictions)
    assert sighan["detection"]["f1"] == 1.0
    assert sighan["correction"]["precision"] == 0.5
    assert sighan == sentence_metrics(sources, targets, predictions)
    with pytest.raises(ValueError, match="row 1: SIGHAN metrics need equal lengths"):
        sighan_metrics(["我qu北京"], ["我去北京"], ["我去北京"])


def test_length_mismatch_of_inputs():
    with pytest.raises(ValueError, match="2 sources, 1 targets"):
        sentence_metrics(["a", "b"], ["a"], ["a", "b"])


def test_metrics_by_kind():
    rows = [
        {"source": "我qu北京", "target": "我去北京", "kind": "pinyin"},
        {"source": "朋唷", "target": "朋友", "kind": "spelling"},
        {"source": "好", "target": "好", "kind": "none"},
    ]
    report = metrics_by_kind(rows, ["我去北京", "朋唷", "好"])
    assert report["pinyin"]["correction"]["f1"] == 1.0
    assert report["spelling"]["correction"]["recall"] == 0.0
    assert report["none"]["unchanged_when_correct"] == 1.0
    assert "both" not in report
    assert report["all"]["correction"]["recall"] == 0.5


def test_bootstrap_interval_of_correction_f1():
    from pesc.metrics import bootstrap_correction_f1

    sources = ["我qu北京", "朋唷来了", "没有错", "环竟好"]
    targets = ["我去北京", "朋友来了", "没有错", "环境好"]
    predictions = ["我去北京", "朋唷来了", "没有措", "环境好"]
    # corrected 2 of the 3 that need a change; changed 3 (one of them was correct): P = R = 2/3
    interval = bootstrap_correction_f1(sources, targets, predictions, resamples=200)
    assert interval["estimate"] == pytest.approx(2 / 3)
    assert 0.0 <= interval["low"] <= interval["estimate"] <= interval["high"] <= 1.0
    perfect = bootstrap_correction_f1(sources, targets, targets, resamples=200)
    assert perfect == {"estimate": 1.0, "low": 1.0, "high": 1.0}
    same = bootstrap_correction_f1(sources, targets, predictions, baseline=predictions, resamples=200)
    assert same == {"estimate": 0.0, "low": 0.0, "high": 0.0}
    gain = bootstrap_correction_f1(sources, targets, targets, baseline=predictions, resamples=200)
    assert gain["estimate"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="no sentences"):
        bootstrap_correction_f1([], [], [])
