"""Vocabulary logits only where the loss reads them.

A causal LM's forward projects every position onto the vocabulary (49k entries for SmolLM2) and the loss then
upcasts all of them to float32, although supervised fine-tuning only scores the response tokens: a PubMedQA row
of 190 prompt tokens has about 10 targets. Measured on the packaged SmolLM2-135M (CPU, bf16 autocast, peft LoRA
r16, batch 8 x 191 tokens with 16 targets per row): 7.2 s a step with every position, 4.4 s with the targets'
positions only. Hugging Face causal LMs take ``logits_to_keep`` (which positions reach ``lm_head``) and
``shift_labels`` (the targets already aligned with the kept positions), so the model's own loss function computes
the same loss from fewer logits; :class:`TargetLogitsTrainer` passes both. A model whose forward does not take
them (or a transformers that lacks them) trains as before.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import torch
from transformers import PreTrainedModel, Trainer

from lmcommon.sft import IGNORE_INDEX


def target_positions(labels: torch.Tensor, *, per_row: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The positions whose next token is a target, and those targets, for a causal LM's ``(batch, seq)`` labels.

    Args:
        labels: token ids, ``IGNORE_INDEX`` where nothing is scored (prompt, padding).
        per_row: True: a ``(batch, seq)`` boolean mask and the ``(kept,)`` targets in row order (transformers 5
            slices hidden states by it); False: one 1D index of every position any row needs (their union,
            contiguous with right padding), kept in every row, with ``(batch, positions)`` targets,
            ``IGNORE_INDEX`` where a row has none; None: per row where the installed transformers can.

    Returns:
        ``(logits_to_keep, shift_labels)`` as the model's forward and loss function take them.
    """
    targets = torch.nn.functional.pad(labels[:, 1:], (0, 1), value=IGNORE_INDEX)  # position i predicts token i + 1
    needed = targets != IGNORE_INDEX
    if per_row if per_row is not None else _slices_per_row():
        return needed, targets[needed]
    positions = needed.any(dim=0).nonzero().squeeze(-1)
    return positions, targets[:, positions]


def _causal_lm(model: torch.nn.Module) -> PreTrainedModel | None:
    """The Hugging Face model inside ``model`` (a peft or MoDULA wrapper, a DDP module), or None."""
    for _ in range(4):
        if isinstance(model, PreTrainedModel):
            return model
        if hasattr(model, "get_base_model"):  # peft (its base_model is peft's tuner, not the Hugging Face model)
            inner = model.get_base_model()
        else:  # DDP's module, MoDULA's base_model
            inner = getattr(model, "module", None) or getattr(model, "base_model", None)
        if inner is None or inner is model:
            return None
        model = inner
    return None


@functools.cache
def _slices_per_row() -> bool:
    """Whether this transformers slices hidden states by a 2D boolean ``logits_to_keep`` (5.x does)."""
    from transformers import modeling_utils

    return hasattr(modeling_utils, "slice_logits_to_keep")


@functools.cache
def _loss_takes_shift_labels() -> bool:
    try:
        from transformers.loss.loss_utils import ForCausalLMLoss
    except ImportError:
        return False
    return "shift_labels" in inspect.signature(ForCausalLMLoss).parameters


def supports_target_logits(model: torch.nn.Module) -> bool:
    """Whether ``model`` is (or wraps) a causal LM whose forward keeps chosen positions and whose loss takes
    aligned targets."""
    causal_lm = _causal_lm(model)
    if causal_lm is None or getattr(causal_lm, "loss_type", None) not in (None, "ForCausalLM"):
        return False
    return "logits_to_keep" in inspect.signature(causal_lm.forward).parameters and _loss_takes_shift_labels()


class TargetLogitsTrainer(Trainer):
    """A ``Trainer`` whose causal-LM training batches reach ``lm_head`` only at the positions the loss scores (the
    loss, its normalisation over gradient accumulation and devices, and the gradients are those of the full
    forward); evaluation keeps every position's logits."""

    def compute_loss(self, model, inputs: dict[str, Any], return_outputs=False, num_items_in_batch=None):
        labels = inputs.get("labels")
        # training steps only: an evaluation loop may hand the logits to compute_metrics, which expects all of them
        if model.training and isinstance(labels, torch.Tensor) and labels.dim() == 2 and self._selects_targets(model):
            keep, shift_labels = target_positions(labels)
            inputs = {**inputs, "logits_to_keep": keep, "shift_labels": shift_labels}
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

    def _selects_targets(self, model) -> bool:
        if not hasattr(self, "_target_logits"):
            self._target_logits = self.model_accepts_loss_kwargs and supports_target_logits(model)
        return self._target_logits
