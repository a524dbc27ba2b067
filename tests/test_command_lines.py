"""What every command line of the repository promises: help on every flag, and defaults that work from any folder."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import pytest

PACKAGES = ("lmcommon", "pesc", "modula", "htcgen")


def _subcommands(package: str) -> dict[str, argparse.ArgumentParser]:
    parser = importlib.import_module(f"{package}.cli").build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {"": parser, **action.choices}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_flag_of_every_command_has_help(package, capsys):
    missing = []
    for name, parser in _subcommands(package).items():
        if hasattr(parser, "populate"):
            parser.populate()  # training commands add the Trainer's flags on first use
        for action in parser._actions:
            if not action.help and not isinstance(action, argparse._SubParsersAction):
                missing.append(f"{package} {name} {'/'.join(action.option_strings) or action.dest}")
        with pytest.raises(SystemExit) as info:
            parser.parse_args(["--help"])
        assert info.value.code == 0
    assert missing == []
    assert "usage:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("package", "command", "config_flag"),
    [
        ("modula", "train", "--expert-rank"),
        ("htcgen", "train-generator", "--lead-words"),
        ("pesc", "train", "--backbone"),
    ],
)
def test_training_commands_offer_every_trainer_option_and_their_config(package, command, config_flag, capsys):
    with pytest.raises(SystemExit):
        _subcommands(package)[command].parse_args(["--help"])
    shown = capsys.readouterr().out
    for flag in (config_flag, "--deepspeed", "--fsdp", "--bf16", "--gradient_checkpointing", "--seed", "--resume"):
        assert flag in shown, (package, command, flag)


def test_shipped_data_defaults_resolve_from_outside_the_repository(tmp_path, monkeypatch):
    from htcgen.data import read_documents
    from htcgen.taxonomy import Taxonomy

    monkeypatch.chdir(tmp_path)
    args = importlib.import_module("htcgen.cli").build_parser().parse_args(["demo", "--quick"])
    taxonomy = Taxonomy.from_file(args.taxonomy)
    assert len(read_documents(args.train, taxonomy)) == 1121 and len(read_documents(args.test, taxonomy)) == 322
    args = importlib.import_module("modula.cli").build_parser().parse_args(["demo", "--profile", "quick"])
    assert Path(args.data).is_absolute() and Path(args.data).is_dir()


def test_pesc_demo_runs_from_outside_the_repository(tmp_path, monkeypatch, capsys):
    from pesc.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--limit", "3"]) == 0
    assert "source:" in capsys.readouterr().out


@pytest.mark.integration  # the phrase miner scores with the packaged MiniLM
def test_htcgen_quick_demo_runs_from_outside_the_repository(tmp_path, monkeypatch, capsys, chat_tokenizer, tiny_llama):
    from htcgen.cli import main

    # a tiny generator stands in for SmolLM2 (the demo takes any causal LM); the rest is the demo as shipped
    tokenizer = chat_tokenizer(["the", "of", "and", "in", "is", "a", "was", "by", "to", "as"])
    tiny_llama(len(tokenizer)).save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--quick", "--model", str(tmp_path / "lm"), "--output", "demo"]) == 0
    table = (tmp_path / "demo" / "results.md").read_text(encoding="utf-8")
    for row in (
        "| flat-svm | no augmentation |",
        "| tfidf | EDA |",
        "| tfidf | generated: semantic + phrase (full) |",
    ):
        assert row in table, row


# string flags that are not paths: names, choices, texts; every other string flag must say whether it is read or
# written (lmcommon.paths), so that `run` checks it before any work
NOT_PATHS = {
    "--log-level",
    "--domain",
    "--domains",
    "--prompt",
    "--dtype",
    "--device",
    "--variant",
    "--stage",
    "--mode",
    "--decision",
    "--script",
    "--methods",
    "--classifiers",
    "--judge",
    "--selection",
    "--classifier",
    "--profile",
    "--pubmedqa-setting",
    "text",
    "--target-modules",
}
# config fields that name a base model (a hub id or a folder): read, never written, and saved with the config
CONFIG_MODEL_FIELDS = {("htcgen", "train-generator", "--model"), ("pesc", "train", "--backbone")}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_path_flag_declares_whether_it_is_read_or_written(package):
    from lmcommon.paths import role_of

    undeclared = []
    for name, parser in _subcommands(package).items():
        if hasattr(parser, "populate"):
            parser.populate()
        trainer_flags = {
            action.dest
            for group in parser._action_groups
            if group.title and ("TrainingArguments" in group.title or "Trainer" in group.title)
            for action in group._group_actions
        }
        for action in parser._actions:
            takes_text = action.nargs != 0 and action.type in (None, str) and not action.choices
            flag = action.option_strings[-1] if action.option_strings else action.dest
            exempt = flag in NOT_PATHS or (package, name, flag) in CONFIG_MODEL_FIELDS or action.dest in trainer_flags
            if takes_text and role_of(action) is None and not exempt:
                undeclared.append(f"{package} {name} {flag}")
    assert undeclared == []
