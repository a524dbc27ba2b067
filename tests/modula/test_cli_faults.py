"""`modula train` under faults: the same seed gives the same adapters, a killed run resumes to the same result, a
damaged adapter file is one line naming it."""

from __future__ import annotations

import pytest

from modula.cli import main

from ..conftest import assert_killed_run_resumes, assert_same_tensors, assert_seeded_runs_repeat

pytestmark = pytest.mark.faults
STEPS = ["--max-steps", "4", "--lr", "1e-2", "--batch-size", "4", "--logging-steps", "2", "--seed", "0"]


@pytest.fixture
def universal_training(workspace):
    root, model, data = workspace

    def train(output, *extra):
        arguments = ["train", "--stage", "universal", "--data", data["general"], "--domains", "alpha"]
        return main([*arguments, "--model", model, "--output", str(root / output), *STEPS, *extra])

    return root, model, train


def test_the_same_seed_gives_bit_identical_adapters(universal_training):
    root, _, train = universal_training
    assert_seeded_runs_repeat(train, root)  # the untrained domain expert and routers too


def test_a_run_killed_after_a_checkpoint_resumes_to_the_uninterrupted_result(
    universal_training, interrupt_after_first_checkpoint
):
    root, _, train = universal_training
    assert_killed_run_resumes(train, root, interrupt_after_first_checkpoint)


@pytest.mark.parametrize("damaged", ["universal/adapter_model.safetensors", "router/router.safetensors"])
def test_a_damaged_adapter_file_is_one_line_naming_it(universal_training, capsys, damaged):
    root, model, train = universal_training
    assert train("run") == 0
    path = root / "run" / damaged
    path.write_bytes(path.read_bytes()[:100])
    capsys.readouterr()
    arguments = ["--model", model, "--adapters", str(root / "run"), "--prompt", "alpha a", "--device", "cpu"]
    for command in (["generate", "--max-new-tokens", "2"], ["router-weights"]):
        assert main([*command, *arguments]) == 2
        error = capsys.readouterr().err.splitlines()[-1]  # after transformers' loading bar for the base model
        assert error.startswith(f"modula: error: {path}: damaged or unreadable (SafetensorError")


def test_a_checkpoint_cut_short_by_a_kill_is_skipped_on_resume(universal_training, interrupt_after_first_checkpoint):
    root, _, train = universal_training
    assert train("killed", "--save-steps", "2") == 130
    checkpoints = root / "killed" / "checkpoints" / "universal"
    partial = checkpoints / "checkpoint-4"  # killed inside its save: weights begun, no trainer_state.json
    partial.mkdir()
    (partial / "modula_config.json").write_text('{"variant": ')
    assert train("killed", "--save-steps", "2", "--resume") == 0  # once: the Trainer failed on the partial folder
    assert train("straight", "--save-steps", "2") == 0
    assert_same_tensors(root / "straight", root / "killed", exact=False)


def test_resuming_a_run_with_other_settings_is_refused_naming_them(
    universal_training, interrupt_after_first_checkpoint, capsys
):
    _, _, train = universal_training
    assert train("killed", "--save-steps", "2") == 130
    capsys.readouterr()
    assert train("killed", "--save-steps", "2", "--resume", "--lr", "5e-3") == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--resume: the checkpoints in" in err and "learning_rate 0.01 -> 0.005" in err, err
    assert train("killed", "--save-steps", "2", "--resume") == 0  # the same settings resume
