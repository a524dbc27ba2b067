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


@pytest.mark.parametrize("fails", [False, True])
def test_a_command_leaves_the_distributed_group_it_joined(tmp_path, fails):
    import torch.distributed as distributed

    def join_a_group(args):
        distributed.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
        if fails:
            raise ValueError("bad input")

    assert run(_parser_with(join_a_group), ["go"]) == (2 if fails else 0)
    assert not distributed.is_initialized()


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


def _training_command(**defaults):
    from lmcommon.flags import add_trainer_arguments

    parser, subcommands = make_parser("tool", "a test tool", "1.0")
    sub = subcommands.add_parser("train", populate=lambda p: add_trainer_arguments(p, **defaults))
    sub.set_defaults(func=lambda args: 0)
    return parser, sub


def test_trainer_flags_are_added_on_first_use_only():
    parser, sub = _training_command()
    assert not any("--learning_rate" in a.option_strings for a in sub._actions)  # `tool --help` stays fast
    parser.parse_args(["train"])
    assert any("--learning_rate" in a.option_strings for a in sub._actions)


def test_every_trainer_option_is_a_flag_with_method_defaults(tmp_path):
    from lmcommon.flags import training_arguments
    from lmcommon.training import mixed_precision

    parser, _ = _training_command(num_train_epochs=2.0, per_device_train_batch_size=4, learning_rate=1e-3)
    own_flags = ["--debug", "--log-level", "WARNING"]
    trainer_flags = ["--gradient_checkpointing", "--lr_scheduler_type", "cosine", "--deepspeed", "ds.json"]
    args = parser.parse_args(
        [*own_flags, "train", "--max-steps", "5", "--grad-accum", "2", "--save_steps", "7", *trainer_flags]
    )
    assert args.debug is True and args.log_level == "WARNING"  # the CLI's own flags are not overwritten
    assert args.deepspeed == "ds.json"  # reachable; not built below, as deepspeed is not installed here
    args.deepspeed = None
    trainer_args = training_arguments(args, tmp_path / "out")
    assert (trainer_args.max_steps, trainer_args.num_train_epochs, trainer_args.gradient_accumulation_steps) == (
        5,
        2.0,
        2,
    )
    assert (trainer_args.per_device_train_batch_size, trainer_args.learning_rate) == (4, 1e-3)
    assert trainer_args.gradient_checkpointing is True and trainer_args.lr_scheduler_type == "cosine"
    assert (trainer_args.save_steps, trainer_args.save_total_limit, trainer_args.seed) == (7, 2, 0)
    chosen = mixed_precision()  # for the device this runs on: neither on a CPU, bf16 on a recent CUDA card
    assert (trainer_args.bf16, trainer_args.fp16) == (chosen["bf16"], chosen["fp16"])
    assert trainer_args.output_dir == str(tmp_path / "out") and not args.resume


def test_short_and_long_trainer_flags_set_the_same_field():
    parser, _ = _training_command(learning_rate=1e-3)
    assert parser.parse_args(["train", "--lr", "0.5"]).learning_rate == 0.5
    assert parser.parse_args(["train", "--learning-rate", "0.25"]).learning_rate == 0.25
    assert parser.parse_args(["train"]).learning_rate == 1e-3


def test_config_flags_come_from_the_dataclass_fields():
    import argparse
    from dataclasses import dataclass, field

    from lmcommon.flags import add_dataclass_arguments, dataclass_from_args

    @dataclass
    class Shape:
        rank: int = field(default=8, metadata={"help": "LoRA rank"})
        names: list[str] = field(default_factory=list, metadata={"help": "expert names"})
        scale: float | None = field(default=None, metadata={"help": "optional scale"})

    from lmcommon.cli import DefaultsShownFormatter

    parser = argparse.ArgumentParser(formatter_class=DefaultsShownFormatter)
    add_dataclass_arguments(parser, Shape, defaults={"rank": 4})
    args = parser.parse_args(["--names", "a", "b", "--scale", "0.5"])
    assert dataclass_from_args(Shape, args) == Shape(rank=4, names=["a", "b"], scale=0.5)
    assert dataclass_from_args(Shape, parser.parse_args(["--rank", "2"]), names=["c"]) == Shape(2, ["c"], None)
    assert "LoRA rank (default: 4)" in " ".join(parser.format_help().split())


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


@pytest.mark.faults
def test_a_folder_given_as_a_file_is_named_as_a_folder(tmp_path, capsys):
    from lmcommon.data import read_jsonl

    assert run(_parser_with(lambda args: read_jsonl(tmp_path)), ["go"]) == 2
    assert capsys.readouterr().err.strip() == f"tool: error: {tmp_path}: is a folder; a file was expected"


@pytest.mark.faults
def test_a_reader_that_goes_away_ends_the_command_quietly():
    # `tool go | head -1`: the pipe closes while the command still writes
    script = (
        "from lmcommon.cli import make_parser, run\n"
        "parser, commands = make_parser('tool', 'd', '1')\n"
        "commands.add_parser('go').set_defaults(func=lambda args: [print('line', i) for i in range(10**6)] and 0)\n"
        "raise SystemExit(run(parser, ['go']))\n"
    )
    result = subprocess.run(
        f'{sys.executable} -c "{script}" | head -1', shell=True, capture_output=True, text=True, check=False
    )
    assert result.stdout == "line 0\n"
    assert result.stderr == ""


@pytest.mark.faults
@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("htcgen", ["predict", "--classifier", "c", "--input", "{f}", "--output", "{f}"]),
        ("htcgen", ["mine", "--data", "{f}", "--taxonomy", "t", "--output", "{f}"]),
        ("modula", ["generate", "--input", "{f}", "--output", "{f}"]),
        ("pesc", ["tune", "--dev", "{f}", "--output", "{f}"]),
        # severe cases of the second fault probe: flags that were not declared
        ("htcgen", ["prepare-data", "--data", "{f}", "--taxonomy", "t", "--output", "{d}"]),
        ("pesc", ["train-ranker", "--pairs", "{f}", "--output", "{f}"]),
        ("pesc", ["train-ranker", "--clean", "{f}", "--output", "{f}"]),
        ("pesc", ["train-ranker", "--exclude", "{f}", "--output", "{f}"]),
        ("modula", ["build-data", "--source", "{d}", "--output", "{d}"]),
        ("modula", ["merge", "--adapters", "{d}", "--domain", "x", "--output", "{d}"]),
    ],
)
def test_no_command_writes_over_its_own_input(tmp_path, capsys, tool, arguments):
    import importlib

    data = tmp_path / "train.jsonl"  # a name prepare-data writes
    data.write_text('{"prompt": "x"}\n')
    main = importlib.import_module(f"{tool}.cli").main
    assert main([a.replace("{f}", str(data)).replace("{d}", str(tmp_path)) for a in arguments]) == 2
    assert "refusing to write over an input" in capsys.readouterr().err
    assert data.read_text() == '{"prompt": "x"}\n'
