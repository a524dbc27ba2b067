"""Sentence embeddings from an encoder: mean pooling over real tokens, as sentence-transformers does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def encode_texts(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    *,
    batch_size: int = 32,
    max_length: int = 256,
    normalize: bool = True,
) -> torch.Tensor:
    """Embeds texts with mean pooling over non-padding tokens.

    Args:
        model: an encoder returning ``last_hidden_state`` (e.g. from :func:`lmcommon.models.load_encoder`).
        tokenizer: its tokenizer.
        texts: the texts; an empty sequence gives a ``(0, hidden)`` tensor.
        batch_size: texts per forward pass.
        max_length: longer texts are truncated to this many tokens.
        normalize: L2-normalise each embedding, so that a dot product is the cosine similarity.

    Returns:
        A float32 CPU tensor of shape ``(len(texts), hidden_size)``.
    """
    import torch

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = next(model.parameters()).device
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                list(texts[start : start + batch_size]),
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            ).to(device)
            hidden = model(**batch).last_hidden_state  # (batch, seq, hidden)
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            if normalize:
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
            chunks.append(pooled.float().cpu())
    if not chunks:
        return torch.zeros((0, model.config.hidden_size))
    return torch.cat(chunks)
