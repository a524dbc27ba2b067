"""Command-line helpers shared by the packages' CLIs, and the ``lmcommon`` command itself."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

from lmcommon.errors import DataError, MissingModelPackageError
from lmcommon.logs import setup_logging

# Errors caused by the user's input or machine: shown as one line, without a traceback (unless --debug).
USER_ERRORS = (DataError, FileNotFoundError, MissingModelPackageError, ValueError)


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
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
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
