from __future__ import annotations

import pytest
import torch
from torch import nn
from transformers import TrainingArguments

from lmcommon.training import TrainingReport, mixed_precision, run_training


class _Regression(nn.Module):
    """y = 3x learned by one weight; the loss is what the Trainer minimises."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, labels, attention_mask=None):
        return {"loss": ((self.weight * input_ids.float() - labels) ** 2).mean()}


def _collate(rows):
    return {
        "input_ids": torch.tensor([[r["x"]] for r in rows]),
        "attention_mask": torch.ones(len(rows), 1, dtype=torch.long),
        "labels": torch.tensor([[3.0 * r["x"]] for r in rows]),
    }


def test_run_training_reports_what_it_did_and_leaves_the_arguments_alone(tmp_path):
    rows = [{"x": x} for x in (1, 2, 3, 4)] * 4
    args = TrainingArguments(
        output_dir=str(tmp_path), max_steps=40, per_device_train_batch_size=4, learning_rate=0.5,
        logging_steps=5, save_strategy="no", report_to=[], use_cpu=True, disable_tqdm=True,
    )  # fmt: skip
    model = _Regression()
    trainer, report = run_training(model, args, rows, _collate, save_to=str(tmp_path / "saved"))
    assert trainer.state.global_step == report.steps
    assert isinstance(report, TrainingReport)
    assert report.examples == 16 and report.steps == 40 and len(report.losses) == 8
    assert report.tokens_seen == 40 * 4  # one non-padding token per row
    assert report.last_logged_loss < 0.01 * report.first_logged_loss
    assert abs(model.weight.item() - 3.0) < 0.1 and not model.training
    assert (tmp_path / "saved" / "model.safetensors").is_file()
    assert args.remove_unused_columns is True  # the caller's arguments were copied, not changed
    assert report.as_dict()["last_logged_loss"] == report.losses[-1]


def test_mixed_precision_is_off_on_the_cpu():
    assert mixed_precision("cpu") == {"bf16": False, "fp16": False}


@pytest.mark.parametrize("fast", [True, False])
def test_bf16_on_the_cpu_only_when_asked_and_the_cpu_runs_it_fast(monkeypatch, fast):
    import lmcommon.device

    monkeypatch.setattr(lmcommon.device, "cpu_bf16_supported", lambda: fast)
    assert mixed_precision("cpu", bf16_on_cpu=True) == {"bf16": fast, "fp16": False}
    assert mixed_precision("cpu") == {"bf16": False, "fp16": False}


class _Linear(nn.Module):
    """A linear layer with a loss; bf16 autocast rounds its output, float32 does not."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(8, 8)

    def forward(self, input_ids, labels, attention_mask=None):
        output = self.layer(input_ids)
        return {"loss": ((output - labels) ** 2).mean(), "output": output}


def test_a_model_trained_in_bf16_predicts_in_float32_as_its_saved_copy_will(tmp_path):
    torch.manual_seed(0)
    rows = [{"x": torch.randn(8)} for _ in range(8)]

    def collate(batch):
        inputs = torch.stack([r["x"] for r in batch])
        return {"input_ids": inputs, "labels": 2 * inputs}

    args = TrainingArguments(
        output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4, learning_rate=1e-2,
        save_strategy="no", report_to=[], use_cpu=True, disable_tqdm=True, bf16=True,
    )  # fmt: skip
    model = _Linear()
    run_training(model, args, rows, collate)
    copy = _Linear()
    copy.load_state_dict(model.state_dict())
    probe = torch.randn(4, 8)
    with torch.no_grad():
        trained_output = model(probe, probe)["output"]
        assert trained_output.dtype == torch.float32
        assert torch.equal(trained_output, copy(probe, probe)["output"])


@pytest.mark.faults
def test_the_last_complete_checkpoint_skips_one_a_kill_cut_short(tmp_path):
    from lmcommon.training import last_complete_checkpoint

    assert last_complete_checkpoint(tmp_path / "none") is None
    for step, state in ((2, '{"global_step": 2}'), (4, '{"global_step": 4}'), (6, '{"global_st'), (8, None)):
        (tmp_path / f"checkpoint-{step}").mkdir()
        if state is not None:
            (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(state)
    (tmp_path / "checkpoint-x").mkdir()
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-4")
