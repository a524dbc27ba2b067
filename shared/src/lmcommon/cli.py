"""Command-line helpers shared by the packages' CLIs, and the ``lmcommon`` command itself."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from lmcommon.errors import DataError, MissingModelPackageError
from lmcommon.logs import setup_logging

# Errors caused by the user's input or machine: shown as one line, without a traceback (unless --debug).
USER_ERRORS = (
    DataError,
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
    MissingModelPackageError,
    ValueError,
)


def refuse_overwriting_inputs(inputs: Mapping[str, str | None], outputs: Mapping[str, str | None]) -> None:
    """Stops a command before it writes over one of its own inputs (``--output`` given the ``--data`` file).

    Args:
        inputs: flag -> path read (None: not given).
        outputs: flag -> path written (None: not given); for a folder output, name each file written in it.

    Raises:
        ValueError: an output is one of the inputs (both flags named).
    """
    read = {flag: Path(path).resolve() for flag, path in inputs.items() if path}
    for out_flag, out_path in outputs.items():
        if not out_path:
            continue
        written = Path(out_path).resolve()
        for in_flag, path in read.items():
            if path == written:
                raise ValueError(f"{out_flag} {out_path} is the {in_flag} file: refusing to write over an input")


def repository_data(value: str) -> str:
    """An argparse ``type`` for files and folders whose defaults lie in the repository's ``data/``, so that demos run
    from any folder: the value as given when it exists (or is absolute), else the same relative path under the
    source checkout this package is installed from (an editable install), else a one-line error.

    Raises:
        argparse.ArgumentTypeError: found in neither place (argparse prints it and exits with status 2).
    """
    return _located(value, None)


def shipped_data(package: str) -> Callable[[str], str]:
    """:func:`repository_data` for a method whose wheel carries a demo copy of its data (``<package>/demo/``): from
    an installed wheel, outside the repository, the default paths read that copy (see :mod:`lmcommon.shipped`).

    Args:
        package: the import name of the method (``"pesc"``).
    """

    def located(value: str) -> str:
        return _located(value, package)

    located.__name__ = "path"  # argparse names the type in its messages
    return located


def _located(value: str, package: str | None) -> str:
    from lmcommon.shipped import find_data

    try:
        found = find_data(value, package)
    except FileNotFoundError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value if found == Path(value) else str(found)


class LazyParser(argparse.ArgumentParser):
    """A sub-command parser that adds part of its flags on first use (parsing or help): flags generated from
    ``TrainingArguments`` import torch and transformers, which would slow every other command's start.

    ``populate`` is called once with the parser; it is passed through ``add_parser(name, populate=...)``.
    """

    def __init__(self, *args, populate: Callable[[argparse.ArgumentParser], None] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._populate = populate

    def populate(self) -> argparse.ArgumentParser:
        """Adds the deferred flags now (idempotent); returns the parser."""
        hook, self._populate = self._populate, None
        if hook is not None:
            hook(self)
        return self

    def parse_known_args(self, args=None, namespace=None):
        self.populate()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self.populate()
        return super().format_help()

    def format_usage(self) -> str:
        self.populate()
        return super().format_usage()


class DefaultsShownFormatter(argparse.HelpFormatter):
    """Appends ``(default: X)`` to a flag's help unless the help already speaks of its default or there is none
    to show (None, False, or a flag that is absent unless given)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        nothing_to_show = any(action.default is value for value in (None, False, argparse.SUPPRESS))
        if not action.option_strings or "default" in text or nothing_to_show:
            return text
        return f"{text} (default: %(default)s)"


def make_parser(
    prog: str, description: str, version: str
) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """A parser with ``--version``, ``--log-level`` and ``--debug``, and the sub-command group to fill; its
    sub-commands are :class:`LazyParser`s whose ``--help`` shows every flag's default."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--version", action="version", version=f"{prog} {version}")
    parser.add_argument("--log-level", default="INFO", help="logging level (DEBUG, INFO, WARNING, ...)")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    subcommands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_SubcommandParser)
    return parser, subcommands


class _SubcommandParser(LazyParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsShownFormatter)
        super().__init__(*args, **kwargs)


def _one_line(error: Exception) -> str:
    """The message for a user error; an OS error as ``path: reason`` rather than ``[Errno 2] reason: 'path'``."""
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def _refuse_declared_overwrites(args: argparse.Namespace) -> None:
    """Applies :func:`refuse_overwriting_inputs` to the flags a sub-command declared with
    ``set_defaults(reads=("data", ...), writes=("output", ...))`` (argparse dests)."""

    def flags(dests: Sequence[str]) -> dict[str, str | None]:
        return {"--" + dest.replace("_", "-"): getattr(args, dest, None) for dest in dests}

    reads, writes = getattr(args, "reads", ()), getattr(args, "writes", ())
    if reads and writes:
        refuse_overwriting_inputs(flags(reads), flags(writes))


def close_process_group() -> None:
    """Destroys the default torch.distributed process group if this process joined one (a command run under
    ``accelerate launch`` or ``torchrun``). Left to interpreter shutdown, gloo's worker threads can still hold
    tensors and abort the process (SIGABRT, "terminate called without an active exception") after the work is
    done. Imports nothing: without torch loaded there is no group."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    distributed = torch.distributed
    if distributed.is_available() and distributed.is_initialized():
        distributed.destroy_process_group()


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parses ``argv``, runs the chosen sub-command's ``func(args)`` and returns the exit status.

    No sub-command prints the help (status 2); a user error prints ``prog: error: message`` (status 2). A
    sub-command that declares ``set_defaults(reads=(...), writes=(...))`` never writes over one of its inputs.
    """
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int | None] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    setup_logging(args.log_level)
    try:
        _refuse_declared_overwrites(args)
        return func(args) or 0
    except USER_ERRORS as error:
        if args.debug:
            raise
        print(f"{parser.prog}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`pesc correct ... | head -1`): stop quietly, as Unix tools do; stdout is pointed
        # at /dev/null so that the interpreter's final flush does not raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    finally:  # also after an error: a process in a distributed group leaves it cleanly
        close_process_group()


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
