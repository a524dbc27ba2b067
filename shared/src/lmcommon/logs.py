"""Logging set-up shared by the command-line tools."""

from __future__ import annotations

import logging

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: int | str = logging.INFO) -> None:
    """Sends log records of the project's packages to stderr with timestamps; idempotent."""
    if isinstance(level, str):
        resolved = logging.getLevelName(level.upper())
        if not isinstance(resolved, int):
            raise ValueError(f"unknown log level {level!r}")
        level = resolved
    root = logging.getLogger()
    if not any(getattr(handler, "_lmcommon", False) for handler in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_FORMAT, datefmt="%H:%M:%S"))
        handler._lmcommon = True  # marks our handler so that a second call does not add another
        root.addHandler(handler)
    for name in ("lmcommon", "modula", "pesc", "htcgen"):
        logging.getLogger(name).setLevel(level)
