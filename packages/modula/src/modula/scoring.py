"""Scorers of the multi-domain experiment: numeric match (math), label accuracy (medical, finance), and the
general ability a model keeps (perplexity of held-out general responses)."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from lmcommon.metrics import bootstrap_interval, last_number, multilabel_f1, numeric_match
from modula.tasks import FINANCE_LABELS, MEDICAL_LABELS

LABELS_BY_DOMAIN = {"medical": MEDICAL_LABELS, "finance": FINANCE_LABELS}
# replies are generated as long as their format needs: a worked solution, or room for "The answer is -12345."
# (SmolLM2 writes digits one token each) and a one-word label with a short preamble
MAX_NEW_TOKENS_BY_TASK = {"gsm8k": 192}
DEFAULT_MAX_NEW_TOKENS = 32


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


def reply_key(row: dict[str, Any], reply: str) -> str:
    """What a reply answers, for counting how often a model gives the same answer: the label it names (label
    domains), the last number in it (math), else the stripped lower-case text; "<none>" when it names none."""
    domain = row["domain"]
    if domain in LABELS_BY_DOMAIN:
        return extract_label(reply, LABELS_BY_DOMAIN[domain]) or "<none>"
    if domain == "math":
        number = last_number(reply)
        return "<none>" if number is None else f"{number:g}"
    return reply.strip().lower()


def answer_statistics(
    rows: Sequence[dict[str, Any]], replies: Sequence[str], correct: Sequence[bool]
) -> dict[str, Any]:
    """What exposes a system that gives one answer to every question, beside its accuracy.

    Returns:
        ``accuracy`` with its 95% bootstrap ``accuracy_interval`` over questions; ``majority_rate``, the share of
        the most frequent gold answer (what answering it always scores); ``top_reply_share``, the share of the
        most frequent answer given (:func:`reply_key`); and, for label domains, ``macro_f1`` over the domain's
        labels (a reply naming no label counts as a miss of its gold label) with its 95% bootstrap
        ``macro_f1_interval``, and ``majority_macro_f1``, what always answering the majority label scores.

    Raises:
        ValueError: no rows, or the three sequences differ in length.
    """
    if not rows or not len(rows) == len(replies) == len(correct):
        raise ValueError(f"need as many rows, replies and verdicts, got {len(rows)}, {len(replies)}, {len(correct)}")
    answers = Counter(str(row["answer"]).lower() for row in rows)
    keys = [reply_key(row, reply) for row, reply in zip(rows, replies, strict=True)]
    given = Counter(keys)
    interval = bootstrap_interval(len(rows), lambda indices: sum(correct[i] for i in indices) / len(indices))
    statistics: dict[str, Any] = {
        "accuracy": interval["estimate"],
        "accuracy_interval": [interval["low"], interval["high"]],
        "majority_rate": answers.most_common(1)[0][1] / len(rows),
        "majority_answer": answers.most_common(1)[0][0],
        "top_reply_share": given.most_common(1)[0][1] / len(rows),
        "top_reply": given.most_common(1)[0][0],
        "questions": len(rows),
    }
    domain = rows[0]["domain"]
    if domain in LABELS_BY_DOMAIN:
        labels = LABELS_BY_DOMAIN[domain]
        predicted = [{key} for key in keys]
        gold = [{str(row["answer"]).lower()} for row in rows]

        def macro_f1(indices, answers=predicted) -> float:
            return multilabel_f1([gold[i] for i in indices], [answers[i] for i in indices], labels=labels)["macro_f1"]

        f1 = bootstrap_interval(len(rows), macro_f1)
        statistics["macro_f1"] = f1["estimate"]
        statistics["macro_f1_interval"] = [f1["low"], f1["high"]]
        # what answering the majority label to every question scores: the trivial baseline of macro-F1
        statistics["majority_macro_f1"] = macro_f1(range(len(rows)), [{statistics["majority_answer"]}] * len(rows))
    return statistics


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
    from lmcommon.target_logits import supports_target_logits, target_positions

    examples = tokenize_rows(tokenizer, rows, max_length)
    collate = ChatCollator(tokenizer.pad_token_id)
    device = next(model.parameters()).device
    selective = supports_target_logits(model)  # vocabulary logits at the response positions only
    total_loss, total_tokens = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(examples), batch_size):
            batch = {k: v.to(device) for k, v in collate(examples[start : start + batch_size]).items()}
            inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
            if selective:
                inputs["logits_to_keep"], targets = target_positions(batch["labels"])
                logits = model(**inputs).logits.float()
            else:
                logits = model(**inputs).logits[:, :-1].float()
                targets = batch["labels"][:, 1:]
            losses = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]),
                targets.reshape(-1),
                ignore_index=IGNORE_INDEX,
                reduction="sum",
            )
            total_loss += losses.item()
            total_tokens += int((targets != IGNORE_INDEX).sum())
    if total_tokens == 0:
        raise ValueError("no response tokens to score; are the responses empty or cut by max_length?")
    return math.exp(total_loss / total_tokens)
