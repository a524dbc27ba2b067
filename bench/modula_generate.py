"""Generation speed, tokens per second, of the packaged SmolLM2-135M-Instruct alone, with one merged peft LoRA
(what a user serving a single fine-tune runs), as a routed MoDULA-Res model (1 universal + 3 domain experts,
every adapted layer routing per token) and as MoDULA-Res merged for one domain (`modula merge`), in one run.

Greedy decoding of exactly --new-tokens tokens for a batch of chat prompts, with the KV cache, float32 on the
CPU (bf16 on CUDA). The adapters have random non-zero weights: speed does not depend on what they learnt. The
systems generate in interleaved rounds; each figure is the median over the rounds.

Usage: python bench/modula_generate.py [--batch 4] [--new-tokens 48] [--rounds 3] [--device cuda]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from peft import LoraConfig, get_peft_model

from lmcommon.generation import format_chat_prompt
from lmcommon.models import load_causal_lm
from modula import MoDULAConfig, MoDULAModel

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PROMPTS = [
    "What is 48 + 77?",
    "Does regular exercise lower blood pressure in adults?",
    "Is the outlook for the company's quarterly earnings positive, negative or neutral?",
    "Write one sentence about the sea.",
]


def _random_weights(model: torch.nn.Module) -> None:
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name or "router" in name:
                parameter.normal_(std=0.02)


def _merged_lora(base):
    config = LoraConfig(r=16, lora_alpha=32, target_modules=TARGETS, task_type="CAUSAL_LM")
    model = get_peft_model(copy.deepcopy(base), config)
    _random_weights(model)
    return model.merge_and_unload().eval()


def _modula(base) -> MoDULAModel:
    model = MoDULAModel(copy.deepcopy(base), MoDULAConfig(variant="res", domains=["math", "medical", "finance"]))
    _random_weights(model)
    return model.eval()


def _tokens_per_second(model, batch: dict, new_tokens: int) -> float:
    if batch["input_ids"].is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    with torch.no_grad():
        output = model.generate(**batch, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
    if batch["input_ids"].is_cuda:
        torch.cuda.synchronize()
    generated = (output.shape[1] - batch["input_ids"].shape[1]) * output.shape[0]
    return generated / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4, help="prompts generated together")
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds after one warm-up round")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.manual_seed(0)
    dtype = "bfloat16" if args.device.startswith("cuda") else "float32"
    base, tokenizer = load_causal_lm("default", device=args.device, dtype=dtype)
    tokenizer.padding_side = "left"
    texts = [format_chat_prompt(tokenizer, PROMPTS[i % len(PROMPTS)]) for i in range(args.batch)]
    batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(args.device)
    systems = {
        "base model": base,
        "base + merged LoRA r16": _merged_lora(base),
        "MoDULA-Res routed (3 domains)": _modula(base),
        "MoDULA-Res routed, folded for serving": _modula(base).fold_for_serving(),
        "MoDULA-Res merged for one domain": _modula(base).merge_domain("math"),
    }
    speeds: dict[str, list[float]] = {name: [] for name in systems}
    for round_index in range(args.rounds + 1):
        for name, model in systems.items():
            speed = _tokens_per_second(model, batch, args.new_tokens)
            if round_index:  # the first round warms up
                speeds[name].append(speed)
    cuda = args.device.startswith("cuda")
    where = torch.cuda.get_device_name() if cuda else f"cpu, {torch.get_num_threads()} threads"
    print(
        f"greedy generation, {args.batch} prompts x {args.new_tokens} new tokens, {dtype}, median of {args.rounds} "
        f"interleaved rounds, {where}\n"
    )
    print("| system | tokens/s | against the base model |\n|---|---|---|")
    base_speed = statistics.median(speeds["base model"])
    for name, values in speeds.items():
        speed = statistics.median(values)
        print(f"| {name} | {speed:.1f} | {speed / base_speed:.2f}x |")


if __name__ == "__main__":
    main()
