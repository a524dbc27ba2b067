"""Shared utilities for the modula, pesc and htcgen packages.

The core modules (``metrics``, ``data``, ``seed``, ``logs``, ``errors``) import only the standard library;
``lmcommon.models`` and ``lmcommon.device`` need the ``lmcommon[models]`` extra and import torch lazily.
"""

from __future__ import annotations

from lmcommon.errors import DataError, MissingModelPackageError

__all__ = ["DataError", "MissingModelPackageError"]
__version__ = "0.1.0"
