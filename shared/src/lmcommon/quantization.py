"""A base model held in 4 or 8 bits by bitsandbytes under trainable adapters (QLoRA, Dettmers et al. 2023).

transformers quantizes the linear layers of the decoder blocks as it loads them (``BitsAndBytesConfig``); the
embeddings, the norms and the LM head stay in the compute dtype. bitsandbytes 0.50 runs both kinds of layer on
the CPU as well as on CUDA GPUs. It is optional: ``pip install 'modula[quant]'`` (or ``lmcommon[quant]``).
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lmcommon.errors import QuantizationUnavailableError

if TYPE_CHECKING:
    import torch
    from torch import nn

QUANT_TYPES = ("nf4", "fp4")  # 4-bit data types: NormalFloat4 (QLoRA's) and plain 4-bit float


@dataclass(frozen=True)
class Quantization:
    """How the base model's linear layers are stored.

    Args:
        bits: 4 (``bnb.nn.Linear4bit``) or 8 (``bnb.nn.Linear8bitLt``, LLM.int8()).
        quant_type: the 4-bit data type, ``"nf4"`` or ``"fp4"`` (ignored at 8 bits).
        double_quant: quantize the 4-bit block scales too (about 0.4 bit per weight less; QLoRA's option).
    """

    bits: int
    quant_type: str = "nf4"
    double_quant: bool = False

    def __post_init__(self):
        if self.bits not in (4, 8):
            raise ValueError(f"quantization bits must be 4 or 8, got {self.bits!r}")
        if self.quant_type not in QUANT_TYPES:
            raise ValueError(f"quant_type must be one of {QUANT_TYPES}, got {self.quant_type!r}")

    @property
    def label(self) -> str:
        """``"nf4"``, ``"fp4"`` or ``"int8"``: what a message or a results table calls it."""
        return self.quant_type if self.bits == 4 else "int8"

    def transformers_config(self, compute_dtype: torch.dtype):
        """The ``BitsAndBytesConfig`` that loads a model this way, computing in ``compute_dtype``.

        Raises:
            QuantizationUnavailableError: bitsandbytes is missing or cannot run on this machine.
        """
        require_bitsandbytes()
        from transformers import BitsAndBytesConfig

        if self.bits == 8:
            return BitsAndBytesConfig(load_in_8bit=True)
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=self.quant_type,
            bnb_4bit_compute_dtype=compute_dtype,
            bnb_4bit_use_double_quant=self.double_quant,
        )


def quantization_from_flags(load_in_4bit: bool, load_in_8bit: bool, quant_type: str = "nf4", double_quant=False):
    """The :class:`Quantization` the command-line flags ask for, or None for a float base.

    Raises:
        ValueError: both 4 and 8 bits were asked for.
    """
    if load_in_4bit and load_in_8bit:
        raise ValueError("--load-in-4bit and --load-in-8bit exclude each other; choose one")
    if not (load_in_4bit or load_in_8bit):
        return None
    return Quantization(bits=4 if load_in_4bit else 8, quant_type=quant_type, double_quant=double_quant)


def require_bitsandbytes() -> Any:
    """Imports bitsandbytes, or says in one line why it cannot be used here.

    Raises:
        QuantizationUnavailableError: not installed, or its import failed (an unsupported platform or build).
    """
    if importlib.util.find_spec("bitsandbytes") is None:
        raise QuantizationUnavailableError(
            f"it is not installed; install it with: {QuantizationUnavailableError.install_command} "
            "(or the package's [quant] extra, e.g. pip install 'modula[quant]')"
        )
    _quiet_bitsandbytes_logs()
    try:
        import bitsandbytes
    except Exception as error:  # a wheel without this platform's library raises RuntimeError/OSError on import
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise QuantizationUnavailableError(f"it cannot run on this machine ({reason})") from None
    return bitsandbytes


def quantization_of(model: nn.Module) -> str | None:
    """How a loaded transformers model's linear layers are stored: ``"nf4"``, ``"fp4"``, ``"int8"`` or None
    (float). Read from the config transformers attaches when it quantizes."""
    config = getattr(getattr(model, "config", None), "quantization_config", None)
    if config is None:
        return None
    if not isinstance(config, dict):
        config = config.to_dict()
    if config.get("quant_method") != "bitsandbytes":
        return str(config.get("quant_method"))
    if config.get("load_in_4bit"):
        return config.get("bnb_4bit_quant_type", "fp4")
    return "int8" if config.get("load_in_8bit") else None


class _BitsandbytesLogFilter(logging.Filter):
    """Keeps two bitsandbytes messages from flooding the user's terminal: the 8-bit matmul's cast notice, logged
    on every forward pass (let through once), and the failure to fetch a hub kernel for the packed CPU inference
    path at import (dropped: without a hub there is none to fetch, and MoDULA's layers do not take that path)."""

    def __init__(self):
        super().__init__()
        self.cast_notice_seen = False

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("MatMul8bitLt: inputs will be cast"):
            seen, self.cast_notice_seen = self.cast_notice_seen, True
            return not seen
        return not message.startswith("Failed to load CPU gemm_4bit_forward")


_LOG_FILTER = _BitsandbytesLogFilter()


def _quiet_bitsandbytes_logs() -> None:
    for name in ("bitsandbytes.autograd._functions", "bitsandbytes.backends.cpu.ops"):
        log = logging.getLogger(name)
        if _LOG_FILTER not in log.filters:
            log.addFilter(_LOG_FILTER)
