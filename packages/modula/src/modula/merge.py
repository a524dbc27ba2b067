"""Serving: the experts folded into as few matmuls as their maths allows, in place of the MoDULA layers.

:func:`merge_domain` serves one known domain: its expert path (``MoDULAModel.expert_path_only``), without routers
or other experts.
- Flan: ``y = W0 x + B_k A_k x`` is linear, so ``W0 + s_k B_k A_k`` replaces ``W0`` and the result is a plain
  Hugging Face model.
- Res: ``y = W0 x + h + B_k LeakyReLU(A_k h)`` with ``h = B_u A_u x``. The universal term is folded into ``W0``; the
  LeakyReLU keeps the domain term out of any weight, so it stays as a side branch of rank r:
  ``s_k B_k LeakyReLU(D x)`` with ``D = s_u A_k B_u A_u`` (two thin matmuls beside the base layer).

:func:`fold_for_serving` keeps the routing (the inference path, every domain): per layer one matmul from x gives
every expert's hidden units and the router's logits at once, one more maps the gated units out (Res: the universal
term folded into ``W0`` and ``A_i h = s_u A_i B_u A_u x``; Flan: the universal expert is one more gated expert).
Decoding a token then runs three kernels per adapted layer where the training layout runs about fifteen.

Over a 4/8-bit base (:mod:`modula.quantized`) ``W0`` is packed and cannot take a fold. :func:`merge_domain`
dequantises the base first and says so (its result is a float model). :func:`fold_for_serving` leaves the packed
``W0`` as it is: Flan never folds into it, and Res keeps its universal term as ``r_u`` more hidden units, ungated.

A merged model is written as a standard Hugging Face folder (the base architecture, its tensor names unchanged)
plus, for Res, ``modula_domain_branch.safetensors``; :func:`load_merged` reads both. ``modula_merged.json`` records
the variant and the domain.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from lmcommon.data import read_json, write_json
from modula.quantized import adapter_dtype, dequantize_base, has_quantized_layers, is_quantized_linear

if TYPE_CHECKING:
    from modula.model import MoDULAModel

MERGED_CONFIG_NAME = "modula_merged.json"
BRANCH_WEIGHTS_NAME = "modula_domain_branch.safetensors"


class LowRankBranch(nn.Module):
    """``base(x) + up(LeakyReLU(down(x)))``: a Res layer merged for one domain (``down``: (r, d_in), ``up``:
    (d_out, r), both holding their scalings)."""

    def __init__(self, base_layer: nn.Linear, down: torch.Tensor, up: torch.Tensor, slope: float):
        super().__init__()
        self.base_layer = base_layer
        self.down = nn.Parameter(down, requires_grad=False)
        self.up = nn.Parameter(up, requires_grad=False)
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.base_layer(x)
        hidden = nn.functional.leaky_relu(x.to(self.down.dtype) @ self.down.T, self.slope)
        return result + (hidden @ self.up.T).to(result.dtype)


class RoutedServingLinear(nn.Module):
    """The inference path of a MoDULA layer in three matmuls: ``base(x) + up(gate(act(H x)))`` where one weight,
    ``fused`` = ``[H; W_R]``, gives the experts' hidden units and the router's logits at once.

    The hidden units are ``universal_rank`` units gated by router output 0 (Flan's universal expert; for Res 0,
    its universal term being in the base weight, or over a quantized base its ``r_u`` units, not gated), then
    ``num_experts`` domain experts of ``rank`` units each.
    """

    def __init__(
        self,
        base_layer: nn.Linear,
        fused: torch.Tensor,
        up: torch.Tensor,
        *,
        universal_rank: int,
        num_experts: int,
        rank: int,
        slope: float | None,
        universal_gated: bool = True,
    ):
        super().__init__()
        self.base_layer = base_layer
        self.fused = nn.Parameter(fused, requires_grad=False)  # (hidden units + router outputs, d_in)
        self.up = nn.Parameter(up, requires_grad=False)  # (d_out, hidden units), scalings included
        self.universal_rank, self.num_experts, self.rank = universal_rank, num_experts, rank
        self.slope = slope  # None: no activation (Flan)
        self.universal_gated = universal_gated  # Flan gates its universal units; Res adds them as they are

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.base_layer(x)
        pre = x.to(self.fused.dtype) @ self.fused.T
        domain_units = self.num_experts * self.rank
        num_gates = self.num_experts + (1 if self.universal_rank and self.universal_gated else 0)
        universal, hidden, logits = pre.split([self.universal_rank, domain_units, num_gates], dim=-1)
        if self.slope is not None:
            hidden = nn.functional.leaky_relu(hidden, self.slope)
        gates = torch.softmax(logits, dim=-1, dtype=torch.promote_types(logits.dtype, torch.float32)).to(pre.dtype)
        domain_gates = gates[..., -self.num_experts :].unsqueeze(-1)  # (..., n, 1)
        gated = (hidden.unflatten(-1, (self.num_experts, self.rank)) * domain_gates).flatten(-2)
        if self.universal_rank:
            gated = torch.cat([universal * gates[..., :1] if self.universal_gated else universal, gated], dim=-1)
        return result + (gated @ self.up.T).to(result.dtype)


def _wide(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.to(torch.promote_types(tensor.dtype, torch.float32))  # float32 at least, float64 stays


def _delta(expert) -> torch.Tensor:
    """``s B A``, an expert's weight update (d_out, d_in), in float32 at least."""
    return expert.scaling * (_wide(expert.lora_B) @ _wide(expert.lora_A))


def _fold(weight: torch.Tensor, delta: torch.Tensor) -> None:
    """``weight += delta``, summed in float32 (at least) and stored in the weight's dtype."""
    total = weight.detach().to(torch.promote_types(weight.dtype, torch.float32)) + delta.to(weight.device)
    with torch.no_grad():
        weight.copy_(total.to(weight.dtype))


def merge_domain(model: MoDULAModel, domain: str) -> nn.Module:
    """Folds the universal expert and ``domain``'s expert into the base weights, in place, and returns the base
    model without MoDULA layers (as peft's ``merge_and_unload``): its outputs are those of
    ``model.expert_path_only(domain)`` within float tolerance, at about the cost of the base model.

    ``model`` cannot be used afterwards (its layers are gone from the base model); load the checkpoint again for
    another domain.

    Raises:
        ValueError: ``domain`` has no expert.
    """
    if domain not in model.modula_config.domains:
        raise ValueError(f"unknown domain {domain!r}; domains: {model.domains}")
    if has_quantized_layers(model.base_model):
        dequantize_base(model.base_model, f"merging domain {domain!r} into the base weights")
    config = model.modula_config
    for name, layer in list(model.modula_layers()):
        base = layer.base_layer
        universal, expert = layer.universal, layer.experts[domain]
        with torch.no_grad():
            if config.variant == "flan":
                _fold(base.weight, _delta(expert))
                replacement: nn.Module = base
            else:
                h_map = _delta(universal)  # h = h_map x
                _fold(base.weight, h_map)
                down = _wide(expert.lora_A) @ h_map  # s_u A_k B_u A_u
                up = expert.scaling * expert.lora_B
                dtype = universal.lora_A.dtype
                replacement = LowRankBranch(base, down.to(dtype), up.detach().clone(), layer.leaky_relu_slope)
        _replace(model.base_model, name, replacement)
    return _spent(model, domain)


def fold_for_serving(model: MoDULAModel) -> nn.Module:
    """Replaces every MoDULA layer by a :class:`RoutedServingLinear` computing the inference path (the routed
    mixture of every domain) in three matmuls, in place, and returns the base model (``model`` is spent, as after
    :func:`merge_domain`). Outputs equal ``model.mixture_path_only()`` within float tolerance. For generation;
    nothing in it trains.
    """
    config = model.modula_config
    for name, layer in list(model.modula_layers()):
        base, universal = layer.base_layer, layer.universal
        experts = list(layer.experts.values())
        universal_gated = True
        with torch.no_grad():
            if config.variant == "flan":  # the universal expert is router output 0, gated like the domains
                rows = [_wide(e.lora_A) for e in [universal, *experts]]
                ups = [e.scaling * _wide(e.lora_B) for e in [universal, *experts]]
                slope, universal_rank = None, universal.rank
            else:  # h = B_u A_u x joins W0 (or, over a packed W0, stays r_u units); expert i reads s_u A_i B_u A_u x
                h_map = _delta(universal)  # (d_out, d_in)
                rows = [_wide(e.lora_A) @ h_map for e in experts]
                ups = [e.scaling * _wide(e.lora_B) for e in experts]
                slope, universal_rank = layer.leaky_relu_slope, 0
                if is_quantized_linear(base):
                    rows, ups = [_wide(universal.lora_A), *rows], [universal.scaling * _wide(universal.lora_B), *ups]
                    universal_rank, universal_gated = universal.rank, False
                else:
                    _fold(base.weight, h_map)
            dtype = universal.lora_A.dtype
            fused = torch.cat([*rows, _wide(layer.router.weight)]).to(dtype)
            up = torch.cat(ups, dim=1).to(dtype)
        replacement = RoutedServingLinear(
            base,
            fused,
            up,
            universal_rank=universal_rank,
            num_experts=len(experts),
            rank=layer.expert_rank,
            slope=slope,
            universal_gated=universal_gated,
        )
        _replace(model.base_model, name, replacement)
    return _spent(model, "every domain (routed)")


def _spent(model: MoDULAModel, served: str) -> nn.Module:
    model.merged_domain = served
    return model.base_model.eval()


def save_merged(base_model: nn.Module, directory: str | Path, *, variant: str, domain: str, tokenizer=None) -> Path:
    """Writes a model returned by :func:`merge_domain` (and its tokenizer) as a Hugging Face folder; for Res the
    domain branches go beside it in ``modula_domain_branch.safetensors``, the base layers under their own names.
    The files are staged and swapped in as one set (:func:`lmcommon.outputs.replace_folder`)."""
    from lmcommon.outputs import replace_folder

    with replace_folder(directory) as staging:
        _write_merged(base_model, staging, variant=variant, domain=domain, tokenizer=tokenizer)
    return Path(directory)


def _write_merged(base_model: nn.Module, directory: Path, *, variant: str, domain: str, tokenizer) -> None:
    from safetensors.torch import save as safetensors_bytes

    from lmcommon.data import atomic_write

    merged = [(name, m) for name, m in base_model.named_modules() if isinstance(m, LowRankBranch)]
    for name, module in merged:  # the plain layers go in for the save, so the tensor names are the architecture's
        _replace(base_model, name, module.base_layer)
    try:
        base_model.save_pretrained(directory)
    finally:
        for name, module in merged:
            _replace(base_model, name, module)
    if tokenizer is not None:
        tokenizer.save_pretrained(directory)
    description: dict = {"variant": variant, "domain": domain, "branches": sorted(name for name, _ in merged)}
    if merged:
        branches = {f"{name}.{part}": getattr(m, part) for name, m in merged for part in ("down", "up")}
        data = safetensors_bytes({k: v.detach().contiguous().cpu() for k, v in branches.items()})
        with atomic_write(directory / BRANCH_WEIGHTS_NAME, "wb") as handle:
            handle.write(data)
        description["slope"] = merged[0][1].slope
    write_json(directory / MERGED_CONFIG_NAME, description)


def is_merged_folder(path: str | Path) -> bool:
    return (Path(path) / MERGED_CONFIG_NAME).is_file()


def load_merged(directory: str | Path, *, dtype=None, device: str | None = None, quantization=None):
    """Loads a folder written by :func:`save_merged`: ``(model, tokenizer)``, in eval mode; ``quantization``
    (:class:`lmcommon.quantization.Quantization`) holds its linear layers in 4/8 bits, the domain branches stay in
    float.

    Raises:
        FileNotFoundError: the folder is not a merged MoDULA model.
        DataError: the branch file is damaged.
        ValueError: its domain branches do not fit the model.
    """
    from safetensors.torch import load_file

    from lmcommon.errors import reading_saved_file
    from lmcommon.models import load_causal_lm

    directory = Path(directory)
    if not is_merged_folder(directory):
        raise FileNotFoundError(f"{directory / MERGED_CONFIG_NAME}: missing; not a merged MoDULA model")
    description = read_json(directory / MERGED_CONFIG_NAME)
    model, tokenizer = load_causal_lm(directory, dtype=dtype, device=device, quantization=quantization)
    if not description.get("branches"):
        return model, tokenizer
    path = directory / BRANCH_WEIGHTS_NAME
    with reading_saved_file(path):
        tensors = load_file(str(path))
    for name in description["branches"]:
        base = model.get_submodule(name)
        down, up = tensors.get(f"{name}.down"), tensors.get(f"{name}.up")
        if down is None or up is None or down.shape[1] != base.in_features or up.shape[0] != base.out_features:
            raise ValueError(f"{path}: the branch of {name} is missing or does not fit the model")
        # as the adapters were: float32 under a half-precision base, the compute dtype under a 4/8-bit one
        dtype = adapter_dtype(base, model)
        move = {"device": base.weight.device, "dtype": dtype}
        _replace(model, name, LowRankBranch(base, down.to(**move), up.to(**move), description["slope"]))
    return model.eval(), tokenizer


def _replace(root: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child_name = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child_name, module)
