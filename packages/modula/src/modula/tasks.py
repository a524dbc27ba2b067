"""The multi-domain experiment's data: seeded train/test splits built from the real sets in ``data/instruct``.

Every row is ``{prompt, response, domain, answer}``: ``response`` is the training target, ``answer`` what the
scorer compares against. Prompts state the expected answer format, so a model that follows instructions can
be scored by parsing its reply (:mod:`modula.scoring`).

Domains (DESIGN.md / issue 4):
- ``math``: arithmetic problems in the style of the GPT-3 paper's arithmetic tasks (2- to 4-digit addition and
  subtraction, 2-digit multiplication; generated from the seed) plus GSM8K word problems;
- ``medical``: PubMedQA yes/no/maybe questions (the official 500-PMID test split is the test set), by default in
  its reasoning-free setting (the question with the abstract's conclusion);
- ``finance``: Twitter financial news sentiment (the domain plugged in later);
- ``general``: OpenAssistant first turns (best-ranked reply) and Dolly records.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lmcommon.data import iter_jsonl, write_jsonl
from lmcommon.errors import DataError

DOMAINS = ("math", "medical", "finance", "general")
MEDICAL_LABELS = ("yes", "no", "maybe")
FINANCE_LABELS = ("negative", "positive", "neutral")  # TFNS: 0 bearish, 1 bullish, 2 neutral
ARITHMETIC_PROMPT = "{question} Reply with the number only."
GSM8K_PROMPT = "{question}\nSolve it step by step and end with 'The answer is N.'"
# PubMedQA's two settings (Jin et al., 2019): reasoning-required reads the abstract without its conclusion;
# reasoning-free reads the conclusion (LONG_ANSWER), which states the answer in words: learnable by a small model
PUBMEDQA_SETTINGS = ("reasoning-free", "reasoning-required")
MEDICAL_PROMPTS = {
    "reasoning-required": "Context: {context}\nQuestion: {question}\nAnswer with one word: yes, no or maybe.",
    "reasoning-free": "Conclusion: {context}\nQuestion: {question}\nAnswer with one word: yes, no or maybe.",
}
FINANCE_PROMPT = (
    "Financial news: {text}\nIs its sentiment for investors negative, positive or neutral? Answer with one word."
)
# PubMedQA contexts run to ~1,300 characters; cut so that an example costs ~130 tokens, not ~350 (CPU budgets)
MEDICAL_CONTEXT_CHARS = 400
_CALCULATOR_NOTE = re.compile(r"<<[^>]*>>")


def arithmetic_problems(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` problems drawn evenly from the GPT-3 arithmetic task types (2D+, 3D+, 4D+, 2D-, 3D-, 4D-, 2Dx).

    Operands are uniform over numbers with the task's digit count (as in Brown et al., 2020).
    """
    generator = random.Random(seed)
    kinds = [("plus", 2), ("plus", 3), ("plus", 4), ("minus", 2), ("minus", 3), ("minus", 4), ("times", 2)]
    rows = []
    for index in range(count):
        operation, digits = kinds[index % len(kinds)]
        low, high = 10 ** (digits - 1), 10**digits - 1
        a, b = generator.randint(low, high), generator.randint(low, high)
        result = {"plus": a + b, "minus": a - b, "times": a * b}[operation]
        question = f"What is {a} {operation} {b}?"
        rows.append(
            {
                "prompt": ARITHMETIC_PROMPT.format(question=question),
                "response": str(result),
                "domain": "math",
                "answer": str(result),
                "task": f"{digits}D{'+' if operation == 'plus' else '-' if operation == 'minus' else 'x'}",
            }
        )
    generator.shuffle(rows)
    return rows


def gsm8k_rows(path: str | Path) -> list[dict[str, Any]]:
    """GSM8K problems; the response is the reference solution without its calculator notes, ending in the answer."""
    rows = []
    for row in iter_jsonl(path, required=("question", "answer")):
        reasoning, _, final = row["answer"].rpartition("####")
        final = final.strip().replace(",", "")
        steps = _CALCULATOR_NOTE.sub("", reasoning).strip()
        rows.append(
            {
                "prompt": GSM8K_PROMPT.format(question=row["question"].strip()),
                "response": f"{steps}\nThe answer is {final}.",
                "domain": "math",
                "answer": final,
                "task": "gsm8k",
            }
        )
    return rows


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " ..."


def pubmedqa_rows(
    labelled: str | Path, test_ids: str | Path, setting: str = "reasoning-free"
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """PubMedQA-L split into (train, test) by the official test PMIDs, in one of :data:`PUBMEDQA_SETTINGS`
    (reasoning-required: the abstract cut to :data:`MEDICAL_CONTEXT_CHARS`; reasoning-free: the conclusion).

    Raises:
        ValueError: an unknown setting.
        DataError: bad JSON, an item without a field the setting needs, or an unknown label.
    """
    if setting not in PUBMEDQA_SETTINGS:
        raise ValueError(f"unknown PubMedQA setting {setting!r}; expected one of {PUBMEDQA_SETTINGS}")
    context_field = "LONG_ANSWER" if setting == "reasoning-free" else "CONTEXTS"
    labelled, test_ids = Path(labelled), Path(test_ids)
    try:
        items = json.loads(labelled.read_text(encoding="utf-8"))
        test = set(json.loads(test_ids.read_text(encoding="utf-8")))
    except json.JSONDecodeError as error:
        raise DataError(f"not valid JSON: {error.msg}", path=labelled, line=error.lineno) from error
    train_rows, test_rows = [], []
    for pmid, item in items.items():
        for field in ("QUESTION", context_field, "final_decision"):
            if field not in item:
                raise DataError(f"item {pmid} has no {field}", path=labelled, field=field)
        label = item["final_decision"]
        if label not in MEDICAL_LABELS:
            raise DataError(f"item {pmid}: label {label!r} is not one of {MEDICAL_LABELS}", path=labelled)
        if setting == "reasoning-free":
            context = item[context_field].strip()
        else:
            context = _cut(" ".join(item[context_field]), MEDICAL_CONTEXT_CHARS)
        row = {
            "prompt": MEDICAL_PROMPTS[setting].format(context=context, question=item["QUESTION"]),
            "response": label,
            "domain": "medical",
            "answer": label,
            "task": f"pubmedqa-{setting}",
        }
        (test_rows if pmid in test else train_rows).append(row)
    return train_rows, test_rows


def tfns_rows(path: str | Path) -> list[dict[str, Any]]:
    """Twitter financial news sentiment rows (``text,label`` CSV, labels 0/1/2)."""
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:
        for line, record in enumerate(csv.DictReader(handle), start=2):
            try:
                label = FINANCE_LABELS[int(record["label"])]
            except (KeyError, ValueError, IndexError, TypeError) as error:
                raise DataError(f"bad label {record.get('label')!r}", path=path, line=line, field="label") from error
            text = (record.get("text") or "").strip()
            if not text:
                raise DataError("empty text", path=path, line=line, field="text")
            rows.append(
                {
                    "prompt": FINANCE_PROMPT.format(text=text),
                    "response": label,
                    "domain": "finance",
                    "answer": label,
                    "task": "tfns",
                }
            )
    return rows


def _oasst_pairs(path: str | Path) -> Iterator[dict[str, Any]]:
    for tree in iter_jsonl(path, required=("prompt",)):
        prompt = tree["prompt"]
        replies = [r for r in prompt.get("replies", []) if r.get("lang") == "en" and not r.get("deleted")]
        if prompt.get("lang") != "en" or not replies:
            continue
        best = min(replies, key=lambda r: r.get("rank") if r.get("rank") is not None else 1_000)
        yield {"prompt": prompt["text"].strip(), "response": best["text"].strip()}


_DOLLY = re.compile(
    r"### Instruction:\n(?P<instruction>.*?)(?:\n\n### Input:\n(?P<input>.*?))?\n\n### Response:", re.S
)


def _dolly_pairs(path: str | Path) -> Iterator[dict[str, Any]]:
    for line, row in enumerate(iter_jsonl(path, required=("prompt", "answer")), start=1):
        match = _DOLLY.search(row["prompt"])
        if match is None:
            raise DataError(
                "prompt is not in the Alpaca '### Instruction:' layout", path=path, line=line, field="prompt"
            )
        prompt = match["instruction"].strip()
        if match["input"]:
            prompt = f"{prompt}\n\n{match['input'].strip()}"
        yield {"prompt": prompt, "response": row["answer"].strip()}


def general_rows(oasst: str | Path, dolly: str | Path) -> list[dict[str, Any]]:
    """OpenAssistant first turns with their best-ranked reply, and the Dolly records."""
    rows = []
    for pair in [*_oasst_pairs(oasst), *_dolly_pairs(dolly)]:
        rows.append({**pair, "domain": "general", "answer": pair["response"], "task": "chat"})
    return rows


def _split(rows: list[dict[str, Any]], test_size: int, seed: int) -> tuple[list[dict], list[dict]]:
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    return shuffled[test_size:], shuffled[:test_size]


def build_domain_data(
    source: str | Path, seed: int = 13, pubmedqa_setting: str = "reasoning-free"
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """All four domains' ``{"train": rows, "test": rows}`` from the ``data/instruct`` folder.

    Split sizes: math = 2,000 arithmetic problems (train) + 350 (test), GSM8K 1,319 -> 1,019 train / 300 test;
    medical = PubMedQA's official 500/500; finance = TFNS 2,388 -> 2,088 / 300; general = 251 pairs -> 201 / 50.
    """
    source = Path(source)
    arithmetic = arithmetic_problems(2_350, seed)
    gsm8k_train, gsm8k_test = _split(gsm8k_rows(source / "math_gsm8k" / "test.jsonl"), 300, seed)
    medical_train, medical_test = pubmedqa_rows(
        source / "medical_pubmedqa" / "ori_pqal.json",
        source / "medical_pubmedqa" / "test_ground_truth.json",
        setting=pubmedqa_setting,
    )
    finance_train, finance_test = _split(tfns_rows(source / "finance_tfns" / "sent_valid.csv"), 300, seed)
    general = general_rows(source / "oasst_en100" / "en_100_tree.jsonl", source / "dolly_sample151" / "dolly.jsonl")
    general_train, general_test = _split(general, 50, seed)
    math_train = arithmetic[350:] + gsm8k_train
    random.Random(seed).shuffle(math_train)
    return {
        "math": {"train": math_train, "test": arithmetic[:350] + gsm8k_test},
        "medical": {"train": medical_train, "test": medical_test},
        "finance": {"train": finance_train, "test": finance_test},
        "general": {"train": general_train, "test": general_test},
    }


def write_domain_data(splits: dict[str, dict[str, list[dict[str, Any]]]], output: str | Path) -> dict[str, int]:
    """Writes ``output/{domain}/{train,test}.jsonl`` as one set (staged and swapped in: a failure half-way leaves
    the old splits, never new train files beside old test files); returns the row count per file."""
    from lmcommon.outputs import replace_folder

    counts = {}
    with replace_folder(output) as staging:
        for domain, parts in splits.items():
            for part, rows in parts.items():
                counts[f"{domain}/{part}"] = write_jsonl(staging / domain / f"{part}.jsonl", rows)
    return counts


def read_domain_split(data_dir: str | Path, domain: str, part: str) -> list[dict[str, Any]]:
    """Rows of ``data_dir/{domain}/{part}.jsonl``, checked for the fields the experiment needs."""
    path = Path(data_dir) / domain / f"{part}.jsonl"
    if not path.is_file():
        raise DataError(f"missing; build it with `modula build-data --output {data_dir}`", path=path)
    return list(iter_jsonl(path, required=("prompt", "response", "domain", "answer")))
