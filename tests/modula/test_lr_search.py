"""Choosing a stage's learning rate on dev rows."""

from __future__ import annotations

import pytest
import torch
from transformers import TrainingArguments

from modula import MoDULAConfig, MoDULAModel
from modula.lr_search import choose_learning_rate, dev_loss

from .conftest import make_llama, toy_rows


def _args(tmp_path) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=20,
        per_device_train_batch_size=8,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        seed=0,
        use_cpu=True,
    )


def test_the_learning_rate_that_learns_the_dev_rows_is_chosen_and_the_model_is_left_as_it_was(tmp_path, tokenizer):
    # Flan: a domain expert learns from the base model's activations (a Res one needs a trained universal expert)
    model = MoDULAModel(make_llama(), MoDULAConfig(variant="flan", domains=["alpha"], dropout=0.0))
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    rows, dev = toy_rows("alpha", 24), toy_rows("alpha", 32)[24:]
    choice = choose_learning_rate(
        model, "expert", rows, dev, [1e-7, 1e-2], _args(tmp_path), tokenizer=tokenizer, domain="alpha", max_length=64
    )
    # 1e-7 barely moves the expert in 20 steps; 1e-2 learns the fixed answer pattern
    assert choice.chosen == 1e-2 and choice.dev_loss[1e-2] < 0.5 * choice.before_dev_loss
    assert choice.dev_loss[1e-7] == pytest.approx(choice.before_dev_loss, rel=0.02)
    assert all(torch.equal(p, before[name]) for name, p in model.named_parameters())
    assert dev_loss(model, tokenizer, dev, 64) == pytest.approx(choice.before_dev_loss)
    assert set(choice.as_dict()["dev_loss"]) == {"1e-07", "0.01"}


def test_bad_candidates_and_missing_dev_rows_are_refused(tmp_path, tokenizer):
    model = MoDULAModel(make_llama(), MoDULAConfig(domains=["alpha"]))
    rows = toy_rows("alpha", 8)
    with pytest.raises(ValueError, match="positive learning rates"):
        choose_learning_rate(model, "expert", rows, rows, [], _args(tmp_path), tokenizer=tokenizer, domain="alpha")
    with pytest.raises(ValueError, match="needs dev rows"):
        choose_learning_rate(model, "expert", rows, [], [1e-3], _args(tmp_path), tokenizer=tokenizer, domain="alpha")
