"""Labelled data generation for hierarchical text classification."""

from __future__ import annotations

__all__: list[str] = []
__version__ = "0.1.0"
