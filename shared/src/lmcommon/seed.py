"""Seeding of every random number generator the packages use."""

from __future__ import annotations

import importlib.util
import os
import random


def set_seed(seed: int) -> None:
    """Seeds Python's ``random``, NumPy and torch (CPU and every GPU) where they are installed.

    Raises:
        ValueError: ``seed`` is negative or not an integer.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # inherited by worker processes
    if importlib.util.find_spec("numpy") is not None:
        import numpy

        numpy.random.seed(seed % 2**32)
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.manual_seed(seed)  # also seeds every CUDA device
