"""Time of one forward+backward step: MoDULA-Res (1 universal + 3 domain experts, every adapted layer mixing
all four) against a single peft LoRA of rank 16 on the same base model and batch, measured in one run.

Rows: the packaged SmolLM2-135M-Instruct and a larger random Llama shape. MoDULA is timed in the router stage
(the mixture path, routers training) and in the joint stage (everything training, as MoLoRA does); a variant
that loops over the experts one LoRA pass at a time shows what batching the experts saves.

Usage: python bench/modula_step.py [--batch 4] [--seq 128] [--repeats 5] [--device cuda] [--random-only]
On a GPU the base weights are bf16 (adapters stay fp32, as in training) and a 4096-wide shape is added.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from peft import LoraConfig, get_peft_model
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM

from lmcommon.models import load_causal_lm
from modula import MoDULAConfig, MoDULAModel
from modula.layer import MoDULALinear

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def _looped_mixture(self: MoDULALinear, x: torch.Tensor, x_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The unbatched reference (Res): one LoRA pass per domain expert, which batching avoids; same two terms as
    ``MoDULALinear._mixture``."""
    weights = self.router(x)
    h = self._residual_input(x_in)
    expert_input = self.dropout(h)
    domains = torch.zeros_like(h)
    for i, expert in enumerate(self.experts.values()):
        hidden = nn.functional.leaky_relu(expert_input @ expert.lora_A.T, self.leaky_relu_slope)
        domains = domains + weights[..., i : i + 1] * (hidden @ expert.lora_B.T) * self.expert_scaling
    return h, domains


def _step_time(model: nn.Module, batch: torch.Tensor, repeats: int) -> float:
    times = []
    for i in range(repeats + 1):
        model.zero_grad(set_to_none=True)
        if batch.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        if batch.is_cuda:
            torch.cuda.synchronize()
        if i:  # the first step warms up allocators and kernels
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _modula(base: nn.Module, stage: str) -> MoDULAModel:
    model = MoDULAModel(copy.deepcopy(base), MoDULAConfig(variant="res", domains=["d1", "d2", "d3"], dropout=0.0))
    model.set_stage(stage)
    return model.train()


def _lora(base: nn.Module) -> nn.Module:
    config = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=TARGETS, task_type="CAUSAL_LM")
    return get_peft_model(copy.deepcopy(base), config).train()


def _bench_row(name: str, base: nn.Module, batch: torch.Tensor, repeats: int) -> None:
    if batch.is_cuda:
        base = base.to(device=batch.device, dtype=torch.bfloat16)
    lora = _step_time(_lora(base), batch, repeats)
    router = _step_time(_modula(base, "router"), batch, repeats)
    joint = _step_time(_modula(base, "joint"), batch, repeats)
    batched_mixture = MoDULALinear._mixture
    MoDULALinear._mixture = _looped_mixture
    try:
        looped = _step_time(_modula(base, "joint"), batch, repeats)
    finally:
        MoDULALinear._mixture = batched_mixture
    print(
        f"{name:<34} {lora * 1e3:>9.0f} {router * 1e3:>9.0f} {joint * 1e3:>9.0f} {looped * 1e3:>9.0f}"
        f" {router / lora:>8.2f}x {joint / lora:>8.2f}x {looped / joint:>8.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--random-only", action="store_true", help="skip the packaged SmolLM2 (no model package)")
    args = parser.parse_args()
    torch.manual_seed(0)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print(f"forward+backward step, batch {args.batch} x {args.seq} tokens, median of {args.repeats}, {name}")
    print(
        f"{'model':<34} {'LoRA ms':>9} {'router ms':>9} {'joint ms':>9} {'loop ms':>9}"
        f" {'router/LoRA':>9} {'joint/LoRA':>9} {'loop/joint':>9}"
    )
    if not args.random_only:
        smol, _ = load_causal_lm("default", device="cpu", dtype="float32")
        batch = torch.randint(0, smol.config.vocab_size, (args.batch, args.seq), device=device)
        _bench_row("SmolLM2-135M (576 wide, 30 layers)", smol, batch, args.repeats)
    larger = LlamaForCausalLM(
        LlamaConfig(
            hidden_size=1536,
            intermediate_size=4096,
            num_attention_heads=12,
            num_key_value_heads=4,
            num_hidden_layers=4,
            vocab_size=32000,
        )
    )
    batch = torch.randint(0, 32000, (args.batch, args.seq), device=device)
    _bench_row("random Llama (1536 wide, 4 layers)", larger, batch, args.repeats)
    if device.type == "cuda":
        wide = LlamaForCausalLM(
            LlamaConfig(
                hidden_size=4096,
                intermediate_size=11008,
                num_attention_heads=32,
                num_key_value_heads=8,
                num_hidden_layers=4,
                vocab_size=32000,
            )
        )
        _bench_row("random Llama (4096 wide, 4 layers)", wide, batch, args.repeats)


if __name__ == "__main__":
    main()
