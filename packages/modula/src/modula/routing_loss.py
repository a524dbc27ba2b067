"""An optional supervised term for the router stage: the rows of stage 3 carry their domain, so the routers can be
told which expert a row belongs to, besides learning from the language-model loss alone.

The paper trains the routers on the language-model loss only (``routing_loss_weight=0``, the default). Measured in
this project (docs/modula.md, "The routers do not specialise"), that loss leaves the routers near an even split:
the mixture at even weights already gets most of what each domain's own expert gives, so the loss has little to
gain by moving. Mixture-of-LoRAs (Feng et al., 2024) trains its router with the domain label instead. This module
adds that signal as a second term: for every router, the mean of its weights over a row's real tokens is read as
a distribution over the domain experts, and the term is the negative log of the row's own domain under it,
averaged over routers and rows. Averaging over tokens first leaves the routers free to mix on tokens every domain
shares (the chat template), as long as the row as a whole goes to its expert.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from lmcommon.sft import ChatCollator

DOMAIN_INDEX = "domain_index"  # the batch key that carries each row's domain expert (a position in domain_outputs)


def domain_outputs(router_outputs: Sequence[str]) -> list[int]:
    """The router columns that are domain experts: all of Res's; Flan's after its universal column."""
    return [i for i, name in enumerate(router_outputs) if name != "universal"]


def domain_indices(rows: Sequence[dict[str, Any]], domains: Sequence[str]) -> list[int]:
    """Each row's domain as its position in ``domains`` (the model's domain experts, in router order).

    Raises:
        ValueError: a row without a ``domain`` field, or with a domain the model has no expert for.
    """
    position = {domain: i for i, domain in enumerate(domains)}
    indices = []
    for number, row in enumerate(rows, start=1):
        domain = row.get("domain")
        if domain not in position:
            raise ValueError(
                f"row {number}: the routing loss needs a 'domain' among the model's experts {list(domains)}, "
                f"got {domain!r}"
            )
        indices.append(position[domain])
    return indices


@dataclass
class DomainChatCollator(ChatCollator):
    """:class:`lmcommon.sft.ChatCollator` that also batches each example's ``domain_index`` (the parent reads only
    the text fields by name, so the examples go to it as they are)."""

    def __call__(self, features: list[dict[str, Any]]):
        batch = super().__call__(features)
        batch[DOMAIN_INDEX] = torch.tensor([f[DOMAIN_INDEX] for f in features], dtype=torch.long)
        return batch


@contextmanager
def captured_router_weights(model) -> Iterator[list[torch.Tensor]]:
    """Every router's output of the forward passes run inside the block, in call order, with their graphs (the
    model's own ``record_router_weights`` keeps detached copies, for reading only)."""
    captured: list[torch.Tensor] = []
    hooks = [
        layer.router.register_forward_hook(lambda _module, _inputs, output: captured.append(output))
        for _, layer in model.modula_layers()
    ]
    try:
        yield captured
    finally:
        for hook in hooks:
            hook.remove()


def routing_nll(
    router_weights: Sequence[torch.Tensor],
    attention_mask: torch.Tensor,
    domain_index: torch.Tensor,
    columns: Sequence[int],
) -> torch.Tensor:
    """Mean over routers and rows of ``-log p(row's domain)``, where ``p`` is the router's weights on the domain
    columns, averaged over the row's real tokens and renormalised over those columns.

    Args:
        router_weights: one ``(batch, seq, outputs)`` tensor per router (softmax outputs).
        attention_mask: ``(batch, seq)``, 1 on real tokens.
        domain_index: ``(batch,)``, each row's domain as a position in ``columns``.
        columns: the router outputs that are domain experts (:func:`domain_outputs`).

    Raises:
        ValueError: no router weights (the model has no router that ran).
    """
    if not router_weights:
        raise ValueError("no router weights were captured: did the forward pass take the mixture path?")
    mask = attention_mask.unsqueeze(-1).to(torch.float32)
    tokens = mask.sum(dim=1).clamp(min=1.0)
    columns = list(columns)
    losses = []
    for weights in router_weights:
        per_row = (weights[..., columns].to(torch.float32) * mask).sum(dim=1) / tokens  # (batch, domains)
        per_row = per_row / per_row.sum(dim=-1, keepdim=True).clamp(min=1e-12)
        losses.append(torch.nn.functional.nll_loss(torch.log(per_row.clamp(min=1e-12)), domain_index))
    return torch.stack(losses).mean()
