"""Chat-formatted prompt/response examples: reading, tokenising with loss on the response only, padding, and
the balanced domain mix of the router stage."""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lmcommon.data import read_jsonl
from lmcommon.errors import DataError

logger = logging.getLogger(__name__)

IGNORE_INDEX = -100  # label of a position the loss skips (prompt and padding)


def read_chat_rows(path: str | Path, *, require_domain: bool = False) -> list[dict[str, Any]]:
    """Reads JSONL rows with ``prompt`` and ``response`` (and ``domain`` when ``require_domain``).

    Raises:
        DataError: a malformed line or a missing/empty field, naming file and line.
    """
    required = ("prompt", "response", "domain") if require_domain else ("prompt", "response")
    rows = read_jsonl(path, required=required)
    if not rows:
        raise DataError("no examples", path=path)
    for line, row in enumerate(rows, start=1):
        for field in required:
            if not isinstance(row[field], str):
                raise DataError(
                    f"must be a string, got {type(row[field]).__name__}", path=path, line=line, field=field
                )
    return rows


def _prompt_and_full_text(tokenizer, prompt: str, response: str) -> tuple[str, str]:
    if getattr(tokenizer, "chat_template", None):
        user = [{"role": "user", "content": prompt}]
        prompt_text = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
        full_text = tokenizer.apply_chat_template([*user, {"role": "assistant", "content": response}], tokenize=False)
        if full_text.startswith(prompt_text):
            return prompt_text, full_text
        # templates that rewrite earlier turns (rare): fall back to plain concatenation
        return prompt_text, prompt_text + response + (tokenizer.eos_token or "")
    prompt_text = prompt + "\n"
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


def tokenize_rows(tokenizer, rows: Sequence[dict[str, Any]], max_length: int) -> list[dict[str, list[int]]]:
    """Tokenises rows; rows whose response falls entirely beyond ``max_length`` are dropped (nothing to learn).

    Raises:
        ValueError: every row was dropped.
    """
    examples = [tokenize_example(tokenizer, row["prompt"], row["response"], max_length) for row in rows]
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


def balanced_mix(
    rows: Sequence[dict[str, Any]], domains: Sequence[str], samples_per_domain: int | None = None, seed: int = 0
) -> list[dict[str, Any]]:
    """An equal number of rows from every domain, shuffled (stage 3 trains the routers on this mix).

    Args:
        rows: rows with a ``domain`` field.
        domains: the domains to draw; each must have rows.
        samples_per_domain: rows per domain; default the largest domain's count (smaller domains repeat,
            each pass in a new seeded order).
        seed: the shuffling seed.

    Raises:
        ValueError: a domain has no rows, or a row names a domain outside ``domains``.
    """
    by_domain: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["domain"] not in domains:
            raise ValueError(f"row with domain {row['domain']!r} is not one of the model's domains {list(domains)}")
        by_domain[row["domain"]].append(row)
    missing = [d for d in domains if not by_domain[d]]
    if missing:
        raise ValueError(f"no rows for domain(s) {missing}; the router stage needs data from every domain")
    count = samples_per_domain or max(len(by_domain[d]) for d in domains)
    generator = random.Random(seed)
    mix = []
    for domain in domains:
        pool: list[dict[str, Any]] = []
        while len(pool) < count:
            shuffled = list(by_domain[domain])
            generator.shuffle(shuffled)
            pool.extend(shuffled)
        mix.extend(pool[:count])
    generator.shuffle(mix)
    return mix


@dataclass
class ChatCollator:
    """Right-pads input ids with the pad token and labels with IGNORE_INDEX."""

    pad_token_id: int

    def __call__(self, features: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(f["input_ids"]) for f in features)

        def pad(key: str, value: int) -> torch.Tensor:
            return torch.tensor([f[key] + [value] * (width - len(f[key])) for f in features], dtype=torch.long)

        return {
            "input_ids": pad("input_ids", self.pad_token_id),
            "labels": pad("labels", IGNORE_INDEX),
            "attention_mask": pad("attention_mask", 0),
        }
