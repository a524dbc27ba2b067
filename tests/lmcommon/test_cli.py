from __future__ import annotations

import subprocess
import sys

import pytest

from lmcommon.cli import make_parser, run
from lmcommon.errors import DataError


def _parser_with(func):
    parser, subcommands = make_parser("tool", "a test tool", "1.0")
    sub = subcommands.add_parser("go")
    sub.set_defaults(func=func)
    return parser


def test_no_command_prints_help_and_fails(capsys):
    assert run(_parser_with(lambda args: 0), []) == 2
    assert "usage: tool" in capsys.readouterr().err


def test_user_error_is_one_line_without_traceback(capsys):
    def fail(args):
        raise DataError("missing required field", path="data.jsonl", line=7, field="prompt")

    assert run(_parser_with(fail), ["go"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "tool: error: data.jsonl:7: field 'prompt': missing required field"
    assert "Traceback" not in err


def test_debug_flag_reraises():
    def fail(args):
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run(_parser_with(fail), ["--debug", "go"])


def test_command_status_is_returned():
    assert run(_parser_with(lambda args: None), ["go"]) == 0
    assert run(_parser_with(lambda args: 3), ["go"]) == 3


@pytest.mark.parametrize("package", ["lmcommon", "modula", "pesc", "htcgen"])
def test_console_help(package):
    result = subprocess.run([sys.executable, "-m", package, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert f"usage: {package}" in result.stdout


def test_core_imports_stay_light():
    # pesc's default path must work without torch, so the core of lmcommon and pesc itself never import it
    code = (
        "import sys, lmcommon, lmcommon.metrics, lmcommon.data, lmcommon.seed, lmcommon.logs, lmcommon.cli, pesc;"
        "heavy = [m for m in ('torch', 'transformers', 'numpy', 'sklearn') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_shared_training_flags_make_trainer_arguments(tmp_path):
    from lmcommon.cli import add_training_arguments, training_arguments

    parser, _ = make_parser("tool", "a test tool", "1.0")
    add_training_arguments(parser, epochs=2.0, batch_size=4, lr=1e-3, save_steps=7, logging_steps=3)
    args = parser.parse_args(["--max-steps", "5", "--grad-accum", "2"])
    trainer_args = training_arguments(args, tmp_path / "out")
    assert (trainer_args.max_steps, trainer_args.num_train_epochs, trainer_args.gradient_accumulation_steps) == (
        5,
        2.0,
        2,
    )
    assert (trainer_args.per_device_train_batch_size, trainer_args.learning_rate) == (4, 1e-3)
    assert (trainer_args.save_steps, trainer_args.save_total_limit, trainer_args.logging_steps) == (7, 2, 3)
    assert trainer_args.output_dir == str(tmp_path / "out") and not args.resume


def test_missing_file_is_named_without_errno(capsys):
    def fail(args):
        from pathlib import Path

        Path("no/such/file.json").read_text()

    assert run(_parser_with(fail), ["go"]) == 2
    assert capsys.readouterr().err.strip() == "tool: error: no/such/file.json: No such file or directory"


def test_repository_data_defaults_are_found_from_any_folder(tmp_path, monkeypatch):
    import argparse
    from pathlib import Path

    from lmcommon.cli import repository_data

    monkeypatch.chdir(tmp_path)
    found = Path(repository_data("data/htcgen/train.jsonl"))  # the checkout this editable install runs from
    assert found.is_absolute() and found.is_file()
    (tmp_path / "mine.jsonl").write_text("{}\n", encoding="utf-8")
    assert repository_data("mine.jsonl") == "mine.jsonl"  # what exists where the user stands comes first
    with pytest.raises(argparse.ArgumentTypeError, match=r"data/nothing\.jsonl: not found in .* pass its path"):
        repository_data("data/nothing.jsonl")
