"""Path arguments that say what they are: a command's inputs and outputs are known from the types of its arguments,
so :func:`lmcommon.cli.run` checks every command the same way before any work (no command can forget one).

- :func:`input_path`: a file or folder the command reads (a model name that is not a path is fine too).
- :func:`output_file`: one file, written atomically.
- :func:`output_folder`: a set of files written as a whole (staged and swapped in; name the files when fixed).
- :func:`run_folder`: a folder the command creates or continues (a model being trained, an experiment): locked
  while the command runs; what it saves is swapped in whole by the library.

The checks: an output that is one of the inputs (any spelling, symlink or hard link), an output folder that
holds an input it would replace, an existing device, FIFO or socket as an output, a folder given as an output
file or a file as an output folder: each refused in one line naming both flags.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lmcommon.outputs import refuse_special_file

INPUT = "input"
OUTPUT_FILE = "output file"
OUTPUT_FOLDER = "output folder"
RUN_FOLDER = "run folder"

_ROLE = "path_role"
_FILES = "path_files"


def _typed(role: str, name: str, files: tuple[str, ...] = ()) -> Callable[[str], str]:
    def convert(value: str) -> str:
        if not value:
            raise argparse.ArgumentTypeError("an empty path")
        return value

    convert.__name__ = name  # argparse names the type in its messages
    setattr(convert, _ROLE, role)
    setattr(convert, _FILES, files)
    return convert


input_path = _typed(INPUT, "path")
output_file = _typed(OUTPUT_FILE, "output file")
run_folder = _typed(RUN_FOLDER, "folder")


def output_folder(*files: str) -> Callable[[str], str]:
    """The type of a folder written as one set; ``files``: the names it writes, when fixed (an input at one of
    them is refused; without names, any input inside the folder is)."""
    return _typed(OUTPUT_FOLDER, "folder", tuple(files))


def mark_input(convert: Callable[[str], str]) -> Callable[[str], str]:
    """Declares an existing argparse type (one that locates shipped data, say) an input path; returns it."""
    setattr(convert, _ROLE, INPUT)
    setattr(convert, _FILES, ())
    return convert


def role_of(action: argparse.Action) -> str | None:
    """The path role an argument was declared with, or None for a value that is not a path."""
    return getattr(action.type, _ROLE, None)


@dataclass(frozen=True)
class PathArgument:
    flag: str
    path: str
    role: str
    files: tuple[str, ...] = ()


def declared_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[PathArgument]:
    """Every path value of ``args`` whose argument in ``parser`` has a path type (defaults included)."""
    found = []
    for action in parser._actions:
        role = role_of(action)
        value = getattr(args, action.dest, None)
        if role is None or value is None:
            continue
        flag = action.option_strings[-1] if action.option_strings else action.dest
        for path in value if isinstance(value, list | tuple) else [value]:
            if path:
                found.append(PathArgument(flag, str(path), role, getattr(action.type, _FILES, ())))
    return found


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)  # hard links and symlinks included
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _inside(path: str, folder: str) -> bool:
    real, root = os.path.realpath(path), os.path.realpath(folder)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def check_paths(paths: list[PathArgument]) -> None:
    """Refuses, in one line, what would write over an input, a device or the wrong kind of path.

    Raises:
        ValueError: an output is an input, holds one it would replace, or is a device, FIFO or socket.
        IsADirectoryError: an output file is a folder.
        NotADirectoryError: an output folder is a file.
    """
    inputs = [p for p in paths if p.role == INPUT]
    for out in paths:
        if out.role == INPUT:
            continue
        refuse_special_file(out.path, f"{out.flag} path")
        if out.role == OUTPUT_FILE and os.path.isdir(out.path):
            raise IsADirectoryError(f"{out.flag} {out.path}: is a folder; a file was expected")
        if out.role != OUTPUT_FILE and os.path.lexists(out.path) and not os.path.isdir(out.path):
            raise NotADirectoryError(f"{out.flag} {out.path}: is a file; a folder was expected")
        for source in inputs:
            clash = _clash(out, source)
            if clash:
                raise ValueError(
                    f"{out.flag} {out.path} {clash} the {source.flag} input {source.path}: refusing to "
                    "write over an input"
                )
    _refuse_shared_outputs([p for p in paths if p.role != INPUT])


def _clash(out: PathArgument, source: PathArgument) -> str | None:
    if out.role == OUTPUT_FILE:
        return "is" if _same(out.path, source.path) else None
    if out.role == RUN_FOLDER:  # a run continues its own folder; inside it only the saved model is replaced
        return None
    if out.files:
        written = [os.path.join(out.path, name) for name in out.files]
        if any(_same(path, source.path) for path in written) or _same(out.path, source.path):
            return "would replace"
        return None
    if _same(out.path, source.path):
        return "is"
    return "holds" if _inside(source.path, out.path) else None


def _refuse_shared_outputs(outputs: list[PathArgument]) -> None:
    for index, first in enumerate(outputs):
        for second in outputs[index + 1 :]:
            if _same(first.path, second.path):
                raise ValueError(f"{first.flag} and {second.flag} name the same path {first.path}")


def folders_to_lock(paths: list[PathArgument]) -> Iterator[Path]:
    """The folders a command writes: each is locked while the command runs."""
    for path in paths:
        if path.role in (OUTPUT_FOLDER, RUN_FOLDER):
            yield Path(path.path)
