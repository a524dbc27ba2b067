"""The training loop every package runs: the Hugging Face Trainer with the settings they share (mixed precision,
inputs passed through as they are, tokens counted), resumable from its checkpoints, and one report of what a run
cost and reached. ``accelerate launch`` / ``torchrun`` scale it unchanged."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def mixed_precision(device: str | None = None, *, bf16_on_cpu: bool = False) -> dict[str, bool]:
    """The ``TrainingArguments`` precision flags for ``device`` (None: the best available): bf16 on CUDA cards that
    support it, fp16 on older CUDA cards, neither on CPU or MPS (where the Trainer's float32 path is the safe one)
    unless ``bf16_on_cpu`` asks for CPU autocast to bfloat16 and the CPU runs it fast
    (:func:`lmcommon.device.cpu_bf16_supported`; the weights stay float32)."""
    import torch

    from lmcommon import device as devices

    chosen = devices.choose_device(device)
    if chosen == "cpu" and bf16_on_cpu and devices.cpu_bf16_supported():
        return {"bf16": True, "fp16": False}
    if chosen != "cuda":
        return {"bf16": False, "fp16": False}
    bf16 = torch.cuda.is_bf16_supported()
    return {"bf16": bf16, "fp16": not bf16}


@dataclass
class TrainingReport:
    """What one training run did: the figures every package reports and the cost comparisons are made of."""

    examples: int
    steps: int
    tokens_seen: int
    wall_time_s: float
    train_loss: float
    losses: list[float] = field(default_factory=list)  # every logged loss, in order

    @property
    def first_logged_loss(self) -> float | None:
        return self.losses[0] if self.losses else None

    @property
    def last_logged_loss(self) -> float | None:
        return self.losses[-1] if self.losses else None

    def as_dict(self) -> dict[str, Any]:
        """The fields plus the first and last logged loss (what a log line or a results file shows)."""
        return {
            **asdict(self),
            "first_logged_loss": self.first_logged_loss,
            "last_logged_loss": self.last_logged_loss,
        }


def run_training(
    model,
    args,
    train_dataset: Sequence[dict] | Any,
    data_collator,
    *,
    trainer_class=None,
    resume_from_checkpoint: str | bool | None = None,
    save_to: str | None = None,
    save_also: Callable[[Path], None] | None = None,
    **trainer_options: Any,
):
    """Trains ``model`` with ``args`` (``TrainingArguments``, copied, not changed) and returns
    ``(trainer, TrainingReport)``; the model is left in eval mode, its forward free of the mixed-precision
    autocast used for training (it predicts as it will once saved and loaded).

    Args:
        model: any ``nn.Module`` whose forward returns a loss for the collated batch.
        args: ``TrainingArguments``; the copy passes the rows through as they are (``remove_unused_columns``
            off) and counts the non-padding input tokens.
        train_dataset: rows the collator batches (a list or a ``torch.utils.data.Dataset``).
        data_collator: rows -> batch.
        trainer_class: a ``Trainer`` subclass (default: :class:`lmcommon.target_logits.TargetLogitsTrainer`, which
            computes a causal LM's vocabulary logits only where the loss reads them).
        resume_from_checkpoint: as ``Trainer.train`` takes it (``True``: the last complete checkpoint in
            ``output_dir``; see :func:`last_complete_checkpoint`).
        save_to: a folder for ``trainer.save_model`` after training: the saved files replace those of the folder as
            one set (staged beside it and swapped in; see :func:`lmcommon.outputs.replace_folder`).
        save_also: writes more files of that set into the folder it is given (settings saved with the model).
        **trainer_options: passed on to the trainer (``callbacks``, ``optimizers``, ``processing_class``, ...).
    """
    from lmcommon.target_logits import TargetLogitsTrainer

    args = copy.copy(args)
    args.remove_unused_columns = False  # the rows are already model inputs
    if args.include_num_input_tokens_seen in ("no", False, None):
        args.include_num_input_tokens_seen = "non_padding"  # tokens seen is one of the reported costs
    trainer = (trainer_class or TargetLogitsTrainer)(
        model=model, args=args, train_dataset=train_dataset, data_collator=data_collator, **trainer_options
    )
    explicit = resume_from_checkpoint is True  # the user's --resume, not a caller's own checkpoint path
    if explicit:  # the Trainer would take the newest folder, even one a kill left half-written
        resume_from_checkpoint = last_complete_checkpoint(args.output_dir)
        if resume_from_checkpoint is None:
            raise ValueError(f"nothing to resume: {args.output_dir} holds no complete checkpoint")
    resume_from_checkpoint = _same_run_or_fresh(args, len(train_dataset), resume_from_checkpoint, explicit)
    started = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    wall_time = time.perf_counter() - started
    if save_to is not None:
        _save_whole(trainer, Path(save_to), save_also)
    # Under bf16/fp16 accelerate wraps model.forward in autocast for training and leaves the wrapper on; without
    # this the trained model would go on predicting in half precision while the same weights saved and loaded
    # predict in float32.
    trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)
    model.eval()
    report = TrainingReport(
        examples=len(train_dataset),
        steps=trainer.state.global_step,
        tokens_seen=int(trainer.state.num_input_tokens_seen),
        wall_time_s=wall_time,
        train_loss=float(output.training_loss),
        losses=[float(entry["loss"]) for entry in trainer.state.log_history if "loss" in entry],
    )
    return trainer, report


def _save_whole(trainer, folder: Path, save_also: Callable[[Path], None] | None) -> None:
    """``trainer.save_model`` into a staging folder that the main process swaps in whole: killed during the save,
    the folder keeps the model it had. Every process takes part in the save (DeepSpeed and FSDP gather the
    weights collectively); only the main one writes."""
    from lmcommon.outputs import replace_folder

    if not trainer.args.should_save:
        trainer.save_model(str(folder))
        return
    with replace_folder(folder) as staging:
        trainer.save_model(str(staging))
        if save_also is not None:
            save_also(staging)


def last_complete_checkpoint(folder: str | Path) -> str | None:
    """The newest ``checkpoint-N`` in ``folder`` that a save finished, or None.

    The Trainer writes a checkpoint's ``trainer_state.json`` after its weights, optimizer and random states, so a
    checkpoint whose state file is missing or does not parse was cut short (killed, disk full) and is skipped.
    """
    import json
    import re

    folder = Path(folder)
    if not folder.is_dir():
        return None
    numbered = []
    for entry in folder.iterdir():
        match = re.fullmatch(r"checkpoint-(\d+)", entry.name)
        if match and entry.is_dir():
            numbered.append((int(match.group(1)), entry))
    for _, entry in sorted(numbered, reverse=True):
        try:
            state = json.loads((entry / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(state, dict) and "global_step" in state:
            return str(entry)
    return None


# the Trainer settings that shape what a run computes: a checkpoint resumes only a run that had the same. How long it
# runs (epochs, max steps) is left out: resuming to train for longer is what --resume is also for.
_RUN_SETTINGS = (
    "learning_rate",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "seed",
    "weight_decay",
    "lr_scheduler_type",
    "warmup_steps",
    "optim",
)
RUN_SETTINGS_FILE = "run_settings.json"


def _same_run_or_fresh(args, examples: int, resume: str | None, explicit: bool) -> str | None:
    """Records the settings that shape this run beside its checkpoints, and checks a resume against them.

    Returns:
        ``resume``, or None where the checkpoints came from a run with other settings and the resume was not asked
        for by the user (one warning; the run starts again).

    Raises:
        ValueError: the user asked to resume (``--resume``) a run whose settings differ (both values named).
    """
    import json
    import logging

    from lmcommon.data import write_json

    settings = {name: getattr(args, name, None) for name in _RUN_SETTINGS}
    settings = json.loads(json.dumps({**settings, "examples": examples}, default=str))
    path = Path(args.output_dir) / RUN_SETTINGS_FILE
    if resume is not None and path.is_file():
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            recorded = {}
        changed = {k: (recorded.get(k), v) for k, v in settings.items() if recorded.get(k) != v}
        if changed:
            what = ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in sorted(changed.items()))
            if explicit:
                raise ValueError(
                    f"--resume: the checkpoints in {args.output_dir} belong to a run with other settings ({what}); "
                    "rerun without --resume to start again"
                )
            logging.getLogger(__name__).warning(
                "%s: the checkpoints belong to a run with other settings (%s); training starts again",
                args.output_dir,
                what,
            )
            resume = None
    if getattr(args, "should_save", True):
        write_json(path, settings)
    return resume
