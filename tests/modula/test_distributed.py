"""The distributed path is real: one stage trained with DDP over gloo on two CPU processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

SCRIPT = Path(__file__).with_name("ddp_train_script.py")


@pytest.mark.slow
def test_accelerate_launch_two_processes(tmp_path):
    accelerate = Path(sys.executable).with_name("accelerate")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "CUDA_VISIBLE_DEVICES": ""}
    # `--cpu --num_processes 2` starts a single process (accelerate#2741); `--multi_gpu` starts two through
    # torch.distributed.run, and on a machine without GPUs they form a gloo process group on the CPU.
    result = subprocess.run(
        [
            str(accelerate),
            "launch",
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            str(SCRIPT),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    ranks = [load_file(tmp_path / f"rank{i}.safetensors") for i in range(2)]
    with safe_open(tmp_path / "rank0.safetensors", "pt") as handle:
        metadata = handle.metadata()
    assert metadata["world_size"] == "2"
    saved = load_file(tmp_path / "final" / "universal" / "adapter_model.safetensors")
    prefix = "base_model.model."
    assert len(saved) == len(ranks[0]) > 0
    for name, tensor in ranks[0].items():
        assert torch.equal(tensor, ranks[1][name]), f"processes disagree on {name}"
        layer = (
            name[len("base_model.") :]
            .replace(".universal.lora_A", ".lora_A.weight")
            .replace(".universal.lora_B", ".lora_B.weight")
        )
        assert torch.equal(saved[prefix + layer], tensor), name
    assert any(torch.count_nonzero(t) for n, t in saved.items() if "lora_B" in n)  # it trained
