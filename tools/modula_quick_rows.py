"""Which rows does a small model learn fastest? How the quick profile of ``modula demo`` chose what it trains on.

Trains a fresh peft LoRA (rank 16, the experiment's targets and dropout) on the packaged SmolLM2-135M for a fixed
number of steps on each candidate row set and scores rows held back at the end of the training split (never the
test split, never rows the quick profile trains on), printing one JSON line per candidate: accuracy overall and
per arithmetic task type or label, the most frequent replies, training and scoring seconds.

    python tools/modula_quick_rows.py STEPS LEARNING_RATE CANDIDATE [CANDIDATE ...]
    python tools/modula_quick_rows.py 30 3e-3 math-add-sub-2d math-all finance-balanced medical

Candidates: math-add-sub-2d (2-digit addition and subtraction), math-all (every arithmetic task type),
finance-balanced (TFNS, an equal share of every label), medical (PubMedQA as it is), medical-balanced.
"""

from __future__ import annotations

import collections
import json
import sys
import tempfile
import time

from lmcommon.models import load_causal_lm
from lmcommon.sft import tokenize_rows
from lmcommon.training import mixed_precision
from modula.config import MoDULAConfig
from modula.data import balanced_mix
from modula.scoring import generate_and_score
from modula.tasks import read_domain_split
from modula.train import run_trainer

DATA = "data/modula"
HELD_BACK = {"math": 188, "medical": 96, "finance": 150}  # rows at the end of each training split


def arithmetic_and_label_rows(domain: str) -> list[dict]:
    return [row for row in read_domain_split(DATA, domain, "train") if row["task"] != "gsm8k"]


def candidates(train: dict[str, list[dict]]) -> dict[str, list[dict]]:
    return {
        "math-add-sub-2d": [row for row in train["math"] if row["task"] in ("2D+", "2D-")],
        "math-all": train["math"],
        "finance-balanced": balanced_mix(train["finance"], ["negative", "neutral", "positive"], 200, key="answer"),
        "medical": train["medical"],
        "medical-balanced": balanced_mix(train["medical"], ["yes", "no", "maybe"], 150, key="answer"),
    }


def train_and_score(name: str, rows: list[dict], held_back: list[dict], steps: int, learning_rate: float) -> dict:
    from peft import LoraConfig, get_peft_model
    from transformers import TrainingArguments

    domain = name.split("-")[0]
    base, tokenizer = load_causal_lm("default", device="cpu")
    defaults = MoDULAConfig()
    lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=defaults.dropout, target_modules=list(defaults.target_modules))
    model = get_peft_model(base, lora)
    data = [rows[i % len(rows)] for i in range(steps * 8)]
    with tempfile.TemporaryDirectory() as output:
        args = TrainingArguments(
            output_dir=output,
            num_train_epochs=1,
            per_device_train_batch_size=8,
            learning_rate=learning_rate,
            lr_scheduler_type="cosine",
            save_strategy="no",
            report_to=[],
            use_cpu=True,
            disable_tqdm=True,
            logging_steps=10,
            **mixed_precision("cpu", bf16_on_cpu=True),
        )
        started = time.perf_counter()
        run_trainer(model, tokenize_rows(tokenizer, data, 256), args, tokenizer=tokenizer)
        train_s = time.perf_counter() - started
    model.eval()
    started = time.perf_counter()
    result = generate_and_score(model, tokenizer, held_back, batch_size=32)
    by_group = collections.defaultdict(list)
    for row, correct in zip(held_back, result["correct"], strict=True):
        by_group[row["task"] if domain == "math" else row["answer"]].append(correct)
    return {
        "set": name,
        "steps": steps,
        "lr": learning_rate,
        "train_s": round(train_s),
        "eval_s": round(time.perf_counter() - started),
        "acc": round(sum(result["correct"]) / len(held_back), 3),
        "by": {group: f"{sum(flags)}/{len(flags)}" for group, flags in by_group.items()},
        "top": collections.Counter(reply.strip()[:12] for reply in result["replies"]).most_common(4),
    }


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    steps, learning_rate, names = int(argv[0]), float(argv[1]), argv[2:]
    rows = {domain: arithmetic_and_label_rows(domain) for domain in HELD_BACK}
    held_back = {domain: rows[domain][-count:] for domain, count in HELD_BACK.items()}
    train = {domain: rows[domain][:-count] for domain, count in HELD_BACK.items()}
    sets = candidates(train)
    unknown = [name for name in names if name not in sets]
    if unknown:
        print(f"unknown candidates {unknown}; choose from {sorted(sets)}", file=sys.stderr)
        return 2
    for name in names:
        print(json.dumps(train_and_score(name, sets[name], held_back[name.split("-")[0]], steps, learning_rate)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
