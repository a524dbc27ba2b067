"""The conditioned generator: a causal LM fine-tuned with peft LoRA on prompt (label path + phrases) ->
document, and sampling from it with target paths that favour rare classes and fresh phrase subsets."""

from __future__ import annotations

import copy
import random
from collections import Counter
from collections.abc import Sequence

from htcgen.prompts import build_prompt

# every linear projection of the attention and MLP blocks of Llama/Qwen/Mistral-style models
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def add_lora(model, rank: int = 16, alpha: float = 32.0, dropout: float = 0.05, targets: Sequence[str] = LORA_TARGETS):
    """The model wrapped with a trainable peft LoRA adapter; the base weights stay frozen."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(targets), task_type="CAUSAL_LM"
    )
    return get_peft_model(model, config)


def train_generator(
    model,
    tokenizer,
    pairs: Sequence[dict],
    args,
    *,
    max_length: int = 512,
    resume_from_checkpoint: str | bool | None = None,
    save_to: str | None = None,
) -> dict:
    """Fine-tunes ``model`` (a peft model, see :func:`add_lora`) on ``{"prompt", "response"}`` pairs with the
    loss on the document only, on the Hugging Face Trainer (checkpoints resume; ``accelerate launch`` scales it).

    Returns:
        The Trainer's metrics plus ``first_logged_loss`` and ``last_logged_loss``.
    """
    from transformers import Trainer

    from lmcommon.sft import ChatCollator, tokenize_rows

    examples = tokenize_rows(tokenizer, pairs, max_length)
    args = copy.copy(args)
    args.remove_unused_columns = False
    trainer = Trainer(
        model=model, args=args, train_dataset=examples, data_collator=ChatCollator(tokenizer.pad_token_id)
    )
    result = trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    if save_to is not None:
        trainer.save_model(save_to)
    model.eval()
    return {
        **result.metrics,
        "first_logged_loss": losses[0] if losses else None,
        "last_logged_loss": losses[-1] if losses else None,
    }


def rare_path_weights(documents: Sequence[dict]) -> dict[tuple[str, ...], float]:
    """Sampling weight of each label path seen in training, inversely proportional to its document count."""
    counts = Counter(tuple(d["labels"]) for d in documents)
    return {path: 1.0 / count for path, count in counts.items()}


def plan_samples(
    documents: Sequence[dict], phrase_table: dict, num: int, *, max_phrases: int = 5, mode: str = "full", seed: int = 0
) -> list[dict]:
    """``num`` generation requests: a target path drawn by :func:`rare_path_weights` and a random subset of its
    labels' phrases. Each request: ``{"labels", "phrases", "prompt"}``."""
    if num < 0:
        raise ValueError(f"num must be >= 0, got {num}")
    weights = rare_path_weights(documents)
    if not weights:
        raise ValueError("no training documents to take label paths from")
    paths = sorted(weights)
    rng = random.Random(seed)
    requests = []
    for path in rng.choices(paths, [weights[p] for p in paths], k=num):
        pool = list(
            dict.fromkeys(phrase for label in path for phrase, _ in phrase_table.get(label, {}).get("own", []))
        )
        phrases = rng.sample(pool, rng.randint(1, min(max_phrases, len(pool)))) if pool and mode != "path" else []
        requests.append({"labels": list(path), "phrases": phrases, "prompt": build_prompt(path, phrases, mode)})
    return requests


def generate_documents(
    model,
    tokenizer,
    requests: Sequence[dict],
    *,
    max_new_tokens: int = 200,
    temperature: float = 0.9,
    top_p: float = 0.95,
    batch_size: int = 8,
) -> list[dict]:
    """Samples one document per request (batched, with the KV cache); returns the requests with ``text``."""
    from lmcommon.generation import generate_replies

    texts = generate_replies(
        model,
        tokenizer,
        [r["prompt"] for r in requests],
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        do_sample=True,
        temperature=temperature,
        top_p=top_p,
    )
    return [{**request, "text": text} for request, text in zip(requests, texts, strict=True)]
