"""Command-line helpers shared by the packages' CLIs, and the ``lmcommon`` command itself."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lmcommon.errors import DataError, MissingModelPackageError, QuantizationUnavailableError
from lmcommon.logs import setup_logging
from lmcommon.outputs import FolderLockedError, folder_lock
from lmcommon.paths import check_paths, declared_paths, folders_to_lock, input_path, mark_input

COMMAND_DEST = "command"

# Errors caused by the user's input or machine: shown as one line, without a traceback (unless --debug).
USER_ERRORS = (
    DataError,
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
    MissingModelPackageError,
    QuantizationUnavailableError,
    ValueError,
    FolderLockedError,
)
# errors of the machine rather than the command (a full disk, a read-only file system): one line, not a traceback
_MACHINE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def repository_data(value: str) -> str:
    """An argparse ``type`` for files and folders whose defaults lie in the repository's ``data/``, so that demos run
    from any folder: the value as given when it exists (or is absolute), else the same relative path under the
    source checkout this package is installed from (an editable install), else a one-line error.

    Raises:
        argparse.ArgumentTypeError: found in neither place (argparse prints it and exits with status 2).
    """
    return _located(value, None)


repository_data.path_role = "input"  # see lmcommon.paths: a path this type yields is one the command reads


def shipped_data(package: str) -> Callable[[str], str]:
    """:func:`repository_data` for a method whose wheel carries a demo copy of its data (``<package>/demo/``): from
    an installed wheel, outside the repository, the default paths read that copy (see :mod:`lmcommon.shipped`).

    Args:
        package: the import name of the method (``"pesc"``).
    """

    def located(value: str) -> str:
        return _located(value, package)

    located.__name__ = "path"  # argparse names the type in its messages
    return mark_input(located)


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
    subcommands = parser.add_subparsers(
        title="commands", metavar="COMMAND", dest=COMMAND_DEST, parser_class=_SubcommandParser
    )
    return parser, subcommands


class _SubcommandParser(LazyParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsShownFormatter)
        super().__init__(*args, **kwargs)


def _one_line(error: Exception) -> str:
    """The message for a user error; an OS error as ``path: reason`` rather than ``[Errno 2] reason: 'path'``."""
    if isinstance(error, OSError) and error.errno in _MACHINE_ERRNOS:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or error}; nothing was replaced: the previous outputs are kept"
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def _chosen_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser | None:
    """The sub-command parser that parsed ``args``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices.get(getattr(args, COMMAND_DEST, None) or "")
    return None


def _is_user_error(error: BaseException) -> bool:
    return isinstance(error, USER_ERRORS) or (isinstance(error, OSError) and error.errno in _MACHINE_ERRNOS)


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

    No sub-command prints the help (status 2); a user error prints ``prog: error: message`` (status 2). The
    command's path arguments (:mod:`lmcommon.paths`) are checked before any work: no output is one of its inputs
    or a device; every folder it writes is locked while it runs.
    """
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int | None] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    setup_logging(args.log_level)
    try:
        command = _chosen_command(parser, args)
        paths = declared_paths(command, args) if command is not None else []
        check_paths(paths)
        with contextlib.ExitStack() as locks:
            # under torchrun / accelerate launch every rank runs the command; the main one holds the locks
            if os.environ.get("RANK", "0") in ("", "0"):
                for folder in folders_to_lock(paths):
                    locks.enter_context(folder_lock(folder))
            return func(args) or 0
    except BrokenPipeError:
        # the reader went away (`pesc correct ... | head -1`): stop quietly, as Unix tools do; stdout is pointed
        # at /dev/null so that the interpreter's final flush does not raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:
        if args.debug or not _is_user_error(error):
            raise
        print(f"{parser.prog}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
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
    check.add_argument(
        "--causal-lm", default="default", type=input_path, help="causal LM name or path (default: packaged SmolLM2)"
    )
    check.add_argument(
        "--encoder", default="default", type=input_path, help="encoder name or path (default: packaged MiniLM)"
    )
    check.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    check.set_defaults(func=_check_models)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser(), argv)
