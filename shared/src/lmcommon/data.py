"""Reading text, JSON and JSONL input with validation (errors name the file and line), and atomic writing."""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import gzip
import json
import os
import secrets
import stat
import sys
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from lmcommon.errors import DataError

T = TypeVar("T")


def _undecodable(path: str | Path, data: bytes, error: UnicodeDecodeError, first_line: int = 1) -> DataError:
    """The error for bytes that are not UTF-8, naming the line and the offending byte."""
    line_start = data.rfind(b"\n", 0, error.start) + 1
    return DataError(
        f"not UTF-8 text (byte 0x{data[error.start]:02x} at column {error.start - line_start + 1})",
        path=path,
        line=first_line + data.count(b"\n", 0, error.start),
    )


def iter_text_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yields ``(line number, line)`` of a UTF-8 text file (plain or ``.gz``), the line without its line end.

    Raises:
        FileNotFoundError: the file does not exist.
        IsADirectoryError: ``path`` is a folder.
        DataError: a line is not UTF-8 (file, line and column named).
    """
    path = Path(path)
    with _open_bytes(path) as handle, _reading_gzip(path):
        yield from _decoded_lines(handle, path)


def _open_bytes(path: Path) -> IO[bytes]:
    """``path`` opened for reading bytes, decompressed when it ends in ``.gz``. Any readable file that is not a
    folder will do: a FIFO, ``/dev/stdin``, a shell's process substitution (``<(zcat rows.gz)``)."""
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder; a file was expected")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


@contextlib.contextmanager
def _reading_gzip(path: Path) -> Iterator[None]:
    """A ``.gz`` file that is truncated or not gzip at all: one DataError naming it, not zlib's traceback."""
    try:
        yield
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        if path.suffix != ".gz":
            raise
        raise DataError(f"damaged gzip file ({type(error).__name__}: {error})", path=path) from None


def _without_line_end(line: str) -> str:
    return line.rstrip("\n").removesuffix("\r")


def _decoded_lines(handle: IO[bytes], name: str | Path) -> Iterator[tuple[int, str]]:
    for line_number, raw in enumerate(handle, start=1):
        if line_number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)  # Windows editors start UTF-8 files with a byte-order mark
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _undecodable(name, raw, error, line_number) from None
        yield line_number, _without_line_end(line)


def read_text_lines(path: str | Path) -> list[str]:
    """The lines of a UTF-8 text file; see :func:`iter_text_lines` for the errors."""
    return [line for _, line in iter_text_lines(path)]


def read_stdin_lines() -> list[str]:
    """The lines of standard input, read as UTF-8 whatever the locale says.

    Raises:
        DataError: a line is not UTF-8 (``<stdin>``, line and column named).
    """
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # already text: a StringIO, or an application that replaced sys.stdin
        return [_without_line_end(line) for line in sys.stdin]
    return [line for _, line in _decoded_lines(stream, "<stdin>")]


def iter_jsonl(path: str | Path, required: Sequence[str] = (), text: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
    """Yields the JSON objects of a JSONL file (plain or ``.gz``), validating each one.

    Blank lines are skipped. A required field that is absent, ``None`` or an empty/blank string is an error.

    Args:
        path: the JSONL file.
        required: fields every row must carry.
        text: fields that must be strings where a row has them (a prompt that is a number is refused by name).

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: a line is not valid JSON, not an object, or lacks a required field; names file and line.
    """
    path = Path(path)
    for line_number, line in iter_text_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(
                f"invalid JSON ({error.msg} at column {error.colno})", path=path, line=line_number
            ) from None
        if not isinstance(row, dict):
            raise DataError(f"expected a JSON object, got {type(row).__name__}", path=path, line=line_number)
        for field in required:
            value = row.get(field)
            if value is None:
                raise DataError("missing required field", path=path, line=line_number, field=field)
            if isinstance(value, str) and not value.strip():
                raise DataError("required field is empty", path=path, line=line_number, field=field)
        for field in text:
            if field in row and not isinstance(row[field], str):
                kind = type(row[field]).__name__
                raise DataError(f"expected a string, got {kind}", path=path, line=line_number, field=field)
        yield row


def read_json(path: str | Path, expect: type | None = dict) -> Any:
    """Reads one JSON document (a config, a results or metrics file).

    Raises:
        FileNotFoundError: no such file (the message names it).
        DataError: the file is not valid JSON (file and line), or its top level is not ``expect``.
    """
    path = Path(path)
    with _open_bytes(path) as handle, _reading_gzip(path):
        data = handle.read().removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _undecodable(path, data, error) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"invalid JSON: {error.msg} (column {error.colno})", path=path, line=error.lineno) from None
    if expect is not None and not isinstance(value, expect):
        raise DataError(f"expected a JSON {expect.__name__} at the top level, got {type(value).__name__}", path=path)
    return value


def read_dataclass(path: str | Path, cls: type[T]) -> T:
    """Builds the dataclass ``cls`` from the JSON object in ``path`` (what ``write_json(path, asdict(x))`` wrote).

    Raises:
        FileNotFoundError: no such file.
        DataError: invalid JSON, a field ``cls`` does not have, or a value its checks reject (file and field named).
    """
    data = read_json(path)
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise DataError(f"unknown {cls.__name__} field(s) {unknown}", path=path)
    try:
        return cls(**data)
    except (TypeError, ValueError) as error:
        raise DataError(f"{cls.__name__}: {error}", path=path) from None


def read_jsonl(path: str | Path, required: Sequence[str] = (), text: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Reads a whole JSONL file; see :func:`iter_jsonl` for the validation and errors."""
    return list(iter_jsonl(path, required, text))


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Opens a temporary file beside ``path`` and renames it over ``path`` only if the block succeeds.

    A crash or exception inside the block leaves any previous file at ``path`` untouched and no temporary
    file behind. A replaced file keeps its permissions; a new one gets the usual ``0666 & ~umask``.

    Raises:
        IsADirectoryError: ``path`` is a folder.
        ValueError: ``path`` is a device, a FIFO or a socket (renaming over it would replace it).
    """
    from lmcommon.outputs import refuse_special_file

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder; a file was expected")
    refuse_special_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if "b" in mode:
        encoding = None
    try:
        keep_mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        keep_mode = None
    fd, tmp_name = _create_temporary(path)
    try:
        if keep_mode is not None:
            os.fchmod(fd, keep_mode)
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def _create_temporary(path: Path) -> tuple[int, str]:
    """A new file beside ``path``, opened for writing. Created with mode 0666 so that the kernel applies the
    process umask itself (reading the umask means setting it, which races with other threads' files)."""
    for _ in range(100):
        name = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(f"{path.parent}: no free temporary name beside {path.name}")


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Writes rows as UTF-8 JSONL atomically and returns how many were written."""
    count = 0
    with atomic_write(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False))
            handle.write("\n")
            count += 1
    return count


def append_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    """Appends rows as UTF-8 JSONL and forces them to disk before returning, so that a log of finished work (a
    resume file) holds everything it says was done even if the process is killed right after."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        handle.flush()
        os.fsync(handle.fileno())


def write_json(path: str | Path, obj: Any) -> None:
    """Writes one JSON document (indented, UTF-8) atomically."""
    with atomic_write(path) as handle:
        json.dump(obj, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
