"""Run by test_distributed.py under `accelerate launch --cpu --num_processes 2`: trains one stage of a tiny
MoDULA model with DDP (gloo) and writes what each process holds after training."""

from __future__ import annotations

import sys
from pathlib import Path

from safetensors.torch import save_file
from transformers import TrainingArguments

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import make_llama, make_tokenizer, toy_rows

from lmcommon.cli import close_process_group
from modula import MoDULAConfig, MoDULAModel, train_stage


def main(output: Path) -> None:
    model = MoDULAModel(make_llama(), MoDULAConfig(domains=["alpha"], dropout=0.0))
    args = TrainingArguments(
        output_dir=str(output / "checkpoints"),
        max_steps=6,
        per_device_train_batch_size=4,
        learning_rate=1e-2,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        seed=0,
        use_cpu=True,
        dataloader_pin_memory=False,
    )
    report = train_stage(
        model, "universal", toy_rows("general", 32), args, tokenizer=make_tokenizer(), save_to=output / "final"
    )
    held = {name: p.detach().clone() for name, p in model.named_parameters() if ".universal." in name}
    rank = args.process_index
    save_file(
        held,
        output / f"rank{rank}.safetensors",
        metadata={"world_size": str(args.world_size), "tokens_seen": str(report.tokens_seen)},
    )


if __name__ == "__main__":
    try:
        main(Path(sys.argv[1]))
    finally:
        close_process_group()  # as every command line does: gloo's threads may abort an exit that skips it
