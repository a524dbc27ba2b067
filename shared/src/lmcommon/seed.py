"""Seeding of every random number generator the packages use."""

from __future__ import annotations

import hashlib
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


def keyed_random(seed: int, key: str) -> random.Random:
    """A ``random.Random`` determined by ``seed`` and ``key`` alone (SHA-256 of both), so that what one item draws
    (a row's split, a sentence's injected errors) does not depend on the order or the number of the other items,
    nor on ``PYTHONHASHSEED``."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def keyed_uniform(seed: int, key: str) -> float:
    """A number in [0, 1) determined by ``seed`` and ``key`` alone (see :func:`keyed_random`)."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
