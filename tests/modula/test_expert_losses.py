"""The routing signal: answer losses under each expert alone, the mixture and the universal expert."""

from __future__ import annotations

import math

import pytest
import torch

from modula import MoDULAConfig, MoDULAModel
from modula.expert_losses import answer_loss, expert_losses

from .conftest import randomise_parts, toy_rows


def _model(llama, variant="res"):
    return MoDULAModel(llama, MoDULAConfig(variant=variant, domains=["alpha", "beta"], dropout=0.0))


def test_answer_loss_is_the_mean_cross_entropy_of_the_response_tokens(llama, tokenizer):
    rows = toy_rows("alpha", 3)
    model = _model(llama).eval()
    total, count = 0.0, 0
    for row in rows:  # by hand, one row at a time: the response's tokens and the end-of-turn token
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": row["prompt"]}], tokenize=False, add_generation_prompt=True
        )
        full = tokenizer.apply_chat_template(
            [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": row["response"]}],
            tokenize=False,
        )
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        ids = prompt_ids + tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0]
        for position in range(len(prompt_ids), len(ids)):
            total -= torch.log_softmax(logits[position - 1], dim=-1)[ids[position]].item()
            count += 1
    assert answer_loss(model, tokenizer, rows, max_length=64, batch_size=2) == pytest.approx(total / count, rel=1e-4)


def test_untrained_res_experts_add_nothing_to_the_universal_expert(llama, tokenizer):
    model = _model(llama)
    randomise_parts(model, "universal", seed=1)
    randomise_parts(model, "router", seed=2)
    entry = expert_losses(model, tokenizer, {"alpha": toy_rows("alpha", 4)}, max_length=64)["alpha"]
    # every B of the domain experts is zero: each expert alone and any mixture of them is W0 x + h
    for loss in (*entry["experts"].values(), entry["mixture"]):
        assert loss == pytest.approx(entry["universal"], abs=1e-5)
    assert entry["routing_gap"] == pytest.approx(0.0, abs=1e-5)


def test_each_path_is_measured_and_the_gap_is_to_the_best_expert(llama, tokenizer):
    model = _model(llama)
    for seed, part in enumerate(("universal", "alpha", "beta", "router"), start=1):
        randomise_parts(model, part, seed=seed)
    model.set_stage("expert", "beta")
    model.train()
    rows = {"alpha": toy_rows("alpha", 4), "gamma": toy_rows("general", 4)}
    losses = expert_losses(model, tokenizer, rows, max_length=64, batch_size=3)
    assert model.stage == "expert" and model.active_domain == "beta" and model.training  # left as it was
    for domain, entry in losses.items():
        with model.expert_path_only("alpha"):
            assert entry["experts"]["alpha"] == pytest.approx(
                answer_loss(model, tokenizer, rows[domain], max_length=64, batch_size=8), rel=1e-5
            )
        assert len({round(v, 6) for v in (*entry["experts"].values(), entry["mixture"], entry["universal"])}) == 4
        best = min(entry["experts"], key=entry["experts"].get)
        assert entry["best_expert"] == best
        assert entry["routing_gap"] == pytest.approx(entry["mixture"] - entry["experts"][best])
        assert all(math.isfinite(v) for v in entry["experts"].values())
    assert losses["alpha"]["own_expert"] == losses["alpha"]["experts"]["alpha"]
    assert losses["gamma"]["own_expert"] is None  # a domain without an expert of its own


def test_a_domain_without_rows_is_an_error(llama, tokenizer):
    with pytest.raises(ValueError, match="no rows for 'alpha'"):
        expert_losses(_model(llama), tokenizer, {"alpha": []})
