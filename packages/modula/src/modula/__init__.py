"""MoDULA: mixture of domain-specific and universal LoRA experts for multi-task LLM fine-tuning."""

from __future__ import annotations

from modula.config import MoDULAConfig
from modula.model import MoDULAModel

__all__ = ["MoDULAConfig", "MoDULAModel", "train_stage"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # the training stack (Trainer, accelerate) loads only when training is asked for
    if name == "train_stage":
        from modula.train import train_stage

        return train_stage
    raise AttributeError(f"module 'modula' has no attribute {name!r}")
