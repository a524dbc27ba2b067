from __future__ import annotations

import pytest
import torch
from transformers import TrainerCallback, TrainingArguments

from modula import MoDULAConfig, MoDULAModel, train_stage
from modula.expert_losses import expert_losses

from .conftest import DOMAIN_WORDS, make_llama, toy_rows


def _args(output_dir, steps, lr=1e-2, **kwargs) -> TrainingArguments:
    defaults = {"save_strategy": "no", "logging_steps": 10}
    return TrainingArguments(
        output_dir=str(output_dir),
        max_steps=steps,
        per_device_train_batch_size=8,
        learning_rate=lr,
        report_to=[],
        disable_tqdm=True,
        seed=0,
        use_cpu=True,
        **{**defaults, **kwargs},
    )


def _mean_own_router_weight(model, tokenizer, domain):
    """Mean router weight per expert over the tokens that belong to ``domain``'s prompts, across all layers."""
    rows = toy_rows(domain)
    batch = tokenizer([f"user : {r['prompt']} </s>" for r in rows], return_tensors="pt", add_special_tokens=False)
    own_ids = torch.tensor(tokenizer.convert_tokens_to_ids(list(DOMAIN_WORDS[domain])))
    own_tokens = torch.isin(batch["input_ids"], own_ids)
    weights = torch.stack(list(model.router_weights(batch["input_ids"]).values()))  # (layers, batch, seq, n)
    means = weights[:, own_tokens].mean(dim=(0, 1))
    return dict(zip(model.modula_config.router_outputs, means.tolist(), strict=True))


@pytest.mark.parametrize("variant", ["res", "flan"])
def test_staged_training_learns_and_routes_by_domain(tmp_path, tokenizer, variant):
    model = MoDULAModel(make_llama(), MoDULAConfig(variant=variant, domains=["alpha", "beta"], dropout=0.0))
    stages = [
        ("universal", None, toy_rows("general"), 60),
        ("expert", "alpha", toy_rows("alpha"), 60),
        ("expert", "beta", toy_rows("beta"), 60),
        ("router", None, toy_rows("alpha") + toy_rows("beta"), 300),
    ]
    for stage, domain, rows, steps in stages:
        report = train_stage(model, stage, rows, _args(tmp_path / stage, steps), tokenizer=tokenizer, domain=domain)
        assert report.last_logged_loss < 0.6 * report.first_logged_loss, (stage, domain, report)
        assert report.steps == steps and report.tokens_seen > 0
        assert report.trainable_parameters == sum(
            p.numel() for n, p in model.named_parameters() if f".{'experts.' + domain if domain else stage}." in n
        )
    for domain, other in [("alpha", "beta"), ("beta", "alpha")]:
        weights = _mean_own_router_weight(model, tokenizer, domain)
        assert weights[domain] == max(weights.values()), weights
        assert weights[domain] > weights[other] + 0.15, weights
    # the routing signal: each domain's own expert alone beats the other expert, and the trained routers bring the
    # mixture within a fraction of what the other expert alone loses
    rows = {domain: toy_rows(domain, 8) for domain in ("alpha", "beta")}
    stage = model.stage
    losses = expert_losses(model, tokenizer, rows, max_length=64)
    for domain, other in [("alpha", "beta"), ("beta", "alpha")]:
        entry = losses[domain]
        assert entry["best_expert"] == domain and entry["own_expert"] == entry["experts"][domain], entry
        assert entry["experts"][domain] < entry["experts"][other] - 0.5, entry
        assert entry["mixture"] - entry["experts"][domain] < 0.5 * (entry["experts"][other] - entry["experts"][domain])
        assert entry["routing_gap"] == pytest.approx(entry["mixture"] - entry["experts"][domain])
    assert model.stage == stage  # measuring leaves the stage as it was


def test_inference_stage_does_not_train(tmp_path, tokenizer):
    model = MoDULAModel(make_llama(), MoDULAConfig(domains=["alpha"]))
    with pytest.raises(ValueError, match="stage 'inference' does not train"):
        train_stage(model, "inference", toy_rows("alpha"), _args(tmp_path, 1), tokenizer=tokenizer)


class _StopAt(TrainerCallback):
    """Stops training after a given step, as a crash after the checkpoint would."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_training_stop = True


def test_resume_from_checkpoint_matches_an_uninterrupted_run(tmp_path, tokenizer):
    def fresh():
        return MoDULAModel(make_llama(), MoDULAConfig(domains=["alpha"], dropout=0.0))

    rows = toy_rows("general")
    straight = fresh()
    train_stage(straight, "universal", rows, _args(tmp_path / "straight", 20), tokenizer=tokenizer)

    interrupted = fresh()
    args = _args(tmp_path / "resumed", 20, save_strategy="steps", save_steps=10)
    report = train_stage(interrupted, "universal", rows, args, tokenizer=tokenizer, callbacks=[_StopAt(10)])
    assert report.steps == 10
    checkpoint = tmp_path / "resumed" / "checkpoint-10"
    assert (checkpoint / "universal" / "adapter_model.safetensors").is_file()
    assert not list(checkpoint.glob("model*.safetensors"))  # adapters only, never the frozen base
    resumed = fresh()
    report = train_stage(resumed, "universal", rows, args, tokenizer=tokenizer, resume_from_checkpoint=True)
    assert report.steps == 20
    for (name, a), (_, b) in zip(straight.named_parameters(), resumed.named_parameters(), strict=True):
        torch.testing.assert_close(a, b, msg=name)


def test_save_to_writes_the_trained_model(tmp_path, tokenizer):
    model = MoDULAModel(make_llama(), MoDULAConfig(domains=["alpha"], dropout=0.0))
    train_stage(
        model,
        "universal",
        toy_rows("general"),
        _args(tmp_path / "run", 5),
        tokenizer=tokenizer,
        save_to=tmp_path / "final",
    )
    restored = MoDULAModel.from_pretrained(make_llama(), tmp_path / "final")
    for (name, a), (_, b) in zip(model.named_parameters(), restored.named_parameters(), strict=True):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("routing_loss_weight", [0.0, 1.0])
def test_a_stage_projects_only_the_response_positions_onto_the_vocabulary(tmp_path, tokenizer, routing_loss_weight):
    from lmcommon.sft import IGNORE_INDEX, tokenize_rows

    model = MoDULAModel(make_llama(), MoDULAConfig(variant="res", domains=["alpha", "beta"]))
    rows = toy_rows("alpha", 8) + toy_rows("beta", 8)
    projected = []
    hook = model.base_model.lm_head.register_forward_hook(lambda _m, inputs, _o: projected.append(inputs[0].shape))
    train_stage(
        model, "router", rows, _args(tmp_path, 2), tokenizer=tokenizer, samples_per_domain=8,
        routing_loss_weight=routing_loss_weight,
    )  # fmt: skip
    hook.remove()
    # the 16 rows go in two batches of 8; the LM head sees each response target's position once, nothing else
    targets = sum(
        sum(label != IGNORE_INDEX for label in example["labels"][1:])
        for example in tokenize_rows(tokenizer, rows, 512)
    )
    assert len(projected) == 2 and all(len(shape) == 2 for shape in projected)  # (kept positions, hidden)
    assert sum(shape[0] for shape in projected) == targets
