"""Training one MoDULA stage on the Hugging Face Trainer (so ``accelerate launch`` / ``torchrun`` scale it)."""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from transformers import Trainer, TrainingArguments

from lmcommon.data import write_json
from lmcommon.sft import ChatCollator, tokenize_rows
from lmcommon.target_logits import TargetLogitsTrainer
from lmcommon.training import TrainingReport, run_training
from modula.data import balanced_mix
from modula.model import MoDULAModel
from modula.routing_loss import (
    DOMAIN_INDEX,
    DomainChatCollator,
    captured_router_weights,
    domain_indices,
    domain_outputs,
    routing_nll,
)

logger = logging.getLogger(__name__)
TRAINABLE_STAGES = ("universal", "expert", "router", "joint")


@dataclass
class StageReport:
    """What one stage cost and reached; the figures the cost comparisons are made of."""

    stage: str
    domain: str | None
    trainable_parameters: int
    examples: int
    steps: int
    tokens_seen: int
    wall_time_s: float
    train_loss: float
    first_logged_loss: float | None
    last_logged_loss: float | None

    def save(self, path: str | Path) -> None:
        write_json(path, asdict(self))

    @classmethod
    def from_report(
        cls, stage: str, domain: str | None, trainable_parameters: int, report: TrainingReport
    ) -> StageReport:
        return cls(
            stage=stage,
            domain=domain,
            trainable_parameters=trainable_parameters,
            examples=report.examples,
            steps=report.steps,
            tokens_seen=report.tokens_seen,
            wall_time_s=report.wall_time_s,
            train_loss=report.train_loss,
            first_logged_loss=report.first_logged_loss,
            last_logged_loss=report.last_logged_loss,
        )


class MoDULATrainer(TargetLogitsTrainer):
    """A Trainer whose checkpoints hold only the adapters (one folder per expert, the routers, the config)
    instead of a full copy of the frozen base model, and that resumes from them.

    Args:
        routing_loss_weight: weight of :func:`modula.routing_loss.routing_nll` added to the language-model loss
            of batches that carry each row's domain (``domain_index``); 0 trains on the language-model loss only.
    """

    def __init__(self, *args, routing_loss_weight: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.routing_loss_weight = routing_loss_weight

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        domain_index = inputs.pop(DOMAIN_INDEX, None)
        if domain_index is None or not self.routing_loss_weight:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        modula = self.accelerator.unwrap_model(model)
        with captured_router_weights(modula) as router_weights:
            loss, outputs = super().compute_loss(model, inputs, True, num_items_in_batch)
        routing = routing_nll(
            router_weights,
            inputs["attention_mask"],
            domain_index,
            domain_outputs(modula.modula_config.router_outputs),
        )
        if self.model_accepts_loss_kwargs and num_items_in_batch is not None:
            # the language-model term is then already divided over the accumulated batch; this one is a batch mean
            routing = routing / self.current_gradient_accumulation_steps
        loss = loss + self.routing_loss_weight * routing
        return (loss, outputs) if return_outputs else loss

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        output_dir = output_dir or self.args.output_dir
        if not self.args.should_save:
            return
        self.accelerator.unwrap_model(self.model).save_pretrained(output_dir)
        if self.processing_class is not None:
            self.processing_class.save_pretrained(output_dir)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
        target = self.accelerator.unwrap_model(model if model is not None else self.model)
        target.load_adapters(resume_from_checkpoint)

    def _load_best_model(self) -> None:
        self.accelerator.unwrap_model(self.model).load_adapters(self.state.best_model_checkpoint)


def train_stage(
    model: MoDULAModel,
    stage: str,
    dataset: Sequence[dict[str, Any]],
    args: TrainingArguments,
    *,
    tokenizer,
    domain: str | None = None,
    max_length: int = 512,
    samples_per_domain: int | None = None,
    resume_from_checkpoint: str | bool | None = None,
    save_to: str | Path | None = None,
    callbacks: list | None = None,
    routing_loss_weight: float = 0.0,
) -> StageReport:
    """Trains one stage of ``model`` in place.

    Args:
        model: the MoDULA model; its stage is set here.
        stage: ``"universal"`` (general data), ``"expert"`` (one domain's data, needs ``domain``), ``"router"``
            (rows of every domain, with a ``domain`` field; a balanced mix is drawn) or ``"joint"`` (MoLoRA:
            everything trains on the mixed data).
        dataset: rows with ``prompt`` and ``response`` (see :func:`modula.data.read_chat_rows`).
        args: Trainer arguments (output_dir holds the resumable checkpoints, gradient accumulation, ...).
        tokenizer: the base model's tokenizer; its chat template formats the pairs.
        domain: the domain of the expert stage.
        max_length: longest tokenised example; longer ones are cut at the end.
        samples_per_domain: rows per domain in the router stage's mix (default: the largest domain's count).
        resume_from_checkpoint: True for the last checkpoint in ``args.output_dir``, or a checkpoint path.
        save_to: if given, the trained model is saved there (by the main process only).
        callbacks: extra Trainer callbacks.
        routing_loss_weight: router stage only: weight of the supervised routing term
            (:mod:`modula.routing_loss`: each row's mean router weights should name its own domain's expert);
            0, the default, trains the routers on the language-model loss alone, as the paper does.

    Returns:
        The stage's :class:`StageReport`.

    Raises:
        ValueError: a stage that does not train, a bad domain, data that does not fit the stage, or a routing loss
            weight that is negative or given to a stage other than the router's.
    """
    if stage not in TRAINABLE_STAGES:
        raise ValueError(f"stage {stage!r} does not train; expected one of {TRAINABLE_STAGES}")
    if routing_loss_weight < 0 or (routing_loss_weight and stage != "router"):
        raise ValueError(
            f"routing_loss_weight must be >= 0 and is for the router stage only, got {routing_loss_weight}"
        )
    model.set_stage(stage, domain)
    trainable_parameters = model.num_trainable_parameters()
    rows = list(dataset)
    if stage == "router":
        rows = balanced_mix(rows, model.domains, samples_per_domain, seed=args.seed)
    carry: tuple[str, ...] = ()
    if routing_loss_weight:
        indices = domain_indices(rows, model.domains)
        rows = [{**row, DOMAIN_INDEX: index} for row, index in zip(rows, indices, strict=True)]
        carry = (DOMAIN_INDEX,)
    examples = tokenize_rows(tokenizer, rows, max_length, carry=carry)
    label = stage if domain is None else f"{stage}:{domain}"
    logger.info("stage %s: %d examples, %d trainable parameters", label, len(examples), trainable_parameters)
    report = run_trainer(
        model,
        examples,
        args,
        tokenizer=tokenizer,
        trainer_class=functools.partial(MoDULATrainer, routing_loss_weight=routing_loss_weight),
        resume_from_checkpoint=resume_from_checkpoint,
        save_to=save_to,
        callbacks=callbacks,
        collator=DomainChatCollator(tokenizer.pad_token_id) if routing_loss_weight else None,
    )
    model.set_stage("inference")
    return StageReport.from_report(stage, domain, trainable_parameters, report)


def run_trainer(
    model,
    examples: Sequence[dict[str, list[int]]],
    args: TrainingArguments,
    *,
    tokenizer,
    trainer_class: type[Trainer] | functools.partial = TargetLogitsTrainer,
    resume_from_checkpoint: str | bool | None = None,
    save_to: str | Path | None = None,
    callbacks: list | None = None,
    collator: ChatCollator | None = None,
) -> TrainingReport:
    """Trains ``model`` on tokenised chat examples with the loss on the responses (lmcommon's runner); every stage
    and the LoRA baseline go through it, so that their costs are measured the same way."""
    if tokenizer.pad_token_id is None:
        raise ValueError("the tokenizer has no pad token; set tokenizer.pad_token (load_causal_lm does)")
    args = copy.copy(args)  # the caller's arguments stay as they were
    if args.ddp_find_unused_parameters is None:
        args.ddp_find_unused_parameters = False  # every stage uses all of its trainable parameters in each forward
    _, report = run_training(
        model,
        args,
        list(examples),
        collator or ChatCollator(tokenizer.pad_token_id),
        trainer_class=trainer_class,
        resume_from_checkpoint=resume_from_checkpoint,
        save_to=None if save_to is None else str(save_to),
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    return report
