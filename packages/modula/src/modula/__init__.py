"""MoDULA: mixture of domain-specific and universal LoRA experts for multi-task LLM fine-tuning."""

from __future__ import annotations

__all__: list[str] = []
__version__ = "0.1.0"
