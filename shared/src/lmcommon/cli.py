"""Command-line helpers shared by the packages' CLIs, and the ``lmcommon`` command itself."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lmcommon.errors import DataError, MissingModelPackageError
from lmcommon.logs import setup_logging

# Errors caused by the user's input or machine: shown as one line, without a traceback (unless --debug).
USER_ERRORS = (DataError, FileNotFoundError, MissingModelPackageError, ValueError)


def repository_data(value: str) -> str:
    """An argparse ``type`` for files and folders whose defaults lie in the repository's ``data/``, so that demos run
    from any folder: the value as given when it exists (or is absolute), else the same relative path under the
    source checkout this package is installed from (an editable install), else a one-line error.

    Raises:
        argparse.ArgumentTypeError: found in neither place (argparse prints it and exits with status 2).
    """
    path = Path(value)
    if path.exists() or path.is_absolute():
        return value
    for folder in Path(__file__).resolve().parents:
        if (folder / path).exists():
            return str(folder / path)
    raise argparse.ArgumentTypeError(
        f"{value}: not found in {Path.cwd()} nor in a source checkout of this package; pass its path (the shipped "
        "data sets are in the repository's data/ folder, not in the wheel)"
    )


def make_parser(
    prog: str, description: str, version: str
) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """A parser with ``--version``, ``--log-level`` and ``--debug``, and the sub-command group to fill."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--version", action="version", version=f"{prog} {version}")
    parser.add_argument("--log-level", default="INFO", help="logging level (DEBUG, INFO, WARNING, ...)")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    subcommands = parser.add_subparsers(title="commands", metavar="COMMAND")
    return parser, subcommands


def add_training_arguments(
    parser: argparse.ArgumentParser,
    *,
    epochs: float,
    batch_size: int,
    lr: float,
    save_steps: int,
    logging_steps: int,
) -> argparse._ArgumentGroup:
    """The Trainer flags every training command shares (defaults differ per method); see
    :func:`training_arguments`."""
    group = parser.add_argument_group("training")
    group.add_argument("--epochs", type=float, default=epochs, help="passes over the data (ignored with --max-steps)")
    group.add_argument("--max-steps", type=int, default=-1, help="optimizer steps; overrides --epochs when > 0")
    group.add_argument("--batch-size", type=int, default=batch_size, help="examples per device per step")
    group.add_argument("--grad-accum", type=int, default=1, help="gradient accumulation steps")
    group.add_argument("--lr", type=float, default=lr, help="peak learning rate")
    group.add_argument("--warmup-steps", type=int, default=0, help="steps of linear learning-rate warm-up")
    group.add_argument("--seed", type=int, default=0, help="data order and initialisation (default: 0)")
    group.add_argument("--save-steps", type=int, default=save_steps, help="checkpoint every N steps (resumable)")
    group.add_argument("--logging-steps", type=int, default=logging_steps, help="log the loss every N steps")
    group.add_argument("--resume", action="store_true", help="resume from the last checkpoint")
    return group


def training_arguments(args: argparse.Namespace, output_dir: str | Path):
    """Hugging Face ``TrainingArguments`` from the flags of :func:`add_training_arguments`: step checkpoints
    (two kept), mixed precision on CUDA (:func:`lmcommon.training.mixed_precision`), no external loggers.
    Needs transformers."""
    import torch
    from transformers import TrainingArguments

    from lmcommon.training import mixed_precision

    return TrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size,
        gradient_accumulation_steps=args.grad_accum,
        learning_rate=args.lr,
        warmup_steps=args.warmup_steps,
        logging_steps=args.logging_steps,
        save_strategy="steps",
        save_steps=args.save_steps,
        save_total_limit=2,
        seed=args.seed,
        report_to=[],
        **mixed_precision(),
        dataloader_pin_memory=torch.cuda.is_available(),
    )


def _one_line(error: Exception) -> str:
    """The message for a user error; an OS error as ``path: reason`` rather than ``[Errno 2] reason: 'path'``."""
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parses ``argv``, runs the chosen sub-command's ``func(args)`` and returns the exit status.

    No sub-command prints the help (status 2); a user error prints ``prog: error: message`` (status 2).
    """
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int | None] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    setup_logging(args.log_level)
    try:
        return func(args) or 0
    except USER_ERRORS as error:
        if args.debug:
            raise
        print(f"{parser.prog}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130


def _check_models(args: argparse.Namespace) -> int:
    from lmcommon.embeddings import encode_texts
    from lmcommon.generation import generate_replies
    from lmcommon.models import load_causal_lm, load_encoder

    started = time.perf_counter()
    model, tokenizer = load_causal_lm(args.causal_lm, device=args.device)
    print(f"causal LM loaded in {time.perf_counter() - started:.1f} s")
    question = "What is the capital of France?"
    print(f"Q: {question}\nA: {generate_replies(model, tokenizer, [question], max_new_tokens=24)[0]}")

    started = time.perf_counter()
    encoder, encoder_tokenizer = load_encoder(args.encoder, device=args.device)
    print(f"encoder loaded in {time.perf_counter() - started:.1f} s")
    anchor = "A man is eating food."
    others = ["A man is eating a piece of bread.", "The stock market fell sharply."]
    vectors = encode_texts(encoder, encoder_tokenizer, [anchor, *others])
    for text, vector in zip(others, vectors[1:], strict=True):
        print(f"cos({anchor!r}, {text!r}) = {float(vectors[0] @ vector):.3f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from lmcommon import __version__

    parser, subcommands = make_parser(
        "lmcommon", "Shared utilities of the modula, pesc and htcgen packages.", __version__
    )
    check = subcommands.add_parser(
        "check-models", help="load the default models (converting SmolLM2 once) and try each on one example"
    )
    check.add_argument("--causal-lm", default="default", help="causal LM name or path (default: packaged SmolLM2)")
    check.add_argument("--encoder", default="default", help="encoder name or path (default: packaged MiniLM)")
    check.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    check.set_defaults(func=_check_models)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
