"""The routing signal: each domain's answer loss under every expert alone, under the routed mixture and under the
universal expert alone.

The routers learn only from the difference the experts make to the loss. If a domain's own expert alone scores far
below the other experts but the mixture is already close to it, the routers have little left to gain and little
gradient to learn from, whatever weights they give; if the mixture is far above the own expert, routing is
leaving loss on the table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from modula.scoring import response_perplexity


def answer_loss(model, tokenizer, rows: Sequence[dict[str, Any]], *, max_length: int, batch_size: int) -> float:
    """Mean cross-entropy (nats) per response token of ``rows`` (``prompt``/``response``), chat-formatted."""
    return math.log(response_perplexity(model, tokenizer, rows, max_length=max_length, batch_size=batch_size))


def expert_losses(
    model,
    tokenizer,
    rows_by_domain: Mapping[str, Sequence[dict[str, Any]]],
    *,
    max_length: int = 256,
    batch_size: int = 8,
) -> dict[str, dict[str, Any]]:
    """Answer loss of each group of rows under each expert alone (:meth:`MoDULAModel.expert_path_only`), the
    routed mixture and the universal expert alone.

    Args:
        model: a :class:`modula.model.MoDULAModel`; its stage and training mode are left as they were.
        tokenizer: its tokenizer.
        rows_by_domain: ``{domain: rows}``; a domain without an expert of its name (not plugged in yet) is measured
            all the same, with no own expert.

    Returns:
        ``{domain: {"experts": {expert: loss}, "mixture", "universal", "best_expert", "own_expert" (its loss or
        None), "routing_gap" (mixture minus the best expert alone: what routing all the way to it would save)}}``.

    Raises:
        ValueError: a group has no rows.
    """
    measured = {}
    for domain, rows in rows_by_domain.items():
        if not rows:
            raise ValueError(f"no rows for {domain!r}")

        def loss(rows=rows) -> float:
            return answer_loss(model, tokenizer, rows, max_length=max_length, batch_size=batch_size)

        experts = {}
        for expert in model.domains:
            with model.expert_path_only(expert):
                experts[expert] = loss()
        with model.mixture_path_only():
            mixture = loss()
        with model.universal_path_only():
            universal = loss()
        best = min(experts, key=experts.__getitem__) if experts else None
        measured[domain] = {
            "experts": experts,
            "mixture": mixture,
            "universal": universal,
            "best_expert": best,
            "own_expert": experts.get(domain),
            "routing_gap": None if best is None else mixture - experts[best],
        }
    return measured
