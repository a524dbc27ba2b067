"""Each claim's verdict rule on hand-made rows."""

from __future__ import annotations

from modula.claims import (
    FAILS,
    HOLDS,
    NOT_MEASURABLE,
    UNCLEAR,
    compare_systems,
    general_ability_claim,
    new_domain_claim,
    old_domains_claim,
    plug_in_cost_claim,
)


def _row(system, **accuracy_and_interval):
    row = {"system": system, "general_ppl": 5.0}
    for domain, (accuracy, low, high) in accuracy_and_interval.items():
        row[domain] = accuracy
        row[f"{domain}_answers"] = {"accuracy": accuracy, "accuracy_interval": [low, high]}
    return row


def test_a_system_beats_another_only_when_an_interval_lies_wholly_above():
    rows = {
        "a": _row("a", math=(0.6, 0.55, 0.65), medical=(0.5, 0.4, 0.6)),
        "b": _row("b", math=(0.4, 0.35, 0.45), medical=(0.5, 0.4, 0.6)),
        "c": _row("c", math=(0.58, 0.5, 0.66), medical=(0.5, 0.4, 0.6)),
    }
    assert compare_systems(rows, "a", "b", ("math", "medical"), "a beats b")["verdict"] == HOLDS
    assert compare_systems(rows, "b", "a", ("math", "medical"), "b beats a")["verdict"] == FAILS
    verdict = compare_systems(rows, "c", "a", ("math", "medical"), "c beats a")
    assert verdict["verdict"] == UNCLEAR and "math -2.0" in verdict["measured"]
    assert compare_systems(rows, "a", "missing", ("math",), "x")["verdict"] == NOT_MEASURABLE


def test_plug_in_cost_claim_needs_over_80_percent_saved_in_time_and_tokens():
    assert plug_in_cost_claim({"saving": {"train_time_s": 0.85, "tokens_seen": 0.9}})["verdict"] == HOLDS
    assert plug_in_cost_claim({"saving": {"train_time_s": 0.85, "tokens_seen": 0.7}})["verdict"] == FAILS
    assert plug_in_cost_claim({})["verdict"] == NOT_MEASURABLE


def test_old_domains_and_new_domain_claims():
    kept = {"before": 0.5, "after": 0.48, "before_interval": [0.4, 0.6], "kept": True}
    lost = {"before": 0.5, "after": 0.3, "before_interval": [0.4, 0.6], "kept": False}
    assert old_domains_claim({"old_domains": {"math": kept}})["verdict"] == HOLDS
    assert old_domains_claim({"old_domains": {"math": kept, "medical": lost}})["verdict"] == FAILS
    learned = {
        "before": 0.2,
        "plug_in": 0.5,
        "gain": 0.3,
        "before_interval": [0.1, 0.3],
        "plug_in_interval": [0.4, 0.6],
    }
    assert new_domain_claim({"new_domain_score": learned})["verdict"] == HOLDS
    close = {**learned, "plug_in": 0.3, "gain": 0.1, "plug_in_interval": [0.2, 0.4]}
    assert new_domain_claim({"new_domain_score": close})["verdict"] == UNCLEAR
    # above the model before, but only by answering the majority label: not learning
    trivial = {"majority_rate": 0.5, "macro_f1": 0.25, "macro_f1_interval": [0.2, 0.3], "majority_macro_f1": 0.22}
    assert new_domain_claim({"new_domain_score": {**learned, **trivial}})["verdict"] == FAILS
    # the same accuracy, with answers whose macro-F1 interval lies above the majority answer's: learning
    discriminating = {**trivial, "macro_f1": 0.5, "macro_f1_interval": [0.4, 0.6]}
    claim = new_domain_claim({"new_domain_score": {**learned, **discriminating}})
    assert claim["verdict"] == HOLDS and "against the majority answer's 22.0" in claim["measured"]
    above_majority = {**trivial, "majority_rate": 0.3}
    assert new_domain_claim({"new_domain_score": {**learned, **above_majority}})["verdict"] == HOLDS


def test_general_ability_allows_five_percent_more_perplexity():
    rows = {"base": {"general_ppl": 10.0}, "modula-res": {"general_ppl": 10.4}}
    assert general_ability_claim(rows)["verdict"] == HOLDS
    rows["modula-res"]["general_ppl"] = 10.6
    assert general_ability_claim(rows)["verdict"] == FAILS


def test_a_domain_is_learned_when_the_interval_clears_the_base_model_and_the_majority_rate():
    from modula.claims import learned_domains, learned_markdown

    def answers(accuracy, low, high, majority):
        return {"accuracy": accuracy, "accuracy_interval": [low, high], "majority_rate": majority}

    rows = [
        {"system": "base", "math": 0.04, "math_answers": answers(0.04, 0.01, 0.08, 0.02)},
        # above both
        {"system": "modula-res", "math": 0.30, "math_answers": answers(0.30, 0.21, 0.39, 0.02)},
        # above the majority rate, its interval touching the base model's
        {"system": "lora", "math": 0.12, "math_answers": answers(0.12, 0.08, 0.17, 0.02)},
    ]
    verdicts = {v["system"]: v for v in learned_domains(rows, ["math"])}
    assert set(verdicts) == {"modula-res", "lora"}  # the base model is the reference, not judged
    assert verdicts["modula-res"]["above_base"] is True and verdicts["modula-res"]["above_majority"] is True
    assert verdicts["lora"]["above_base"] is False and verdicts["lora"]["above_majority"] is True
    assert verdicts["lora"]["base_interval"] == [0.01, 0.08] and verdicts["lora"]["majority_rate"] == 0.02
    # a label domain answered with its majority label: above the base model, not above the trivial answer
    rows[0]["medical"], rows[0]["medical_answers"] = 0.3, answers(0.3, 0.25, 0.35, 0.55)
    rows[1]["medical"], rows[1]["medical_answers"] = 0.55, answers(0.55, 0.5, 0.6, 0.55)
    rows[2]["medical"] = 0.5  # a row of an older run: no intervals, nothing can be said
    verdicts = {(v["system"], v["domain"]): v for v in learned_domains(rows, ["math", "medical"])}
    assert verdicts["modula-res", "medical"]["above_base"] is True
    assert verdicts["modula-res", "medical"]["above_majority"] is False
    assert verdicts["lora", "medical"]["above_base"] is None and verdicts["lora", "medical"]["above_majority"] is None
    table = learned_markdown(list(verdicts.values()))
    assert "| modula-res | math | 30.0 [21.0, 39.0] | 4.0 [1.0, 8.0] | 2.0 | **yes** | **yes** |" in table
    assert "| lora | medical | 50.0 | 30.0 [25.0, 35.0] | – | – | – |" in table


def test_claims_of_a_run_without_the_plug_in_or_the_baselines_are_not_measurable():
    from modula.claims import paper_claims

    rows = [_row("base", math=(0.0, 0.0, 0.1)), _row("modula-res", math=(0.3, 0.2, 0.4))]
    verdicts = [c["verdict"] for c in paper_claims({"rows": rows, "plug_in": None}, ("math",))]
    assert verdicts == [NOT_MEASURABLE] * 5 + [HOLDS]  # general ability: same perplexity as the base model
