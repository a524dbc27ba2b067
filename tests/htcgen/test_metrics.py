from __future__ import annotations

import pytest

from htcgen.metrics import hierarchical_f1
from htcgen.taxonomy import Taxonomy

TAXONOMY = Taxonomy({"Root": ["A", "B"], "A": ["A1", "A2"], "B": ["B1"]})


def test_hierarchical_f1_against_hand_computed_values():
    gold = [["A", "A1"], ["A", "A2"], ["B", "B1"]]
    predicted = [["A", "A1"], ["A", "A1"], ["A"]]
    result = hierarchical_f1(gold, predicted, TAXONOMY)
    # per node (tp, fp, fn): A (2,1,0) A1 (1,1,0) A2 (0,0,1) B (0,0,1) B1 (0,0,1)
    # micro: tp 3, fp 2, fn 3 -> p 3/5, r 3/6 -> f1 = 2*0.6*0.5/1.1
    assert result["micro_f1"] == pytest.approx(2 * 0.6 * 0.5 / 1.1)
    f1_a, f1_a1 = 2 * 2 / (2 * 2 + 1), 2 * 1 / (2 * 1 + 1)
    assert result["macro_f1"] == pytest.approx((f1_a + f1_a1 + 0 + 0 + 0) / 5)
    # level 1: A (2,1,0), B (0,0,1): micro tp 2 fp 1 fn 1 -> 2/3; macro (0.8 + 0) / 2
    assert result["levels"][1] == pytest.approx({"micro_f1": 2 / 3, "macro_f1": 0.4})
    # level 2: A1 (1,1,0), A2 (0,0,1), B1 (0,0,1): micro tp 1 fp 1 fn 2 -> p 0.5 r 1/3 -> 0.4
    assert result["levels"][2] == pytest.approx({"micro_f1": 0.4, "macro_f1": f1_a1 / 3})


def test_perfect_predictions_score_one():
    gold = [["A", "A1"], ["B", "B1"]]
    result = hierarchical_f1(gold, gold, TAXONOMY)
    assert result["micro_f1"] == result["macro_f1"] == 1.0
    assert all(level == {"micro_f1": 1.0, "macro_f1": 1.0} for level in result["levels"].values())


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="2 gold paths but 1"):
        hierarchical_f1([["A"], ["B"]], [["A"]], TAXONOMY)
    with pytest.raises(ValueError, match="'Z' is not in the taxonomy"):
        hierarchical_f1([["A"]], [["Z"]], TAXONOMY)
