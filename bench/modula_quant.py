"""MoDULA over a quantized base (QLoRA): peak memory of a training step with a 4-bit (nf4), 8-bit (int8) and float
base, and the step time of each MoDULA stage against a peft QLoRA step on the same quantized base, in one run.

Models: the packaged SmolLM2-135M-Instruct and a random Llama 1536 wide (4 layers, a 32,000-word vocabulary; on
CUDA also 4096 wide). MoDULA-Res with 1 universal and 3 domain experts, peft LoRA r16, both on every attention and
MLP projection, dropout 0.05, batch 8 x 96 tokens. On the CPU the base loads in float32 (the adapters too); on
CUDA the float base is bf16 and the quantized ones compute in bf16 with float32 adapters. The steps run under bf16
autocast where bench/modula_step.py's do (CUDA, and CPUs that run bf16 fast; --autocast off for float32).

Memory: each (model, precision, system) runs in a fresh process, which loads the base (quantized as it loads),
wraps it, then takes one forward+backward step; the figure is the process's peak resident set over the step
(Linux: VmHWM, reset through /proc/self/clear_refs after loading) on the CPU, torch.cuda.max_memory_allocated on
CUDA. Step time: one process per (model, precision) holding a MoDULA model (switched between stages) and a peft
LoRA on a copy of the same base; the steps alternate in rounds so a slow spell hits all alike; medians.

Usage: python bench/modula_quant.py [--rounds 3] [--device cuda] [--random-only] [--skip-memory]
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from modula_step import _one_step  # the same timed step as the float-base bench (bench/ is on sys.path)

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
STAGES = ("expert", "router", "joint")
PRECISIONS = ("float", "nf4", "int8")
TARGET_RATIOS = {"expert": 1.10, "router": 1.15, "joint": 1.20}  # issue 47, as for the float base


def _quantization(precision: str):
    from lmcommon.quantization import Quantization

    return {"float": None, "nf4": Quantization(bits=4), "int8": Quantization(bits=8)}[precision]


def _load(model: str, precision: str, device: str):
    from lmcommon.models import load_causal_lm

    dtype = "bfloat16" if device == "cuda" else "float32"
    base, _ = load_causal_lm(model, dtype=dtype, device=device, quantization=_quantization(precision))
    return base


def _modula(base, stage: str | None = None):
    from modula import MoDULAConfig, MoDULAModel

    model = MoDULAModel(base, MoDULAConfig(variant="res", domains=["d1", "d2", "d3"], dropout=0.05))
    with torch.no_grad():  # trained-looking experts: nothing is skipped for a zero B
        for _, layer in model.modula_layers():
            for expert in [layer.universal, *layer.experts.values()]:
                expert.lora_B.normal_(std=0.01)
    if stage is not None:
        model.set_stage(stage, "d1" if stage == "expert" else None)
    return model.train()


def _lora(base):
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=TARGETS, task_type="CAUSAL_LM")
    return get_peft_model(base, config).train()


def _batch(base, args) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, base.config.vocab_size, (args.batch, args.seq), generator=generator).to(args.device)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def measure_memory(args) -> dict:
    """In this (fresh) process: load, wrap, one step; the peak memory of the step."""
    base = _load(args.model, args.precision, args.device)
    model = _modula(base, "expert") if args.system == "modula-expert" else _lora(base)
    batch = _batch(base, args)
    tensors = [*model.parameters(), *model.buffers()]
    weights = {"weights_mib": sum(t.numel() * t.element_size() for t in tensors) / 2**20}  # base and adapters
    if args.device == "cuda":
        torch.cuda.synchronize()
        loaded = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        _one_step(model, batch, args.autocast)
        return {**weights, "loaded_mib": loaded / 2**20, "peak_mib": torch.cuda.max_memory_allocated() / 2**20}
    # what the loading freed goes back to the system first, so that the figures are memory in use, not the
    # allocator's spare pages (the children also run with a fixed mmap threshold: see _child)
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    loaded = _status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # the peak resident set starts again from the current one
    _one_step(model, batch, args.autocast)
    return {**weights, "loaded_mib": loaded / 1024, "peak_mib": _status_kib("VmHWM") / 1024}


def measure_time(args) -> dict:
    """Median step time of each MoDULA stage and of peft LoRA over the same base, alternating in rounds."""
    base = _load(args.model, args.precision, args.device)
    lora = _lora(copy.deepcopy(base))
    modula = _modula(base)
    batch = _batch(base, args)
    runs = {"lora": (lora, None), **{stage: (modula, stage) for stage in STAGES}}
    times: dict[str, list[float]] = {key: [] for key in runs}
    for round_index in range(args.rounds + 1):
        for key, (model, stage) in runs.items():
            if stage is not None:
                model.set_stage(stage, "d1" if stage == "expert" else None)
            elapsed = _one_step(model, batch, args.autocast)
            if round_index:  # the first round warms up allocators and kernels
                times[key].append(elapsed)
    return {key: statistics.median(values) for key, values in times.items()}


def _child(args, task: str, model: str, precision: str, system: str = "") -> dict:
    command = [sys.executable, __file__, "--child", task, "--model", model, "--precision", precision]
    command += ["--system", system, "--device", args.device, "--rounds", str(args.rounds)]
    command += ["--batch", str(args.batch), "--seq", str(args.seq), "--autocast", "on" if args.autocast else "off"]
    # glibc raises its mmap threshold as large blocks are freed, after which freed weights and activations stay in
    # the heap and count in the resident set; a fixed threshold returns them, as a caching allocator would not
    environment = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=environment)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _random_llama(folder: Path, width: int, intermediate: int, heads: int) -> str:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=width,
        intermediate_size=intermediate,
        num_attention_heads=heads,
        num_key_value_heads=heads // 4,
        num_hidden_layers=4,
        vocab_size=32000,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    _word_tokenizer().save_pretrained(folder)  # load_causal_lm loads one; the steps read random ids
    return str(folder)


def _word_tokenizer():
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    words = ["<pad>", "<unk>", "</s>"]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", eos_token="</s>", pad_token="<pad>")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds after one warm-up round")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=96)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--random-only", action="store_true", help="skip the packaged SmolLM2")
    parser.add_argument("--skip-memory", action="store_true", help="step times only")
    parser.add_argument(
        "--autocast",
        choices=["auto", "on", "off"],
        default="auto",
        help="bf16 autocast: auto (default) as bench/modula_step.py and the Trainer's bf16 flag: on CUDA and on "
        "CPUs that run bf16 fast",
    )
    parser.add_argument("--child", choices=["memory", "time"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--precision", choices=PRECISIONS, help=argparse.SUPPRESS)
    parser.add_argument("--system", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from lmcommon.device import cpu_bf16_supported

    args.autocast = args.autocast == "on" or (
        args.autocast == "auto" and (args.device == "cuda" or cpu_bf16_supported())
    )
    if args.child:
        print(json.dumps(measure_memory(args) if args.child == "memory" else measure_time(args)))
        return

    threads = os.environ.get("OMP_NUM_THREADS") or torch.get_num_threads()
    device = torch.cuda.get_device_name() if args.device == "cuda" else f"cpu, {threads} threads"
    print(
        f"MoDULA-Res (1 universal + 3 experts) vs peft LoRA r16, batch {args.batch} x {args.seq}, {device}, "
        f"bf16 autocast: {args.autocast}\n"
    )
    with tempfile.TemporaryDirectory() as scratch:
        models = [] if args.random_only else [("SmolLM2-135M (576 wide, 30 layers)", "default")]
        shapes = [(1536, 4096, 12)] + ([(4096, 11008, 32)] if args.device == "cuda" else [])
        for width, intermediate, heads in shapes:
            folder = Path(scratch) / f"llama-{width}"
            label = f"random Llama ({width} wide, 4 layers)"
            models.append((label, _random_llama(folder, width, intermediate, heads)))
        if not args.skip_memory:
            what = "GPU memory allocated" if args.device == "cuda" else "resident set of the process"
            print(f"Memory of one training step (MiB; {what}; a fresh process each):\n")
            print("| model | system | base | weights (base + adapters) | after loading | peak of the step |")
            print("|---|---|---|---:|---:|---:|")
            for label, model in models:
                for system in ("modula-expert", "lora"):
                    name = "MoDULA-Res expert stage" if system == "modula-expert" else "peft LoRA r16"
                    figures = {p: _child(args, "memory", model, p, system) for p in PRECISIONS}
                    float_figures = figures["float"]
                    for precision, got in figures.items():
                        cells = [
                            f"{got[key]:.0f}"
                            + ("" if precision == "float" else f" ({got[key] / float_figures[key]:.2f}x)")
                            for key in ("weights_mib", "loaded_mib", "peak_mib")
                        ]
                        print(f"| {label} | {name} | {precision} | " + " | ".join(cells) + " |", flush=True)
            print()
        print(f"Step time (median of {args.rounds} alternating rounds), ratio to peft LoRA on the same base:\n")
        print("| model | base | peft LoRA r16 | expert stage | router stage | joint (MoLoRA) |")
        print("|---|---|---:|---:|---:|---:|")
        for label, model in models:
            for precision in PRECISIONS:
                median = _child(args, "time", model, precision)
                lora = median["lora"]
                cells = [f"{lora * 1e3:.0f} ms"]
                for stage in STAGES:
                    ratio = median[stage] / lora
                    mark = "" if ratio <= TARGET_RATIOS[stage] else " (over target)"
                    cells.append(f"{median[stage] * 1e3:.0f} ms ({ratio:.2f}x{mark})")
                print(f"| {label} | {precision} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
