"""The pinyin-enhanced neural spell checker (PESC). Needs the ``pesc[neural]`` extra (torch, transformers)."""

from __future__ import annotations

from pesc.neural.config import PESCConfig

__all__ = ["PESCConfig"]
