"""Time of one forward+backward step of MoDULA-Res (1 universal + 3 domain experts) in each training stage against
a single peft LoRA of rank 16 on the same base model and batch, in the default run's settings, measured in one run.

Settings as `modula experiment`'s default profile: the packaged SmolLM2-135M-Instruct, dropout 0.05, batch 8 x 96
tokens, bf16 autocast where the CPU runs it fast (float32 weights, as the Trainer's bf16 flag does); on CUDA
bf16 base weights with float32 adapters, and a 4096-wide random Llama. The models take their steps in interleaved
rounds (one step of each per round), so a slow spell of the machine hits all of them alike; each time is the
median over the rounds. "before" rows run the layer as it was before the step-cost work (issue 30: a second
dropout mask over the Res experts' input h, a float32 copy of x under autocast, the gate expanded with
repeat_interleave, scaling on the d_out-wide outputs, the experts concatenated on every forward), so one run shows
both.

Usage: python bench/modula_step.py [--batch 8] [--seq 96] [--rounds 5] [--device cuda] [--random-only]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import statistics
import time
from collections.abc import Iterator

import torch
from peft import LoraConfig, get_peft_model
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM

from lmcommon.device import cpu_bf16_supported
from lmcommon.models import load_causal_lm
from modula import MoDULAConfig, MoDULAModel
from modula.layer import MoDULALinear

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
STAGES = ("expert", "router", "joint")


def _forward_before(self: MoDULALinear, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    """MoDULALinear.forward (Res) as it was before issue 30, for the "before" rows."""
    result = self.base_layer(x, *args, **kwargs)
    x = x.to(self.universal.lora_A.dtype)
    x_in = self.dropout(x)
    h = (x_in @ self.universal.lora_A.T) @ self.universal.lora_B.T * self.universal.scaling
    if self.path == "expert":
        expert = self.experts[self.active_domain]
        hidden = nn.functional.leaky_relu(self.dropout(h) @ expert.lora_A.T, self.leaky_relu_slope)
        return result + (h + hidden @ expert.lora_B.T * expert.scaling).to(result.dtype)
    weights = self.router(x)
    experts = list(self.experts.values())
    a_all = torch.cat([e.lora_A for e in experts])
    b_all = torch.cat([e.lora_B for e in experts], dim=1)
    hidden = nn.functional.leaky_relu(self.dropout(h) @ a_all.T, self.leaky_relu_slope)
    gate = (weights * self.expert_scaling).repeat_interleave(self.expert_rank, dim=-1)
    return result + (h + (hidden * gate) @ b_all.T).to(result.dtype)


@contextlib.contextmanager
def _layer_forward(forward) -> Iterator[None]:
    current = MoDULALinear.forward
    MoDULALinear.forward = forward
    try:
        yield
    finally:
        MoDULALinear.forward = current


def _one_step(model: nn.Module, batch: torch.Tensor, autocast: bool) -> float:
    model.zero_grad(set_to_none=True)
    if batch.is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    with torch.autocast(batch.device.type, dtype=torch.bfloat16, enabled=autocast):
        loss = model(input_ids=batch, labels=batch).loss
    loss.backward()
    if batch.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _modula(base: nn.Module, stage: str) -> MoDULAModel:
    model = MoDULAModel(copy.deepcopy(base), MoDULAConfig(variant="res", domains=["d1", "d2", "d3"], dropout=0.05))
    with torch.no_grad():  # trained-looking experts: nothing is skipped for a zero B
        for _, layer in model.modula_layers():
            for expert in [layer.universal, *layer.experts.values()]:
                expert.lora_B.normal_(std=0.01)
    model.set_stage(stage, "d1" if stage == "expert" else None)
    return model.train()


def _lora(base: nn.Module) -> nn.Module:
    config = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=TARGETS, task_type="CAUSAL_LM")
    return get_peft_model(copy.deepcopy(base), config).train()


def _bench_row(name: str, base: nn.Module, batch: torch.Tensor, rounds: int, autocast: bool) -> None:
    if batch.is_cuda:
        base = base.to(device=batch.device, dtype=torch.bfloat16)
    runs = {"LoRA": (_lora(base), contextlib.nullcontext)}
    for stage in STAGES:
        model = _modula(base, stage)
        runs[stage] = (model, contextlib.nullcontext)
        runs[f"{stage} before"] = (model, lambda: _layer_forward(_forward_before))
    times: dict[str, list[float]] = {key: [] for key in runs}
    for round_index in range(rounds + 1):
        for key, (model, context) in runs.items():
            with context():
                elapsed = _one_step(model, batch, autocast)
            if round_index:  # the first round warms up allocators and kernels
                times[key].append(elapsed)
    median = {key: statistics.median(values) for key, values in times.items()}
    lora = median["LoRA"]
    cells = [f"{lora * 1e3:.0f} ms"]
    for stage in STAGES:
        now, before = median[stage], median[f"{stage} before"]
        cells.append(f"{now * 1e3:.0f} ms ({now / lora:.2f}x; before {before * 1e3:.0f} ms, {before / lora:.2f}x)")
    print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds after one warm-up round")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--random-only", action="store_true", help="skip the packaged SmolLM2 (no model package)")
    args = parser.parse_args()
    torch.manual_seed(0)
    device = torch.device(args.device)
    autocast = device.type == "cuda" or cpu_bf16_supported()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print(
        f"forward+backward step, batch {args.batch} x {args.seq} tokens, dropout 0.05, bf16 autocast: {autocast}, "
        f"median of {args.rounds} interleaved rounds, {name}; ratios against the peft LoRA r16 step\n"
    )
    print("| model | peft LoRA r16 | MoDULA-Res expert stage | router stage | joint (MoLoRA) |")
    print("|---|---|---|---|---|")
    if not args.random_only:
        smol, _ = load_causal_lm("default", device="cpu", dtype="float32")
        batch = torch.randint(0, smol.config.vocab_size, (args.batch, args.seq), device=device)
        _bench_row("SmolLM2-135M (576 wide, 30 layers)", smol, batch, args.rounds, autocast)
    shapes = [(1536, 4096, 12)] + ([(4096, 11008, 32)] if device.type == "cuda" else [])
    for width, intermediate, heads in shapes:
        config = LlamaConfig(
            hidden_size=width,
            intermediate_size=intermediate,
            num_attention_heads=heads,
            num_key_value_heads=heads // 4 if heads % 4 == 0 else heads,
            num_hidden_layers=4,
            vocab_size=32000,
        )
        batch = torch.randint(0, 32000, (args.batch, args.seq), device=device)
        _bench_row(f"random Llama ({width} wide, 4 layers)", LlamaForCausalLM(config), batch, args.rounds, autocast)


if __name__ == "__main__":
    main()
