"""Router weights summarised per decoder layer and per group of prompts: what the paper's Figure 3 plots."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from lmcommon.generation import format_chat_prompt

_LAYER_INDEX = re.compile(r"(?:^|\.)(?:layers|h|blocks|layer)\.(\d+)\.")


def layer_index(module_name: str) -> int | None:
    """The decoder layer a module belongs to (``model.layers.3.mlp.up_proj`` -> 3), or None."""
    match = _LAYER_INDEX.search(module_name)
    return int(match.group(1)) if match else None


def per_layer_means(module_means: Mapping[str, torch.Tensor]) -> dict[int, list[float]]:
    """Averages the router weights of every adapted module of one decoder layer: ``{layer: [weight per output]}``.

    Modules outside numbered layers are put together under layer -1.
    """
    grouped: dict[int, list[torch.Tensor]] = defaultdict(list)
    for name, weights in module_means.items():
        index = layer_index(name)
        grouped[-1 if index is None else index].append(weights.float())
    return {layer: torch.stack(ws).mean(dim=0).tolist() for layer, ws in sorted(grouped.items())}


def domain_router_weights(
    model, tokenizer, prompts: Mapping[str, Sequence[str]], batch_size: int = 8
) -> dict[str, Any]:
    """Mean router weight per decoder layer and router output, for each named group of prompts.

    Args:
        model: a :class:`modula.model.MoDULAModel` in eval mode.
        tokenizer: its tokenizer (prompts are chat-formatted as in training).
        prompts: ``{group name (e.g. a domain): prompts}``.

    Returns:
        ``{"outputs": router outputs, "layers": layer indices, "groups": {name: [[weight per output] per layer]}}``;
        each group's weights are averaged over its prompts' real tokens.
    """
    device = next(model.parameters()).device
    groups = {}
    layers: list[int] = []
    for group, texts in prompts.items():
        if not texts:
            raise ValueError(f"no prompts for {group!r}")
        sums: dict[str, torch.Tensor] = {}
        tokens = 0
        for start in range(0, len(texts), batch_size):
            formatted = [format_chat_prompt(tokenizer, t) for t in texts[start : start + batch_size]]
            batch = tokenizer(formatted, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            count = int(batch["attention_mask"].sum())
            # token-weighted, so a group's mean does not depend on how it was batched
            for name, mean in model.mean_router_weights(batch["input_ids"], batch["attention_mask"]).items():
                sums[name] = sums.get(name, 0) + mean * count
            tokens += count
        per_layer = per_layer_means({name: total / tokens for name, total in sums.items()})
        layers = list(per_layer)
        groups[group] = [per_layer[layer] for layer in layers]
    return {"outputs": list(model.modula_config.router_outputs), "layers": layers, "groups": groups}


def own_expert_weights(weights: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """For every prompt group named after one of the router's outputs (a domain's test prompts), the weight the
    routers give that domain's own expert: per layer and the mean over layers. Groups without an expert of their
    name (a domain not plugged in yet) are left out.

    Args:
        weights: what :func:`domain_router_weights` returns.

    Returns:
        ``{domain: {"per_layer": [weight per layer], "overall": mean over layers}}``.
    """
    outputs = list(weights["outputs"])
    summary = {}
    for group, matrix in weights["groups"].items():
        if group not in outputs:
            continue
        column = outputs.index(group)
        per_layer = [row[column] for row in matrix]
        summary[group] = {"per_layer": per_layer, "overall": sum(per_layer) / len(per_layer)}
    return summary
