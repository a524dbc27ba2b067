"""Command-line flags generated from dataclasses, as in the transformers example scripts: a method's config and
``transformers.TrainingArguments`` are parsed together by ``HfArgumentParser``'s rules, so every Trainer option
(``--deepspeed``, ``--fsdp``, ``--bf16``, ``--gradient_checkpointing``, ...) is reachable from each training command
and a config's defaults and help are written once, on its fields.

Building these flags imports transformers (and, for ``TrainingArguments``, torch); the packages' CLIs therefore
add them from a :class:`lmcommon.cli.LazyParser` hook, when the training command is used.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# Not offered: the run folder comes from the command's --output, and every CLI's own --debug and --log-level
# (tracebacks, Python logging) would be overwritten by these fields of the same name.
_NOT_OFFERED = frozenset({"output_dir", "debug", "log_level"})

# What every training command starts from unless a flag says otherwise (TrainingArguments' own defaults aim at
# long GPU runs: a checkpoint every 500 steps, all kept, seed 42).
TRAINER_DEFAULTS: dict[str, Any] = {
    "save_strategy": "steps",
    "save_total_limit": 2,
    "seed": 0,
    "report_to": "none",
    # None: chosen for the device at run time (lmcommon.training.mixed_precision / a CUDA check)
    "bf16": None,
    "fp16": None,
    "dataloader_pin_memory": None,
}

# The short names the packages' commands have always taken, kept beside TrainingArguments' own.
SHORT_TRAINER_FLAGS: dict[str, tuple[str, type]] = {
    "--epochs": ("num_train_epochs", float),
    "--lr": ("learning_rate", float),
    "--batch-size": ("per_device_train_batch_size", int),
    "--grad-accum": ("gradient_accumulation_steps", int),
}


def add_dataclass_arguments(
    parser: argparse.ArgumentParser,
    dataclass_type: type,
    *,
    title: str | None = None,
    exclude: Iterable[str] = (),
    defaults: Mapping[str, Any] | None = None,
) -> argparse._ArgumentGroup:
    """Adds one flag per init field of ``dataclass_type`` (``--field_name`` and ``--field-name``; bools take an
    optional value; lists take several values; help from ``field.metadata["help"]``) in a group of ``parser``.

    Args:
        title: the group's heading in ``--help`` (default: the class name).
        exclude: fields the command sets itself.
        defaults: per-command defaults that replace the fields' own.
    """
    from transformers import HfArgumentParser

    group = parser.add_argument_group(title or dataclass_type.__name__)
    hints = typing.get_type_hints(dataclass_type)
    skip = set(exclude)
    for field in dataclasses.fields(dataclass_type):
        if not field.init or field.name in skip:
            continue
        field = copy.copy(field)  # the parser narrows field.type (Optional[X] -> X); the class keeps its own
        field.type = hints[field.name]
        HfArgumentParser._parse_dataclass_field(group, field)
    if defaults:
        parser.set_defaults(**defaults)
    return group


def add_trainer_arguments(parser: argparse.ArgumentParser, **defaults: Any) -> argparse._ArgumentGroup:
    """Every ``TrainingArguments`` field as a flag (but ``output_dir``, which the command derives from its
    ``--output``, and ``debug`` and ``log_level``, which the CLIs use for themselves), with
    :data:`TRAINER_DEFAULTS` and then ``defaults`` (the method's epochs, learning rate, batch size, ...) in place
    of transformers' own; the short names of :data:`SHORT_TRAINER_FLAGS`; and ``--resume`` to continue from the
    last checkpoint."""
    from transformers import TrainingArguments

    group = add_dataclass_arguments(
        parser,
        TrainingArguments,
        title="Trainer options (transformers.TrainingArguments; `accelerate launch` / `torchrun` scale them)",
        exclude=_NOT_OFFERED,
        defaults={**TRAINER_DEFAULTS, **defaults},
    )
    for alias, (name, value_type) in SHORT_TRAINER_FLAGS.items():
        # SUPPRESS: the alias sets the field only when given, so the field's own default stands otherwise
        group.add_argument(alias, dest=name, type=value_type, default=argparse.SUPPRESS, help=f"short for --{name}")
    group.add_argument("--resume", action="store_true", help="continue from the last checkpoint in the run folder")
    return group


def dataclass_from_args(dataclass_type: type, args: argparse.Namespace, **overrides: Any):
    """An instance of ``dataclass_type`` from the parsed flags of :func:`add_dataclass_arguments` (fields without a
    flag keep their defaults) and ``overrides``."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(dataclass_type) if hasattr(args, f.name)}
    return dataclass_type(**{**values, **overrides})


def training_arguments(args: argparse.Namespace, output_dir: str | Path):
    """``TrainingArguments`` from the flags of :func:`add_trainer_arguments`, writing checkpoints to
    ``output_dir``; bf16/fp16 and pinned memory left unset are chosen for the device."""
    import torch
    from transformers import TrainingArguments

    from lmcommon.training import mixed_precision

    values = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainingArguments)
        if f.init and f.name not in _NOT_OFFERED and hasattr(args, f.name)
    }
    if values.get("bf16") is None and values.get("fp16") is None:
        values.update(mixed_precision())
    values = {name: (False if name in ("bf16", "fp16") and v is None else v) for name, v in values.items()}
    if values.get("dataloader_pin_memory") is None:
        values["dataloader_pin_memory"] = torch.cuda.is_available()
    return TrainingArguments(**{**values, "output_dir": str(output_dir)})
