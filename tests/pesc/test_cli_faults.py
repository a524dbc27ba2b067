"""The pesc command line under faults: a line that fails, outputs that would overwrite inputs, bad rows."""

from __future__ import annotations

import json

import pytest

from lmcommon.data import read_jsonl, write_jsonl
from pesc.checker import SpellChecker
from pesc.cli import main

from ..conftest import assert_killed_run_resumes, assert_seeded_runs_repeat

pytestmark = pytest.mark.faults

GOLD = [
    {"id": "1", "source": "我qu北京", "target": "我去北京", "kind": "pinyin", "subset": "synthetic"},
    {"id": "2", "source": "没有错", "target": "没有错", "kind": "none", "subset": "human"},
]


@pytest.fixture
def one_line_fails(monkeypatch):
    real = SpellChecker.correct

    def correct(self, text):
        if text == "坏行":
            raise RuntimeError("simulated failure")
        return real(self, text)

    monkeypatch.setattr(SpellChecker, "correct", correct)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_failing_line_is_named_and_every_other_line_is_written(tmp_path, capsys, checker, one_line_fails, jobs):
    path = tmp_path / "in.txt"
    path.write_text("我很gaoxing\n坏行\n这个pingguo手机\n", encoding="utf-8")
    assert main(["correct", "--input", str(path), "--jobs", jobs]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["我很高兴", "坏行", "这个苹果手机"]  # line N still answers line N
    assert f"{path}:2: not corrected (RuntimeError: simulated failure)" in captured.err
    assert "1 of 3 lines could not be corrected" in captured.err
    assert main(["correct", "--json", "坏行"]) == 1
    assert json.loads(capsys.readouterr().out) == {
        "source": "坏行",
        "text": "坏行",
        "edits": [],
        "error": "RuntimeError",
    }


@pytest.mark.parametrize("flag", ["--save-predictions", "--output"])
def test_evaluate_refuses_to_write_over_its_data(tmp_path, capsys, flag):
    gold = tmp_path / "gold.jsonl"
    write_jsonl(gold, GOLD)
    before = gold.read_bytes()
    assert main(["evaluate", "--checker", "lookup", "--data", str(gold), flag, str(gold)]) == 2
    assert "refusing to write over an input" in capsys.readouterr().err
    assert gold.read_bytes() == before


def test_tune_refuses_to_write_over_its_dev_file(tmp_path, capsys):
    dev = tmp_path / "dev.jsonl"
    write_jsonl(dev, GOLD)
    assert main(["tune", "--dev", str(dev), "--output", str(dev)]) == 2
    assert "--output" in capsys.readouterr().err and read_jsonl(dev) == GOLD


def test_sighan_predictions_are_saved(tmp_path, capsys, checker):
    path = tmp_path / "sighan.txt"
    path.write_text("1\t我们要保护环竟。\t我们要保护环境。\n", encoding="utf-8")
    saved = tmp_path / "predictions.jsonl"
    assert main(["evaluate", "--checker", "default", "--sighan", str(path), "--save-predictions", str(saved)]) == 0
    assert read_jsonl(saved) == [{"id": 0, "source": "我们要保护环竟。", "prediction": "我们要保护环境。"}]


def test_save_predictions_without_a_checker_is_refused(tmp_path, capsys):
    gold = tmp_path / "gold.jsonl"
    write_jsonl(gold, GOLD)
    (tmp_path / "p.txt").write_text("我去北京\n没有错\n", encoding="utf-8")
    args = ["evaluate", "--predictions", str(tmp_path / "p.txt"), "--gold", str(gold)]
    assert main([*args, "--save-predictions", str(tmp_path / "x.jsonl")]) == 2
    assert "--save-predictions" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"source": 12, "target": "我", "kind": "none", "subset": "x"}, "field 'source': expected a string, got int"),
        ({"source": "我", "target": ["我"], "kind": "none", "subset": "x"}, "field 'target': expected a string"),
        ({"source": "我", "target": "我", "kind": "typo", "subset": "x"}, "field 'kind': unknown kind 'typo'"),
    ],
)
def test_a_row_of_the_wrong_type_fails_before_any_model_loads(tmp_path, capsys, monkeypatch, row, message):
    data = tmp_path / "rows.jsonl"
    write_jsonl(data, [GOLD[0], row])
    monkeypatch.setattr(SpellChecker, "load", lambda self: pytest.fail("the checker loaded before the rows were read"))
    assert main(["evaluate", "--checker", "default", "--data", str(data)]) == 2
    assert f"rows.jsonl:2: {message}" in capsys.readouterr().err


def test_a_folder_given_as_input_is_named(tmp_path, capsys):
    assert main(["correct", "--input", str(tmp_path)]) == 2
    assert f"{tmp_path}: is a folder; a file was expected" in capsys.readouterr().err


@pytest.fixture
def neural_training(tmp_path):
    from pathlib import Path

    rows = read_jsonl(Path(__file__).resolve().parents[2] / "data" / "pesc" / "train.jsonl")[:32]
    write_jsonl(tmp_path / "train.jsonl", rows)

    def train(output, *extra):
        arguments = ["train", "--train", str(tmp_path / "train.jsonl"), "--output", str(tmp_path / output)]
        arguments += ["--batch-size", "8", "--max-length", "48", "--max-steps", "4", "--seed", "0", *extra]
        return main(arguments)

    return tmp_path, train


def test_neural_training_with_the_same_seed_is_bit_identical(neural_training):
    root, train = neural_training
    assert_seeded_runs_repeat(train, root)


def test_neural_training_killed_after_a_checkpoint_resumes_to_the_same_model(
    neural_training, interrupt_after_first_checkpoint
):
    root, train = neural_training
    assert_killed_run_resumes(train, root, interrupt_after_first_checkpoint)


def test_a_damaged_neural_model_is_one_line_naming_its_file(neural_training, capsys):
    root, train = neural_training
    assert train("model") == 0
    weights = root / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:64])
    capsys.readouterr()
    assert main(["correct", "--checker", str(root / "model"), "我很gaoxing"]) == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"pesc: error: {weights}: damaged or unreadable")
