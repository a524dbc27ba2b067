from __future__ import annotations

import pytest

from htcgen.paired import paired_differences, t_interval
from htcgen.report import paired_markdown


def _rows(scores):
    """Rows of one (depth 2, k 1, encoder) grid from ``{method: [score per seed 0, 1, ...]}``."""
    return [
        {"depth": 2, "k": 1, "classifier": "encoder", "method": method, "seed": seed, "micro_f1": score}
        for method, values in scores.items()
        for seed, score in enumerate(values)
    ]


def test_each_method_is_compared_with_none_and_eda_seed_by_seed():
    rows = _rows({"none": [0.50, 0.52, 0.54], "eda": [0.51, 0.52, 0.56], "full": [0.52, 0.53, 0.57]})
    paired = {(p["method"], p["baseline"]): p for p in paired_differences(rows)}
    assert set(paired) == {("eda", "none"), ("full", "none"), ("full", "eda")}  # never none minus eda
    full = paired[("full", "none")]
    assert full["per_seed"] == pytest.approx({0: 0.02, 1: 0.01, 2: 0.03})
    # mean 0.02, standard deviation 0.01, t(0.975, 2 df) = 4.3027: half-width 4.3027 * 0.01 / sqrt(3) = 0.02484
    assert full["mean"] == pytest.approx(0.02)
    assert (full["low"], full["high"]) == pytest.approx((0.02 - 0.024841, 0.02 + 0.024841), abs=1e-5)
    assert paired[("full", "eda")]["per_seed"] == pytest.approx({0: 0.01, 1: 0.01, 2: 0.01})
    table = paired_markdown(paired_differences(rows))
    assert (
        "| 2 | 1 | encoder | generated: semantic + phrase (full) | no augmentation "
        "| +2.0, +1.0, +3.0 | +2.0 | [-0.5, +4.5] |" in table
    )


def test_only_seeds_both_methods_ran_are_paired_and_one_seed_has_no_interval():
    rows = _rows({"none": [0.50, 0.52], "full": [0.55]})
    [full] = paired_differences(rows)
    assert full["per_seed"] == pytest.approx({0: 0.05}) and full["low"] is None and full["high"] is None
    assert "| +5.0 | – |" in paired_markdown([full])
    assert t_interval([0.1]) is None
