from __future__ import annotations

import copy

import pytest
import torch
from peft import LoraConfig, get_peft_model
from torch import nn
from transformers import LlamaConfig, LlamaForSequenceClassification, Trainer, TrainingArguments

from lmcommon import target_logits
from lmcommon.sft import IGNORE_INDEX
from lmcommon.target_logits import TargetLogitsTrainer, supports_target_logits, target_positions

_ = IGNORE_INDEX


def test_target_positions_are_the_positions_before_each_target():
    labels = torch.tensor([[_, _, 5, 6, _], [_, _, _, 7, _]])
    keep, shift = target_positions(labels, per_row=True)
    assert keep.tolist() == [[False, True, True, False, False], [False, False, True, False, False]]
    assert shift.tolist() == [5, 6, 7]  # position 1 predicts token 2, ...
    union, shift = target_positions(labels, per_row=False)
    assert union.tolist() == [1, 2]
    assert shift.tolist() == [[5, 6], [_, 7]]  # a row without a target at a kept position ignores it


def _args(tmp_path, **overrides) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=3, report_to=[], use_cpu=True, save_strategy="no",
        **overrides,
    )  # fmt: skip


def _batch(vocab: int = 40) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(3, vocab, (3, 10), generator=generator)
    labels = ids.clone()
    labels[:, :6] = _  # prompts
    labels[1, :8] = _  # a longer prompt
    labels[2, 8:] = _  # padding
    mask = torch.ones_like(ids)
    mask[2, 8:] = 0
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _loss_and_grads(trainer: Trainer, model: nn.Module, batch, num_items_in_batch=None):
    model.zero_grad(set_to_none=True)
    loss = trainer.compute_loss(model, dict(batch), num_items_in_batch=num_items_in_batch)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("per_row", [True, False])
@pytest.mark.parametrize("num_items", [None, 17])  # None: a batch mean; 17: the accumulated batch's target count
def test_the_loss_and_its_gradients_are_those_of_every_position(tmp_path, tiny_llama, monkeypatch, per_row, num_items):
    monkeypatch.setattr(target_logits, "_slices_per_row", lambda: per_row)
    model = get_peft_model(tiny_llama(40).double(), LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    batch = _batch()
    full = Trainer(model=model, args=_args(tmp_path / "full"))
    selective = TargetLogitsTrainer(model=model, args=_args(tmp_path / "selective"))
    projected = []
    model.get_base_model().lm_head.register_forward_hook(lambda _m, inputs, _o: projected.append(inputs[0].shape))
    expected_loss, expected_grads = _loss_and_grads(full, model, batch, num_items)
    loss, grads = _loss_and_grads(selective, model, batch, num_items)
    # the loss function upcasts logits to float32 (also from float64): equal up to float32 rounding
    torch.testing.assert_close(loss, expected_loss, rtol=1e-6, atol=1e-7)
    assert grads.keys() == expected_grads.keys() and grads
    for name, grad in grads.items():
        torch.testing.assert_close(grad, expected_grads[name], rtol=1e-5, atol=1e-7)
    targets = int((batch["labels"][:, 1:] != _).sum())
    assert projected[0][:2] == (3, 10)  # the full forward projects all 30 positions
    kept = projected[1][0] if per_row else projected[1][0] * projected[1][1]
    assert kept == (targets if per_row else 3 * 4)  # per row: the 8 targets; the union: positions 5-8 of each row


def test_evaluation_keeps_every_position(tmp_path, tiny_llama):
    model = tiny_llama(40).eval()  # as the evaluation loop leaves it: compute_metrics may read every logit
    trainer = TargetLogitsTrainer(model=model, args=_args(tmp_path))
    with torch.no_grad():
        _, outputs = trainer.compute_loss(model, _batch(), return_outputs=True)
    assert outputs.logits.shape == (3, 10, 40)


def test_a_causal_lm_inside_peft_or_a_wrapper_qualifies_and_other_models_do_not(tiny_llama):
    llama = tiny_llama(40)
    assert supports_target_logits(llama)
    assert supports_target_logits(get_peft_model(copy.deepcopy(llama), LoraConfig(r=2, target_modules=["q_proj"])))

    class Wrapper(nn.Module):  # as MoDULAModel holds its base model
        def __init__(self, base_model):
            super().__init__()
            self.base_model = base_model

    assert supports_target_logits(Wrapper(llama))
    classifier = LlamaForSequenceClassification(
        LlamaConfig(hidden_size=16, intermediate_size=32, num_attention_heads=4, num_hidden_layers=1, vocab_size=40)
    )
    assert not supports_target_logits(classifier)
    assert not supports_target_logits(nn.Linear(2, 2))


def test_a_model_that_does_not_qualify_gets_its_inputs_unchanged(tmp_path):
    seen = []

    class Regression(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(1))

        def forward(self, input_ids, labels, attention_mask=None, **kwargs):
            seen.append(set(kwargs))
            return {"loss": ((self.weight * input_ids.float() - labels) ** 2).mean()}

    model = Regression()
    trainer = TargetLogitsTrainer(model=model, args=_args(tmp_path))
    batch = {"input_ids": torch.ones(2, 3), "labels": torch.ones(2, 3), "attention_mask": torch.ones(2, 3)}
    trainer.compute_loss(model, batch)
    assert seen == [set()]
