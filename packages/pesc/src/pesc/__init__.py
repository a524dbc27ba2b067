"""Realistic Chinese spell checking: misspelled characters and pinyin-typed words in, correct Chinese out."""

from __future__ import annotations

__all__: list[str] = []
__version__ = "0.1.0"
