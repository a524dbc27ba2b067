from __future__ import annotations

import pytest
import torch

from lmcommon.device import choose_device, choose_dtype


def test_choose_device_default_is_best_available():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if expected == "cpu" and torch.backends.mps.is_available():
        expected = "mps"
    assert choose_device(None) == expected
    assert choose_device("auto") == expected
    assert choose_device("cpu") == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised on a machine without CUDA")
def test_choose_device_cuda_missing():
    with pytest.raises(ValueError, match="CUDA is not available"):
        choose_device("cuda:0")


def test_choose_device_unknown():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        choose_device("tpu")


def test_choose_dtype():
    assert choose_dtype(None, "cpu") == torch.float32
    assert choose_dtype("bf16", "cpu") == torch.bfloat16
    assert choose_dtype("float16", "cuda") == torch.float16
    assert choose_dtype(torch.float64, "cpu") == torch.float64
    with pytest.raises(ValueError, match="unknown dtype 'int8'"):
        choose_dtype("int8", "cpu")
