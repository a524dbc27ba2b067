"""Choosing a stage's learning rate on a dev split: the stage trains once per candidate from the same starting
point, and the candidate whose model has the lowest loss on held-out responses wins.

Few optimizer steps make the learning rate the setting that decides whether a stage learns anything (a Res
expert's output grows with |B_u|·|B_k|, both zero at the start), and every stage has its own: the routers start
from zero logits and have few parameters, the experts start from B = 0.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from modula.model import MoDULAModel

logger = logging.getLogger(__name__)


@dataclass
class LearningRateChoice:
    """The outcome of :func:`choose_learning_rate`: the dev loss (mean negative log-likelihood per response
    token) before training and after training with each candidate."""

    stage: str
    domain: str | None
    chosen: float
    before_dev_loss: float
    dev_loss: dict[float, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "dev_loss": {str(lr): loss for lr, loss in self.dev_loss.items()}}


def dev_loss(model, tokenizer, rows: Sequence[dict[str, Any]], max_length: int) -> float:
    """Mean negative log-likelihood per response token of ``rows`` (the log of the response perplexity)."""
    from modula.scoring import response_perplexity

    return math.log(response_perplexity(model, tokenizer, rows, max_length=max_length))


def choose_learning_rate(
    model: MoDULAModel,
    stage: str,
    rows: Sequence[dict[str, Any]],
    dev_rows: Sequence[dict[str, Any]],
    candidates: Sequence[float],
    args,
    *,
    tokenizer,
    domain: str | None = None,
    max_length: int = 512,
    samples_per_domain: int | None = None,
    routing_loss_weight: float = 0.0,
) -> LearningRateChoice:
    """Trains ``stage`` of ``model`` on ``rows`` once per learning rate in ``candidates`` (every other setting
    from ``args``), each time from the parameters the model has now, scores each result on ``dev_rows`` and
    returns the choice (``routing_loss_weight``: the router stage's supervised term, see
    :func:`modula.train.train_stage`). The model is left as it was.

    Raises:
        ValueError: no candidates, a candidate <= 0, or no dev rows.
    """
    from modula.train import train_stage

    if not candidates or any(lr <= 0 for lr in candidates):
        raise ValueError(f"candidates must be positive learning rates, got {list(candidates)}")
    if not dev_rows:
        raise ValueError("choosing a learning rate needs dev rows")
    model.set_stage(stage, domain)
    start = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}
    model.set_stage("inference")
    before = dev_loss(model, tokenizer, dev_rows, max_length)
    losses: dict[float, float] = {}
    for lr in candidates:
        trial = copy.copy(args)
        trial.learning_rate = lr
        try:
            train_stage(
                model,
                stage,
                rows,
                trial,
                tokenizer=tokenizer,
                domain=domain,
                max_length=max_length,
                samples_per_domain=samples_per_domain,
                routing_loss_weight=routing_loss_weight,
            )
            losses[lr] = dev_loss(model, tokenizer, dev_rows, max_length)
        finally:
            _restore(model, start)  # every candidate starts from the same weights, and the caller gets them back
        logger.info("%s learning rate %g: dev loss %.4f (before: %.4f)", stage, lr, losses[lr], before)
    chosen = min(losses, key=losses.get)
    return LearningRateChoice(stage=stage, domain=domain, chosen=chosen, before_dev_loss=before, dev_loss=losses)


def _restore(model: MoDULAModel, values: dict) -> None:
    import torch

    parameters = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in values.items():
            parameters[name].copy_(value)
