from __future__ import annotations

import pytest
from sklearn.metrics import f1_score
from sklearn.preprocessing import MultiLabelBinarizer

from lmcommon.metrics import (
    exact_match,
    last_number,
    multilabel_f1,
    normalize_answer,
    numeric_match,
    precision_recall_f1,
)


def test_precision_recall_f1_hand_computed():
    # p = 3/4, r = 3/5, f1 = 2 * 0.45 / 1.35 = 2/3
    precision, recall, f1 = precision_recall_f1(3, 1, 2)
    assert precision == pytest.approx(0.75)
    assert recall == pytest.approx(0.6)
    assert f1 == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((0, 0, 0), (0.0, 0.0, 0.0)),  # nothing predicted, nothing to find
        ((0, 4, 0), (0.0, 0.0, 0.0)),  # all predictions wrong, recall denominator 0
        ((0, 0, 3), (0.0, 0.0, 0.0)),  # nothing predicted, precision denominator 0
        ((0, 2, 5), (0.0, 0.0, 0.0)),  # all wrong
        ((5, 0, 0), (1.0, 1.0, 1.0)),
    ],
)
def test_precision_recall_f1_zero_denominators(counts, expected):
    assert precision_recall_f1(*counts) == pytest.approx(expected)


def test_precision_recall_f1_rejects_negative_counts():
    with pytest.raises(ValueError, match="fp must be >= 0"):
        precision_recall_f1(1, -1, 0)


def test_multilabel_f1_hand_computed():
    y_true = [{"a", "b"}, {"b"}, {"c"}]
    y_pred = [{"a"}, {"b", "c"}, set()]
    # label a: tp 1 -> F1 1; label b: tp 1, fn 1 -> F1 2/3; label c: fp 1, fn 1 -> F1 0
    # micro: tp 2, fp 1, fn 2 -> p 2/3, r 1/2 -> F1 4/7
    scores = multilabel_f1(y_true, y_pred)
    assert scores["micro_f1"] == pytest.approx(4 / 7)
    assert scores["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_multilabel_f1_agrees_with_scikit_learn():
    y_true = [["x", "y"], ["y", "z"], ["z"], [], ["w", "x"]]
    y_pred = [["x"], ["y", "z", "w"], [], ["x"], ["w", "x"]]
    binarizer = MultiLabelBinarizer().fit(y_true + y_pred)
    true_matrix, pred_matrix = binarizer.transform(y_true), binarizer.transform(y_pred)
    scores = multilabel_f1(y_true, y_pred)
    assert scores["micro_f1"] == pytest.approx(f1_score(true_matrix, pred_matrix, average="micro", zero_division=0))
    assert scores["macro_f1"] == pytest.approx(f1_score(true_matrix, pred_matrix, average="macro", zero_division=0))


def test_multilabel_f1_empty_and_all_wrong():
    assert multilabel_f1([], []) == {"micro_f1": 0.0, "macro_f1": 0.0}
    assert multilabel_f1([{"a"}], [{"b"}]) == {"micro_f1": 0.0, "macro_f1": 0.0}
    assert multilabel_f1([{"a"}, {"b"}], [{"a"}, {"b"}]) == {"micro_f1": 1.0, "macro_f1": 1.0}


def test_multilabel_f1_explicit_label_universe_counts_unseen_labels():
    # "z" is in the universe but never gold nor predicted: it scores 0 and halves the macro average
    scores = multilabel_f1([{"a"}], [{"a"}], labels=["a", "z"])
    assert scores == {"micro_f1": 1.0, "macro_f1": 0.5}


def test_multilabel_f1_length_mismatch():
    with pytest.raises(ValueError, match="2 examples but y_pred has 1"):
        multilabel_f1([{"a"}, {"b"}], [{"a"}])


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("Yes", "yes", True),
        ("  yes. ", "Yes", True),
        ("The answer is yes", "yes", False),
        ("maybe", "no", False),
        ("", "", True),
    ],
)
def test_exact_match(prediction, reference, expected):
    assert exact_match(prediction, reference) is expected


def test_normalize_answer():
    assert normalize_answer("  Hello,\n  World!  ") == "hello, world"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is 1,234.", 1234.0),
        ("18.0", 18.0),
        ("from 3-5 people", 5.0),
        ("it fell to -7 degrees", -7.0),
        ("1, 2, 3", 3.0),
        ("$1,000,000.50 in total", 1000000.5),
        ("no digits here", None),
        ("", None),
    ],
)
def test_last_number(text, expected):
    assert last_number(text) == expected


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("So she makes 18 dollars.", "Janet sells ... #### 18", True),
        ("The total is 1,234", "1234", True),
        ("18.0", 18, True),
        ("I think it is 17, no wait, 18", "18", True),
        ("18 apples, so 19 left", "18", False),  # the last number counts
        ("I don't know", "18", False),
        ("18", "no number", False),
        ("0.5", 0.5, True),
    ],
)
def test_numeric_match(prediction, reference, expected):
    assert numeric_match(prediction, reference) is expected


def test_bootstrap_interval_of_a_mean():
    from lmcommon.metrics import bootstrap_interval

    values = [0, 1] * 50
    result = bootstrap_interval(len(values), lambda rows: sum(values[i] for i in rows) / len(rows))
    assert result["estimate"] == 0.5
    assert 0.38 < result["low"] < 0.45 and 0.55 < result["high"] < 0.62  # normal approx.: 0.5 ± 1.96 x 0.05
    single = bootstrap_interval(1, lambda rows: 7.0)
    assert single == {"estimate": 7.0, "low": 7.0, "high": 7.0}
    with pytest.raises(ValueError, match="no items"):
        bootstrap_interval(0, lambda rows: 0.0)
    with pytest.raises(ValueError, match="level"):
        bootstrap_interval(3, lambda rows: 0.0, level=1.0)
