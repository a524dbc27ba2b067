"""Realistic Chinese spell checking: misspelled characters and pinyin-typed words in, correct Chinese out.

Importing pesc is cheap: lexicons, pypinyin's dictionaries and torch load only when a checker first needs them.
"""

from __future__ import annotations

from pesc.config import CheckerConfig
from pesc.edits import Correction, Edit, apply_edits

__all__ = ["CheckerConfig", "Correction", "Edit", "SpellChecker", "apply_edits"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "SpellChecker":
        from pesc.checker import SpellChecker

        return SpellChecker
    raise AttributeError(f"module 'pesc' has no attribute {name!r}")
