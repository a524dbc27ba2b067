from __future__ import annotations

import random

import numpy
import pytest
import torch

from lmcommon.seed import set_seed


def _draw():
    return random.random(), float(numpy.random.rand()), float(torch.rand(1))


def test_same_seed_same_draws():
    set_seed(1234)
    first = _draw()
    set_seed(1234)
    assert _draw() == first
    set_seed(4321)
    assert _draw() != first


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        set_seed(seed)
