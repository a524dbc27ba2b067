"""Sampling speed of htcgen's generator, tokens per second: the packaged SmolLM2-135M-Instruct alone, with its
LoRA adapter as peft loads it (one LoRA branch per adapted layer and token: how htcgen sampled before) and with
the adapter merged into the weights (`htcgen.generator.load_generator`'s default), in one run.

Sampling as `htcgen generate` and `htcgen experiment` do (temperature 0.9, top-p 0.95, batches of 16 prompts of
the generator's form, the KV cache), each row forced to exactly --new-tokens tokens so that every system decodes
the same amount; float32 on the CPU (bf16 on CUDA). The adapter has rank 16 on htcgen's target modules and random
non-zero weights: speed does not depend on what it learnt. The systems run in interleaved rounds; each figure is
the median over the rounds.

Usage: python bench/htcgen_generate.py [--batch 16] [--new-tokens 64] [--rounds 3] [--device cuda]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from htcgen.generator import add_lora, load_generator
from lmcommon.generation import format_chat_prompt
from lmcommon.models import load_causal_lm

CATEGORIES = [
    "Society and social sciences > War and military",
    "Physical sciences > Chemistry",
    "Arts > Music",
    "Biology and health sciences > Medicine",
]


def _save_random_adapter(folder: str, device: str) -> None:
    model, _ = load_causal_lm("default", device=device)
    tuned = add_lora(model, rank=16, dropout=0.0)
    with torch.no_grad():
        for name, parameter in tuned.named_parameters():
            if "lora_B" in name:
                parameter.normal_(std=0.02)
    tuned.save_pretrained(folder)


def _tokens_per_second(model, tokenizer, prompts: list[str], new_tokens: int) -> float:
    batch = tokenizer(prompts, return_tensors="pt", padding=True).to(model.device)
    started = time.perf_counter()
    with torch.no_grad():
        model.generate(
            **batch,
            do_sample=True,
            temperature=0.9,
            top_p=0.95,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            pad_token_id=tokenizer.pad_token_id,
        )
    return len(prompts) * new_tokens / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as adapter:
        _save_random_adapter(adapter, args.device)
        systems = {
            "base model": load_generator("default", None, device=args.device),
            "base + LoRA adapter (peft, unmerged)": load_generator("default", adapter, args.device, merge=False),
            "base + LoRA merged (default)": load_generator("default", adapter, args.device, merge=True),
        }
    tokenizer = next(iter(systems.values()))[1]
    tokenizer.padding_side = "left"
    prompts = [
        format_chat_prompt(tokenizer, f"Write the introduction of an encyclopedia article. Category: {category}.")
        for category in CATEGORIES
    ] * (args.batch // len(CATEGORIES) + 1)
    prompts = prompts[: args.batch]
    for model, _ in systems.values():  # warm-up round: first-call allocation is not decoding speed
        _tokens_per_second(model, tokenizer, prompts, 4)
    timings: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(args.rounds):
        for name, (model, _) in systems.items():
            timings[name].append(_tokens_per_second(model, tokenizer, prompts, args.new_tokens))
    base = statistics.median(timings["base model"])
    print(f"| system | tokens/s (batch {args.batch}, {args.new_tokens} new) | against the base model |")
    print("|---|---|---|")
    for name, values in timings.items():
        speed = statistics.median(values)
        print(f"| {name} | {speed:.1f} | {speed / base:.2f}x |")


if __name__ == "__main__":
    main()
