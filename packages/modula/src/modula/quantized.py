"""MoDULA over a base model whose linear layers bitsandbytes holds in 4 or 8 bits (QLoRA).

bitsandbytes' ``Linear4bit`` and ``Linear8bitLt`` subclass ``nn.Linear`` and compute ``x W0^T`` from their packed
weights in the forward pass, so a MoDULA layer wraps them as it wraps a float layer: the base stays frozen in 4/8
bits and the experts and routers train in the compute dtype, as peft's ``tuners/lora/bnb.py`` does for LoRA. What
differs is everything that reads ``W0`` itself: the adapters' dtype (the packed weight is uint8/int8) and
serving, which folds experts into ``W0`` (:mod:`modula.merge`: dequantise first, or keep the fold out of ``W0``).
Nothing here imports bitsandbytes: a model can only hold its layers once it is loaded.
"""

from __future__ import annotations

import logging
import sys

import torch
from torch import nn

logger = logging.getLogger(__name__)


def is_quantized_linear(module: nn.Module) -> bool:
    """Whether ``module`` is a bitsandbytes 4-bit or 8-bit linear layer."""
    bnb = sys.modules.get("bitsandbytes")
    return bnb is not None and isinstance(module, bnb.nn.Linear4bit | bnb.nn.Linear8bitLt)


def float_dtype_of(model: nn.Module) -> torch.dtype:
    """The dtype of ``model``'s float weights (its embedding's): what its quantized layers compute in unless they
    say otherwise."""
    return model.get_input_embeddings().weight.dtype


def adapter_dtype(layer: nn.Module, model: nn.Module) -> torch.dtype:
    """The dtype of the adapters over base ``layer`` of ``model``: the dtype the layer computes in (its weight's for
    a float layer; for a bitsandbytes layer its compute dtype, else the model's float dtype), but float32 under a
    half-precision one, as peft keeps LoRA weights."""
    if not is_quantized_linear(layer):
        dtype = layer.weight.dtype
    else:
        dtype = getattr(layer, "compute_dtype", None) or float_dtype_of(model)
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def keep_on_the_exact_path(layer: nn.Module) -> None:
    """Makes a bitsandbytes 4-bit layer compute as it does in training whatever the mode. On a CPU with AVX512-BF16
    ``Linear4bit`` repacks its weight in place on the first eval-mode forward and from then on computes in
    bfloat16: the logits would then differ between training and evaluation, and the repacked weight can no longer
    be dequantised for merging."""
    if is_quantized_linear(layer) and hasattr(layer, "support_avx512bf16_for_cpu"):
        layer.support_avx512bf16_for_cpu = False


def has_quantized_layers(model: nn.Module) -> bool:
    return any(is_quantized_linear(module) for module in model.modules())


def dequantize_base(base_model: nn.Module, why: str) -> None:
    """Replaces every bitsandbytes layer of ``base_model`` (those inside MoDULA layers included) by a float
    ``nn.Linear`` holding its dequantised weight, in the model's float dtype, in place, and removes the model's
    quantization config so that it saves as a float checkpoint. Logs one line saying so and why."""
    dtype = float_dtype_of(base_model)
    logger.warning("%s: the 4/8-bit base layers are dequantised to %s; the result is a float model", why, dtype)
    for module in base_model.modules():
        _unpack_cpu_format(module)
    # transformers' own dequantisation walks every module, so it also finds the layers wrapped by MoDULA
    base_model.dequantize(dtype=dtype)


def _unpack_cpu_format(layer: nn.Module) -> None:
    """Undoes the CPU repacking of a 4-bit weight (a layer run in eval mode before MoDULA wrapped it), as
    bitsandbytes does itself before saving one: dequantising reads the standard layout only."""
    state = getattr(getattr(layer, "weight", None), "quant_state", None)
    if not (is_quantized_linear(layer) and getattr(state, "packing_format_for_cpu", False)):
        return
    from bitsandbytes.functional import _convert_weight_packed_for_cpu_inverse

    layer.weight.data, layer.weight.quant_state = _convert_weight_packed_for_cpu_inverse(layer.weight.data, state)
