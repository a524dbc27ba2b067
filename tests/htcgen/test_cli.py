from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from htcgen.cli import main
from lmcommon.data import read_jsonl

HWV = Path(__file__).resolve().parents[2] / "data" / "htc" / "hwv"


def test_prepare_data_and_mine_without_encoder(tmp_path, capsys):
    assert (
        main(
            [
                "prepare-data",
                "--data",
                str(HWV / "hwv_val.json.gz"),
                "--taxonomy",
                str(HWV / "hwv.taxonomy"),
                "--output",
                str(tmp_path),
            ]
        )
        == 0
    )
    train = read_jsonl(tmp_path / "train.jsonl", required=("id", "text", "labels"))
    assert len(train) + len(read_jsonl(tmp_path / "dev.jsonl")) + len(read_jsonl(tmp_path / "test.jsonl")) == 1602
    output = tmp_path / "phrases.json"
    assert (
        main(
            [
                "mine",
                "--data",
                str(tmp_path / "train.jsonl"),
                "--taxonomy",
                str(HWV / "hwv.taxonomy"),
                "--output",
                str(output),
                "--encoder",
                "none",
                "--top-k",
                "5",
            ]
        )
        == 0
    )
    phrases = json.loads(output.read_text())
    assert len(phrases["Mathematics (Root)"]["own"]) == 5
    assert (
        phrases["Fungi"]["inherited"][: len(phrases["Biological and health sciences"]["own"])]
        == phrases["Biological and health sciences"]["own"]
    )
    common = ["--data", str(tmp_path / "train.jsonl"), "--taxonomy", str(HWV / "hwv.taxonomy"), "--encoder", "none"]
    assert main(["mine", *common, "--output", str(tmp_path / "one.json"), "--min-documents", "1"]) == 0
    with_one = json.loads((tmp_path / "one.json").read_text())
    # labels with a single training document get phrases only when one document suffices
    assert sum(bool(v["own"]) for v in with_one.values()) > sum(bool(v["own"]) for v in phrases.values())


def test_bad_taxonomy_line(tmp_path, capsys):
    (tmp_path / "t.taxonomy").write_text("Root\tA\nA\n", encoding="utf-8")
    (tmp_path / "d.jsonl").write_text('{"text": "x", "labels": ["A"]}\n', encoding="utf-8")
    assert (
        main(
            [
                "prepare-data",
                "--data",
                str(tmp_path / "d.jsonl"),
                "--taxonomy",
                str(tmp_path / "t.taxonomy"),
                "--output",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "t.taxonomy:2: parent 'A' has no children" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["prepare-data", "mine", "compare-generators", "evaluate", "predict"])
def test_subcommands_have_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0 and f"usage: htcgen {command}" in capsys.readouterr().out


def test_train_generator_then_generate(tmp_path, capsys, chat_tokenizer, tiny_llama):
    from htcgen.prompts import training_pairs
    from lmcommon.data import write_json, write_jsonl

    from .test_generator import DOCUMENTS, PHRASES

    pairs = training_pairs(DOCUMENTS, PHRASES, seed=0)
    tokenizer = chat_tokenizer(sorted({w for p in pairs for w in (p["prompt"] + " " + p["response"]).split()}))
    model = tiny_llama(len(tokenizer))
    model.save_pretrained(tmp_path / "base")
    tokenizer.save_pretrained(tmp_path / "base")
    (tmp_path / "t.taxonomy").write_text("Root\tSports\nSports\tFootball\tTennis\n", encoding="utf-8")
    write_jsonl(tmp_path / "docs.jsonl", DOCUMENTS)
    write_json(tmp_path / "phrases.json", PHRASES)
    common = [
        "--data",
        str(tmp_path / "docs.jsonl"),
        "--taxonomy",
        str(tmp_path / "t.taxonomy"),
        "--phrases",
        str(tmp_path / "phrases.json"),
    ]
    assert (
        main(
            [
                "train-generator",
                *common,
                "--model",
                str(tmp_path / "base"),
                "--max-phrases",
                "1",
                "--output",
                str(tmp_path / "gen"),
                "--max-steps",
                "3",
                "--batch-size",
                "2",
                "--lr",
                "1e-2",
                "--rank",
                "4",
                "--mode",
                "full",
                "path",
                "--lead-words",
                "3",
                "--contrast-siblings",
                "1",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["pairs"] == 10
    saved = json.loads((tmp_path / "gen" / "htcgen_generator.json").read_text())
    assert saved["model"] == str(tmp_path / "base") and saved["max_phrases"] == 1 and saved["lead_words"] == 3
    assert saved["contrast_siblings"] == 1
    # generate is given neither --model nor --max-phrases: both come from the settings saved beside the adapter,
    # and so does the contrast its prompts were trained with
    assert (
        main(
            [
                "generate",
                *common,
                "--adapter",
                str(tmp_path / "gen"),
                "--num",
                "3",
                "--max-new-tokens",
                "4",
                "--output",
                str(tmp_path / "samples.jsonl"),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    kept, dropped = re.search(r"(\d+) documents -> .* \((\d+) empty", capsys.readouterr().out).groups()
    assert int(kept) + int(dropped) == 3
    samples = read_jsonl(tmp_path / "samples.jsonl", required=("text", "labels", "prompt"))
    assert len(samples) == int(kept) and all(s["labels"][0] == "Sports" for s in samples)
    assert all(len(s["phrases"]) <= 1 for s in samples)
    other = {"Football": "Tennis", "Tennis": "Football"}
    assert all(f"Not: {other[s['labels'][-1]]}." in s["prompt"] for s in samples)


def test_evaluate_flat_baseline_on_the_shipped_data(tmp_path, capsys):
    data = HWV.parents[2] / "data" / "htcgen"
    arguments = ["evaluate", "--train", str(data / "train.jsonl"), "--test", str(data / "dev.jsonl")]
    arguments += ["--taxonomy", str(HWV / "hwv.taxonomy"), "--depth", "2", "--classifier", "flat-svm"]
    assert main([*arguments, "--output", str(tmp_path / "m.json")]) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["classifier"] == "flat-svm" and metrics["test"] == 159 and set(metrics["levels"]) == {"1", "2"}
    assert metrics["micro_f1"] > 0.5 and metrics["most_frequent_path_share"] < 0.2
    assert main([*arguments, "--save", str(tmp_path / "saved")]) == 2
    assert "--save writes encoder classifiers only" in capsys.readouterr().err


def test_encoder_trained_saved_loaded_and_predicting(tmp_path, capsys, tiny_bert):
    from lmcommon.data import write_jsonl

    from .conftest import topic_documents

    documents = topic_documents(per_path=3)
    write_jsonl(tmp_path / "train.jsonl", documents)
    write_jsonl(tmp_path / "texts.jsonl", [{"id": d["id"], "text": d["text"]} for d in documents])
    (tmp_path / "t.taxonomy").write_text(
        "Root\tSports\tScience\nSports\tFootball\tTennis\nScience\tPhysics\tBiology\n", encoding="utf-8"
    )
    common = ["--test", str(tmp_path / "train.jsonl"), "--taxonomy", str(tmp_path / "t.taxonomy")]
    trained = [*common, "--train", str(tmp_path / "train.jsonl"), "--classifier", "encoder", "--encoder", tiny_bert]
    assert main(["evaluate", *trained, "--epochs", "1", "--save", str(tmp_path / "saved")]) == 0
    assert main(["evaluate", *common, "--load", str(tmp_path / "saved"), "--output", str(tmp_path / "m.json")]) == 0
    assert json.loads((tmp_path / "m.json").read_text())["micro_f1"] > 0.9
    arguments = ["predict", "--classifier", str(tmp_path / "saved"), "--input", str(tmp_path / "texts.jsonl")]
    assert main([*arguments, "--output", str(tmp_path / "labelled.jsonl")]) == 0
    labelled = read_jsonl(tmp_path / "labelled.jsonl")
    assert [row["id"] for row in labelled] == [d["id"] for d in documents]
    assert sum(row["labels"] == d["labels"] for row, d in zip(labelled, documents, strict=True)) >= 11
    assert main(["evaluate", *common, "--load", str(tmp_path / "saved"), "--train", "x.jsonl"]) == 2
    assert "either --train" in capsys.readouterr().err


@pytest.mark.faults
@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ({"classifier": "tfidf", "micro_f1": 0.5, "macro_f1": 0.4}, "field 'levels': expected an object of levels"),
        ({"classifier": "tfidf", "micro_f1": "high", "macro_f1": 0.4, "levels": {}}, "field 'micro_f1'"),
        ({"classifier": "t", "micro_f1": 0.5, "macro_f1": 0.4, "levels": {"1": {}}}, "level 1: no number"),
    ],
)
def test_table_of_a_file_that_is_not_metrics_is_one_line_naming_it(tmp_path, capsys, metrics, message):
    import json

    path = tmp_path / "m.json"
    path.write_text(json.dumps(metrics))
    assert main(["table", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and message in err, err


@pytest.mark.faults
def test_prepare_data_cut_short_by_a_full_disk_keeps_the_old_splits_and_says_so(tmp_path, capsys, monkeypatch):
    import errno

    import htcgen.cli

    arguments = ["prepare-data", "--data", str(HWV / "hwv_val.json.gz"), "--taxonomy", str(HWV / "hwv.taxonomy")]
    assert main([*arguments, "--output", str(tmp_path / "d")]) == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "d").iterdir()}
    real, written = htcgen.cli.write_jsonl, []

    def fills_up(path, rows):
        if len(written) == 2:  # train and dev written, the disk full at test
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        written.append(path)
        return real(path, rows)

    monkeypatch.setattr(htcgen.cli, "write_jsonl", fills_up)
    assert main([*arguments, "--output", str(tmp_path / "d"), "--seed", "7"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0] and "previous outputs are kept" in err[0]
    assert {p.name: p.read_bytes() for p in (tmp_path / "d").iterdir()} == before  # no new train beside old test
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


@pytest.mark.faults
def test_prepare_data_refuses_an_output_folder_holding_its_input(tmp_path, capsys):
    import shutil

    (tmp_path / "d").mkdir()
    shutil.copy(HWV / "hwv.taxonomy", tmp_path / "t.taxonomy")
    source = tmp_path / "d" / "train.jsonl"
    source.write_text('{"text": "x", "labels": ["a"], "extra": 1}\n')
    arguments = ["prepare-data", "--data", str(source), "--taxonomy", str(tmp_path / "t.taxonomy")]
    assert main([*arguments, "--output", str(tmp_path / "d")]) == 2
    assert "would replace the --data input" in capsys.readouterr().err
    assert source.read_text() == '{"text": "x", "labels": ["a"], "extra": 1}\n'
