"""Device and dtype choice. Needs torch (the ``lmcommon[models]`` extra)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

_DTYPE_NAMES = {
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
}


def choose_device(device: str | None = None) -> str:
    """The device to run on: the given one after checking it exists, else CUDA, then Apple MPS, then CPU.

    Raises:
        ValueError: the named device is not available on this machine.
    """
    import torch

    if device is None or device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    kind = device.split(":")[0]
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available on this machine")
    if kind not in {"cpu", "cuda", "mps", "xpu", "meta"}:
        raise ValueError(f"unknown device {device!r}; expected cpu, cuda, cuda:N, mps or auto")
    return device


def training_load_device(quantized: bool) -> str:
    """Where a model to be trained is loaded. A float model loads on the CPU and the Trainer (or accelerate) places
    it; a 4/8-bit one is quantized where it loads and bitsandbytes layers are not moved after, so it loads onto the
    device this process trains on: ``cuda:LOCAL_RANK`` under torchrun / accelerate launch, else
    :func:`choose_device`'s choice."""
    import os

    if not quantized:
        return "cpu"
    device = choose_device(None)
    if device == "cuda":
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0') or 0)}"
    return device


def choose_dtype(dtype: str | torch.dtype | None, device: str) -> torch.dtype:
    """The floating dtype for a model: the given one, else bfloat16 on a GPU that supports it, float16 on
    other GPUs and float32 on the CPU (where half precision is slow and loses accuracy).

    Raises:
        ValueError: an unknown dtype name.
    """
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype is None or dtype == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    name = _DTYPE_NAMES.get(str(dtype).lower())
    if name is None:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {sorted(set(_DTYPE_NAMES))} or auto")
    return getattr(torch, name)


def cpu_bf16_supported() -> bool:
    """Whether torch's oneDNN kernels run bfloat16 matmuls fast on this CPU (AVX512 or AMX): there, CPU autocast
    to bfloat16 makes a training step of a small LM ~1.1-1.5x faster; elsewhere it would be slower than float32.
    torch exposes the check only as a private op, hence the guard."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
