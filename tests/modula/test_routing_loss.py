from __future__ import annotations

import math

import pytest
import torch
from transformers import TrainingArguments

from modula import MoDULAConfig, MoDULAModel, train_stage
from modula.routing_loss import (
    DOMAIN_INDEX,
    DomainChatCollator,
    captured_router_weights,
    domain_indices,
    domain_outputs,
    routing_nll,
)

from .conftest import make_llama, toy_rows
from .test_train import _args, _mean_own_router_weight


def test_routing_nll_is_the_mean_over_routers_of_the_rows_own_domain_log_weight():
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    # Flan-like: column 0 is the universal expert and is left out; the rest renormalise over columns 1 and 2
    first = torch.tensor(
        [
            [[0.2, 0.6, 0.2], [0.2, 0.2, 0.6], [0.0, 0.0, 1.0]],  # padded third token: ignored
            [[0.5, 0.25, 0.25], [0.5, 0.25, 0.25], [0.5, 0.25, 0.25]],
        ]
    )
    second = torch.tensor(
        [
            [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            [[0.0, 0.1, 0.9], [0.0, 0.1, 0.9], [0.0, 0.1, 0.9]],
        ]
    )
    domain = torch.tensor([0, 1])  # row 0 belongs to column 1, row 1 to column 2
    # first router: row 0 means (0.4, 0.4) -> 0.5; row 1 (0.25, 0.25) -> 0.5; second: row 0 -> 1.0, row 1 -> 0.9
    expected = (-(math.log(0.5) + math.log(0.5)) / 2 - (math.log(1.0) + math.log(0.9)) / 2) / 2
    assert routing_nll([first, second], mask, domain, [1, 2]).item() == pytest.approx(expected, rel=1e-6)


def test_routing_nll_needs_router_weights():
    with pytest.raises(ValueError, match="no router weights"):
        routing_nll([], torch.ones(1, 2), torch.tensor([0]), [0])


def test_domain_outputs_skip_the_universal_column():
    assert domain_outputs(["universal", "math", "medical"]) == [1, 2]
    assert domain_outputs(["math", "medical"]) == [0, 1]


def test_domain_indices_name_the_bad_row():
    rows = [{"domain": "beta"}, {"domain": "alpha"}]
    assert domain_indices(rows, ["alpha", "beta"]) == [1, 0]
    with pytest.raises(ValueError, match=r"row 2: .*'gamma'"):
        domain_indices([{"domain": "alpha"}, {"domain": "gamma"}], ["alpha", "beta"])
    with pytest.raises(ValueError, match=r"row 1: .*None"):
        domain_indices([{"prompt": "p"}], ["alpha"])


def test_the_collator_batches_the_domain_beside_the_padded_text():
    batch = DomainChatCollator(pad_token_id=0)(
        [
            {"input_ids": [5, 6], "labels": [-100, 6], "attention_mask": [1, 1], DOMAIN_INDEX: 1},
            {"input_ids": [7], "labels": [7], "attention_mask": [1], DOMAIN_INDEX: 0},
        ]
    )
    assert batch[DOMAIN_INDEX].tolist() == [1, 0]
    assert batch["input_ids"].tolist() == [[5, 6], [7, 0]] and batch["attention_mask"].tolist() == [[1, 1], [1, 0]]


def test_captured_router_weights_keep_their_graph_and_the_hooks_go_away(tokenizer):
    model = MoDULAModel(make_llama(), MoDULAConfig(variant="res", domains=["alpha", "beta"], dropout=0.0))
    model.set_stage("router")
    ids = torch.tensor([[3, 4, 5]])
    with captured_router_weights(model) as captured:
        model(input_ids=ids)
    assert len(captured) == sum(1 for _ in model.modula_layers()) and all(w.requires_grad for w in captured)
    model(input_ids=ids)
    assert len(captured) == len(list(model.modula_layers()))  # nothing recorded after the block


def _trained_experts(tmp_path, tokenizer, variant):
    model = MoDULAModel(make_llama(), MoDULAConfig(variant=variant, domains=["alpha", "beta"], dropout=0.0))
    for stage, domain, rows in [
        ("universal", None, toy_rows("general")),
        ("expert", "alpha", toy_rows("alpha")),
        ("expert", "beta", toy_rows("beta")),
    ]:
        train_stage(model, stage, rows, _args(tmp_path / f"{stage}-{domain}", 40), tokenizer=tokenizer, domain=domain)
    return model


@pytest.mark.parametrize("variant", ["res", "flan"])
def test_the_routing_loss_sends_each_domain_to_its_own_expert_sooner(tmp_path, tokenizer, variant):
    trained = _trained_experts(tmp_path, tokenizer, variant)
    rows = toy_rows("alpha") + toy_rows("beta")
    own = {}
    for weight in (0.0, 1.0):
        model = MoDULAModel.from_pretrained(make_llama(), trained.save_pretrained(tmp_path / "experts"))
        args = _args(tmp_path / f"router-{weight}", 10, lr=0.1)
        report = train_stage(model, "router", rows, args, tokenizer=tokenizer, routing_loss_weight=weight)
        assert report.steps == 10
        own[weight] = [_mean_own_router_weight(model, tokenizer, d)[d] for d in ("alpha", "beta")]
    for without, with_loss in zip(own[0.0], own[1.0], strict=True):
        assert with_loss > without + 0.05, own


def test_the_routing_loss_is_for_the_router_stage_only(tmp_path, tokenizer):
    model = MoDULAModel(make_llama(), MoDULAConfig(variant="res", domains=["alpha"], dropout=0.0))
    for stage, weight in [("universal", 1.0), ("router", -0.5)]:
        with pytest.raises(ValueError, match="routing_loss_weight"):
            train_stage(
                model, stage, toy_rows("alpha"), _args(tmp_path, 1), tokenizer=tokenizer, routing_loss_weight=weight
            )


def test_gradient_accumulation_keeps_the_routing_term_a_batch_mean(tmp_path, tokenizer):
    """Two accumulated half batches take the routers' step one full batch takes (the Trainer divides the
    language-model term over the accumulated tokens; the routing term must be divided by the steps). Plain SGD
    without clipping, so that the step is the gradient and a wrong scale shows (Adam's first step would hide it)."""
    trained = _trained_experts(tmp_path, tokenizer, "res")
    rows = toy_rows("alpha", 8) + toy_rows("beta", 8)
    routers = {}
    for name, batch, accumulate in [("full", 16, 1), ("halves", 8, 2)]:
        model = MoDULAModel.from_pretrained(make_llama(), trained.save_pretrained(tmp_path / "experts"))
        args = TrainingArguments(
            output_dir=str(tmp_path / name),
            max_steps=1,
            per_device_train_batch_size=batch,
            gradient_accumulation_steps=accumulate,
            learning_rate=1.0,
            report_to=[],
            disable_tqdm=True,
            seed=0,
            use_cpu=True,
            save_strategy="no",
            optim="sgd",
            max_grad_norm=0.0,  # the step is the gradient itself
        )
        train_stage(model, "router", rows, args, tokenizer=tokenizer, samples_per_domain=8, routing_loss_weight=5.0)
        routers[name] = torch.cat([layer.router.weight.detach().flatten() for _, layer in model.modula_layers()])
    assert torch.allclose(routers["full"], routers["halves"], atol=1e-4)
