"""Supervised fine-tuning examples for causal LMs: chat-formatted prompt/response pairs tokenised with the loss
on the response only, and the collator that pads them. Needs torch for the collator only."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lmcommon.generation import format_chat_prompt

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100  # label of a position the loss skips (prompt and padding)


def _prompt_and_full_text(tokenizer, prompt: str, response: str) -> tuple[str, str]:
    prompt_text = format_chat_prompt(tokenizer, prompt)  # exactly what generation will feed the model
    if getattr(tokenizer, "chat_template", None):
        conversation = [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
        full_text = tokenizer.apply_chat_template(conversation, tokenize=False)
        if full_text.startswith(prompt_text):
            return prompt_text, full_text
        # templates that rewrite earlier turns (rare): fall back to plain concatenation
    return prompt_text, prompt_text + response + (tokenizer.eos_token or "")


def tokenize_example(tokenizer, prompt: str, response: str, max_length: int) -> dict[str, list[int]]:
    """Token ids of the chat-formatted pair, with labels only on the response (and its end-of-turn tokens).

    Prompt and response are tokenised separately so that no token straddles the boundary; a pair longer than
    ``max_length`` is cut at the end.
    """
    prompt_text, full_text = _prompt_and_full_text(tokenizer, prompt, response)
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(full_text[len(prompt_text) :], add_special_tokens=False)["input_ids"]
    input_ids = (prompt_ids + response_ids)[:max_length]
    labels = ([IGNORE_INDEX] * len(prompt_ids) + response_ids)[:max_length]
    return {"input_ids": input_ids, "labels": labels, "attention_mask": [1] * len(input_ids)}


def tokenize_rows(
    tokenizer, rows: Sequence[dict[str, Any]], max_length: int, carry: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Tokenises rows; rows whose response falls entirely beyond ``max_length`` are dropped (nothing to learn).

    Args:
        carry: row fields copied into each example as they are (a label a custom loss needs), so that they stay
            with their row when rows are dropped.

    Raises:
        ValueError: every row was dropped.
    """
    examples = [
        {**tokenize_example(tokenizer, row["prompt"], row["response"], max_length), **{k: row[k] for k in carry}}
        for row in rows
    ]
    kept = [e for e in examples if any(label != IGNORE_INDEX for label in e["labels"])]
    if not kept:
        raise ValueError(f"every example's prompt is longer than max_length={max_length}; raise max_length")
    if len(kept) < len(examples):
        logger.warning(
            "%d of %d examples dropped: their prompt fills max_length=%d",
            len(examples) - len(kept),
            len(examples),
            max_length,
        )
    return kept


@dataclass
class ChatCollator:
    """Right-pads input ids with the pad token and labels with IGNORE_INDEX."""

    pad_token_id: int

    def __call__(self, features: list[dict[str, list[int]]]):
        import torch

        width = max(len(f["input_ids"]) for f in features)

        def pad(key: str, value: int):
            return torch.tensor([f[key] + [value] * (width - len(f[key])) for f in features], dtype=torch.long)

        return {
            "input_ids": pad("input_ids", self.pad_token_id),
            "labels": pad("labels", IGNORE_INDEX),
            "attention_mask": pad("attention_mask", 0),
        }
