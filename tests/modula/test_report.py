from __future__ import annotations

import pytest

from modula.report import expert_losses_markdown, plug_in_summary, results_markdown


def _row(system, math, medical, finance, params, tokens, time):
    return {
        "system": system,
        "math": math,
        "medical": medical,
        "finance": finance,
        "general_ppl": 5.0,
        "trainable_parameters": params,
        "tokens_seen": tokens,
        "train_time_s": time,
    }


ROWS = [
    _row("base", 0.0, 0.2, 0.1, 0, 0, 0.0),
    _row("modula-res", 0.5, 0.6, 0.3, 1_000_000, 40_000, 100.0),
    _row("modula-res+finance", 0.5, 0.58, 0.7, 200_000, 10_000, 25.0),
    _row("molora-retrained+finance", 0.45, 0.6, 0.72, 2_000_000, 50_000, 125.0),
]


def test_plug_in_summary_ratios_and_old_domains():
    summary = plug_in_summary(ROWS, "finance", ("math", "medical"))
    assert summary["ratio"] == {"trainable_parameters": 0.1, "tokens_seen": 0.2, "train_time_s": 0.2}
    assert summary["saving"]["trainable_parameters"] == pytest.approx(0.9)
    assert summary["old_domains_before"] == {"math": 0.5, "medical": 0.6}
    assert summary["old_domains_after"] == {"math": 0.5, "medical": 0.58}
    assert {k: summary["new_domain_score"][k] for k in ("plug_in", "molora_retrain", "before")} == {
        "plug_in": 0.7,
        "molora_retrain": 0.72,
        "before": 0.3,
    }
    assert summary["new_domain_score"]["gain"] == pytest.approx(0.4)


def _answers(accuracy, low, high):
    return {"accuracy": accuracy, "accuracy_interval": [low, high], "majority_rate": 0.5, "top_reply_share": 0.5}


def test_plug_in_keeps_an_old_domain_when_its_score_after_lies_in_the_interval_before():
    rows = [dict(row) for row in ROWS]
    before, after = rows[1], rows[2]
    before["math_answers"], after["math_answers"] = _answers(0.5, 0.4, 0.6), _answers(0.5, 0.4, 0.6)
    before["medical_answers"], after["medical_answers"] = _answers(0.6, 0.59, 0.61), _answers(0.58, 0.5, 0.66)
    before["finance_answers"], after["finance_answers"] = _answers(0.3, 0.2, 0.4), _answers(0.7, 0.6, 0.8)
    before["routing"] = {"own_expert": {"math": {"overall": 0.6}, "medical": {"overall": 0.7}}}
    after["routing"] = {
        "own_expert": {"math": {"overall": 0.5}, "medical": {"overall": 0.6}, "finance": {"overall": 0.4}}
    }
    summary = plug_in_summary(rows, "finance", ("math", "medical"))
    assert summary["old_domains"]["math"]["kept"] is True  # 0.5 in [0.4, 0.6]
    assert summary["old_domains"]["medical"]["kept"] is False  # 0.58 below [0.59, 0.61]
    assert summary["new_domain_score"]["before_interval"] == [0.2, 0.4]
    assert summary["routing_before"] == {"math": 0.6, "medical": 0.7}
    assert summary["routing_after"]["finance"] == 0.4


def test_markdown_table_has_every_system_and_the_average():
    results = {
        "rows": ROWS,
        "plug_in": plug_in_summary(ROWS, "finance", ("math", "medical")),
        "profile": {"name": "quick"},
        "model": "default",
        "device": "cpu",
        "wall_time_s": 600.0,
    }
    text = results_markdown(results)
    lines = [line for line in text.splitlines() if line.startswith("| modula-res |")]
    # avg of 50, 60, 30 = 46.7; 1.00M params; 40,000 tokens; 100 s
    assert lines == ["| modula-res | 50.0 | 60.0 | 30.0 | 46.7 | 5.00 | 1.00M | 40,000 | 100 |"]
    assert "| plug-in / re-train | 0.100 | 0.200 | 0.200 |" in text
    assert "math 50.0 -> 50.0; medical 60.0 -> 58.0" in text
    assert "New domain: 30.0 before -> 70.0 after the plug-in (+40.0 points; re-trained MoLoRA 72.0)." in text
    assert "10.0 min" in text


def test_answers_table_puts_accuracy_beside_the_constant_answer():
    from modula.report import answers_markdown

    row = {
        "system": "lora",
        "medical_answers": {
            "accuracy": 0.55,
            "accuracy_interval": [0.45, 0.65],
            "majority_rate": 0.55,
            "majority_answer": "yes",
            "top_reply_share": 1.0,
            "top_reply": "yes",
            "macro_f1": 0.2366,
            "questions": 100,
        },
    }
    text = answers_markdown([row])  # a row scored before macro-F1 had an interval
    assert "| lora | medical | 55.0 [45.0, 65.0] | 55.0 | 100% (yes) | 23.7 | – |" in text
    row["medical_answers"] |= {"macro_f1_interval": [0.2, 0.27], "majority_macro_f1": 0.2366}
    text = answers_markdown([row])
    assert "| lora | medical | 55.0 [45.0, 65.0] | 55.0 | 100% (yes) | 23.7 [20.0, 27.0] | 23.7 |" in text
    results = {
        "rows": [{**ROWS[0], **row, "system": "base"}, *ROWS[1:]],
        "plug_in": plug_in_summary(ROWS, "finance", ("math", "medical")),
        "profile": {"name": "quick"},
        "model": "default",
        "device": "cpu",
        "wall_time_s": 600.0,
    }
    contributions = {"domains_over_universal": 0.5, "domains_over_base": 0.01, "universal_over_base": 0.02}
    results["rows"][1] = {**results["rows"][1], "contributions": {"math": contributions, "medical": contributions}}
    text = results_markdown(results)
    assert "| base | medical | 55.0 [45.0, 65.0]" in text
    assert "| modula-res | 0.500 | 0.0100 | 0.0200 |" in text


def test_expert_losses_table_gives_each_expert_the_mixture_and_the_gap():
    entry = {
        "experts": {"math": 0.821, "medical": 3.147},
        "mixture": 0.959,
        "universal": 2.314,
        "best_expert": "math",
        "own_expert": 0.821,
        "routing_gap": 0.138,
    }
    unplugged = {**entry, "experts": {}, "best_expert": None, "own_expert": None, "routing_gap": None}
    rows = [{"system": "lora"}, {"system": "modula-res", "expert_losses": {"math": entry, "finance": unplugged}}]
    lines = expert_losses_markdown(rows).splitlines()
    assert lines[2] == "| modula-res | math | math 0.821, medical 3.147 | 0.959 | 2.314 | math | +0.138 |"
    assert lines[3] == "| modula-res | finance |  | 0.959 | 2.314 | – | – |"
    assert len(lines) == 4  # systems without the measurement add no line


def test_a_run_without_the_retrained_molora_reports_the_plug_in_without_ratios():
    rows = [row for row in ROWS if not row["system"].startswith("molora")]
    summary = plug_in_summary(rows, "finance", ("math", "medical"))
    assert summary["molora_retrain"] is None and summary["ratio"] == {} and summary["saving"] == {}
    assert summary["new_domain_score"]["molora_retrain"] is None
    assert summary["plug_in"]["trainable_parameters"] == 200_000
    results = {
        "rows": rows,
        "plug_in": summary,
        "profile": {"name": "quick", "note": "What this profile can and cannot show."},
        "model": "default",
        "device": "cpu",
        "wall_time_s": 60.0,
    }
    text = results_markdown(results)
    assert text.startswith("What this profile can and cannot show.\n\n| system |")
    assert "| MoLoRA re-train | – | – | – |" in text and "| plug-in / re-train | – | – | – |" in text
    assert "New domain: 30.0 before -> 70.0 after the plug-in (+40.0 points)." in text
    # no plug-in at all: no plug-in section
    assert plug_in_summary(rows[:2], "finance", ("math", "medical")) is None
    text = results_markdown({**results, "rows": rows[:2], "plug_in": None})
    assert "Plug-in" not in text and "| modula-res |" in text
