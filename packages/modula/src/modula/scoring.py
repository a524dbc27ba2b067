"""Scorers of the multi-domain experiment: numeric match (math), label accuracy (medical, finance), and the
general ability a model keeps (perplexity of held-out general responses)."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from lmcommon.metrics import numeric_match
from modula.tasks import FINANCE_LABELS, MEDICAL_LABELS

LABELS_BY_DOMAIN = {"medical": MEDICAL_LABELS, "finance": FINANCE_LABELS}
# replies are generated only as long as their format needs: a number, one word, or a worked solution
MAX_NEW_TOKENS_BY_TASK = {"gsm8k": 192}
DEFAULT_MAX_NEW_TOKENS = 8


def extract_label(reply: str, labels: Sequence[str]) -> str | None:
    """The first of ``labels`` that appears in ``reply`` as a whole word, case-insensitively; None if none does.

    ``"Yes, because ..."`` -> ``"yes"``; ``"The answer is: MAYBE"`` -> ``"maybe"``; ``"yesterday"`` -> None.
    """
    pattern = re.compile(r"\b(" + "|".join(re.escape(label) for label in labels) + r")\b", re.IGNORECASE)
    match = pattern.search(reply)
    return match.group(1).lower() if match else None


def score_reply(row: dict[str, Any], reply: str) -> bool:
    """Whether ``reply`` answers ``row`` correctly, by its domain's scorer.

    Raises:
        ValueError: a domain with no reply scorer (general ability is measured by perplexity instead).
    """
    domain = row["domain"]
    if domain == "math":
        return numeric_match(reply, row["answer"])
    if domain in LABELS_BY_DOMAIN:
        return extract_label(reply, LABELS_BY_DOMAIN[domain]) == row["answer"]
    raise ValueError(f"no reply scorer for domain {domain!r}; expected one of math, {', '.join(LABELS_BY_DOMAIN)}")


def generate_and_score(model, tokenizer, rows: Sequence[dict[str, Any]], *, batch_size: int = 16) -> dict[str, Any]:
    """Generates a greedy reply for every row and scores it.

    Returns:
        ``{"accuracy": mean over rows, "by_task": {task: accuracy}, "replies": [...], "correct": [...]}``.
    """
    from lmcommon.generation import generate_replies

    replies: list[str | None] = [None] * len(rows)
    by_task: dict[str, list[int]] = defaultdict(list)
    by_length: dict[int, list[int]] = defaultdict(list)  # one generation pass per reply budget
    for index, row in enumerate(rows):
        task = row.get("task", row["domain"])
        by_task[task].append(index)
        by_length[MAX_NEW_TOKENS_BY_TASK.get(task, DEFAULT_MAX_NEW_TOKENS)].append(index)
    for max_new_tokens, indices in by_length.items():
        generated = generate_replies(
            model,
            tokenizer,
            [rows[i]["prompt"] for i in indices],
            max_new_tokens=max_new_tokens,
            batch_size=batch_size,
        )
        for i, reply in zip(indices, generated, strict=True):
            replies[i] = reply
    correct = [score_reply(row, reply) for row, reply in zip(rows, replies, strict=True)]
    return {
        "accuracy": sum(correct) / len(rows) if rows else 0.0,
        "by_task": {task: sum(correct[i] for i in idx) / len(idx) for task, idx in by_task.items()},
        "replies": replies,
        "correct": correct,
    }


def response_perplexity(
    model, tokenizer, rows: Sequence[dict[str, Any]], *, max_length: int = 512, batch_size: int = 8
) -> float:
    """exp of the mean negative log-likelihood per response token (loss on the response only, chat-formatted).

    The general-ability score: lower is better; a model that forgot how to answer ordinary requests rises.
    """
    import torch

    from lmcommon.sft import IGNORE_INDEX, ChatCollator, tokenize_rows

    examples = tokenize_rows(tokenizer, rows, max_length)
    collate = ChatCollator(tokenizer.pad_token_id)
    device = next(model.parameters()).device
    total_loss, total_tokens = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(examples), batch_size):
            batch = {k: v.to(device) for k, v in collate(examples[start : start + batch_size]).items()}
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
            targets = batch["labels"][:, 1:]
            losses = torch.nn.functional.cross_entropy(
                logits[:, :-1].reshape(-1, logits.shape[-1]),
                targets.reshape(-1),
                ignore_index=IGNORE_INDEX,
                reduction="sum",
            )
            total_loss += losses.item()
            total_tokens += int((targets != IGNORE_INDEX).sum())
    if total_tokens == 0:
        raise ValueError("no response tokens to score; are the responses empty or cut by max_length?")
    return math.exp(total_loss / total_tokens)
