"""`modula train` under faults: the same seed gives the same adapters, a killed run resumes to the same result, a
damaged adapter file is one line naming it."""

from __future__ import annotations

import pytest

from lmcommon.data import write_jsonl
from modula.cli import main

from ..conftest import assert_same_tensors
from .conftest import make_llama, make_tokenizer, toy_rows

pytestmark = pytest.mark.faults
STEPS = ["--max-steps", "4", "--lr", "1e-2", "--batch-size", "4", "--logging-steps", "2", "--seed", "0"]


@pytest.fixture
def base(tmp_path):
    folder = tmp_path / "base"
    make_llama().save_pretrained(folder)
    make_tokenizer().save_pretrained(folder)
    write_jsonl(tmp_path / "general.jsonl", toy_rows("general", 8))
    return tmp_path, str(folder)


def _universal(root, model, output, *extra):
    return main(
        [
            "train",
            "--stage",
            "universal",
            "--data",
            str(root / "general.jsonl"),
            "--domains",
            "alpha",
            "--model",
            model,
            "--output",
            str(output),
            *STEPS,
            *extra,
        ]
    )


def test_the_same_seed_gives_bit_identical_adapters(base):
    root, model = base
    assert _universal(root, model, root / "first") == 0
    assert _universal(root, model, root / "second") == 0
    assert_same_tensors(root / "first", root / "second")  # the untrained domain expert and routers too


def test_a_run_killed_after_a_checkpoint_resumes_to_the_uninterrupted_result(base, interrupt_after_first_checkpoint):
    root, model = base
    assert _universal(root, model, root / "killed", "--save-steps", "2") == 130
    assert interrupt_after_first_checkpoint == [2]
    assert _universal(root, model, root / "killed", "--save-steps", "2", "--resume") == 0
    assert _universal(root, model, root / "straight", "--save-steps", "2") == 0
    assert_same_tensors(root / "straight", root / "killed", exact=False)


@pytest.mark.parametrize("damaged", ["universal/adapter_model.safetensors", "router/router.safetensors"])
def test_a_damaged_adapter_file_is_one_line_naming_it(base, capsys, damaged):
    root, model = base
    assert _universal(root, model, root / "run") == 0
    path = root / "run" / damaged
    path.write_bytes(path.read_bytes()[:100])
    capsys.readouterr()
    arguments = ["--model", model, "--adapters", str(root / "run"), "--prompt", "alpha a", "--device", "cpu"]
    for command in (["generate", "--max-new-tokens", "2"], ["router-weights"]):
        assert main([*command, *arguments]) == 2
        error = capsys.readouterr().err.splitlines()[-1]  # after transformers' loading bar for the base model
        assert error.startswith(f"modula: error: {path}: damaged or unreadable (SafetensorError")
