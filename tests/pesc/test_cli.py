from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lmcommon.data import read_jsonl, write_jsonl
from pesc.cli import main

DATA = Path(__file__).resolve().parents[2] / "data" / "csc"
GOLD = [
    {"id": "1", "source": "我qu北京", "target": "我去北京", "kind": "pinyin", "subset": "synthetic"},
    {"id": "2", "source": "朋唷来了", "target": "朋友来了", "kind": "spelling", "subset": "human"},
    {"id": "3", "source": "没有错", "target": "没有错", "kind": "none", "subset": "human"},
]


def test_evaluate_predictions_against_gold(tmp_path, capsys):
    write_jsonl(tmp_path / "gold.jsonl", GOLD)
    (tmp_path / "pred.txt").write_text("我去北京\n朋唷来了\n没有错\n", encoding="utf-8")
    report = tmp_path / "report.json"
    assert (
        main(
            [
                "evaluate",
                "--predictions",
                str(tmp_path / "pred.txt"),
                "--gold",
                str(tmp_path / "gold.jsonl"),
                "--output",
                str(report),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "| pinyin | 1 | 1.000 | 1.000 | 1.000 | 1.000 | 1.000 | 1.000 |" in out
    assert json.loads(report.read_text())["by_kind"]["all"]["correction"]["recall"] == 0.5


def test_evaluate_reports_a_short_prediction_file(tmp_path, capsys):
    write_jsonl(tmp_path / "gold.jsonl", GOLD)
    write_jsonl(tmp_path / "pred.jsonl", [{"prediction": "我去北京"}])
    assert (
        main(["evaluate", "--predictions", str(tmp_path / "pred.jsonl"), "--gold", str(tmp_path / "gold.jsonl")]) == 2
    )
    assert "pred.jsonl: 1 predictions for 3 gold rows" in capsys.readouterr().err


def test_evaluate_bad_gold_row(tmp_path, capsys):
    (tmp_path / "gold.jsonl").write_text(
        '{"source": "a", "target": "a", "kind": "none", "subset": "x"}\n{"source": "b"}\n'
    )
    (tmp_path / "pred.txt").write_text("a\nb\n")
    assert main(["evaluate", "--predictions", str(tmp_path / "pred.txt"), "--gold", str(tmp_path / "gold.jsonl")]) == 2
    assert "gold.jsonl:2: field 'target': missing required field" in capsys.readouterr().err


def test_evaluate_default_checker_on_data(tmp_path, capsys, checker):
    write_jsonl(tmp_path / "gold.jsonl", GOLD)
    predictions = tmp_path / "pred.jsonl"
    assert (
        main(
            [
                "evaluate",
                "--checker",
                "default",
                "--data",
                str(tmp_path / "gold.jsonl"),
                "--save-predictions",
                str(predictions),
            ]
        )
        == 0
    )
    assert read_jsonl(predictions)[0]["prediction"] == "我去北京"
    assert "sentences/s" in capsys.readouterr().out


def test_correct_from_arguments_and_as_json(capsys, checker):
    assert main(["correct", "我今天很gaoxing", "这个iPhone很贵"]) == 0
    assert capsys.readouterr().out.splitlines() == ["我今天很高兴", "这个iPhone很贵"]
    assert main(["correct", "--json", "wm明天见"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["text"] == "我们明天见"
    assert record["edits"] == [{"start": 0, "end": 2, "original": "wm", "replacement": "我们", "kind": "pinyin"}]


def test_correct_from_stdin_and_file(tmp_path, monkeypatch, capsys, checker):
    monkeypatch.setattr(sys, "stdin", io.StringIO("我们明天qu北京\n\n"))
    assert main(["correct"]) == 0
    assert capsys.readouterr().out.splitlines() == ["我们明天去北京", ""]
    path = tmp_path / "in.txt"
    path.write_text("这个pingguo手机\n", encoding="utf-8")
    assert main(["correct", "--input", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["这个苹果手机"]


def test_correct_reads_stdin_as_utf8_and_names_a_bad_line(monkeypatch, capsys, checker):
    stdin = io.TextIOWrapper(io.BytesIO("我很gaoxing\r\n".encode()), encoding="latin-1")  # the locale's guess
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["correct"]) == 0
    assert capsys.readouterr().out.splitlines() == ["我很高兴"]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"ok\n\xff\n")))
    assert main(["correct"]) == 2
    assert "<stdin>:2: not UTF-8 text (byte 0xff at column 1)" in capsys.readouterr().err


def test_correct_names_the_line_of_an_input_file_that_is_not_utf8(tmp_path, capsys):
    path = tmp_path / "gbk.txt"
    path.write_bytes("我很好\n".encode() + "我很gaoxing\n".encode("gbk"))  # GBK, as older Chinese tools save
    assert main(["correct", "--input", str(path)]) == 2
    assert "gbk.txt:2: not UTF-8 text (byte 0xce at column 1)" in capsys.readouterr().err


def test_build_benchmark_small(tmp_path, capsys):
    assert main(["build-benchmark", "--data-dir", str(DATA), "--output", str(tmp_path), "--limit", "5"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "build_config.json",
        "dev.jsonl",
        "test.jsonl",
        "train.jsonl",
    ]
    assert len(read_jsonl(tmp_path / "test.jsonl")) == 5 * 4  # four test sources, five rows each


def test_build_benchmark_adds_soundalike_rows_when_asked(tmp_path, capsys):
    arguments = ["build-benchmark", "--data-dir", str(DATA), "--limit", "20", "--soundalike-rate", "1.0"]
    assert main([*arguments, "--output", str(tmp_path)]) == 0
    rows = read_jsonl(tmp_path / "train.jsonl")
    soundalike = [row for row in rows if row["kind"] == "soundalike"]
    assert soundalike and all(row["subset"] == "synthetic" for row in soundalike)
    assert all(row["source"] != row["target"] and len(row["source"]) == len(row["target"]) for row in soundalike)
    assert "'soundalike': " in capsys.readouterr().out
    assert json.loads((tmp_path / "build_config.json").read_text())["soundalike_sentence_rate"] == 1.0


def test_build_benchmark_flags_default_to_the_injection_config_and_set_its_fields():
    from pesc.cli import _injection_config, build_parser
    from pesc.inject import InjectionConfig

    parser = build_parser()
    assert _injection_config(parser.parse_args(["build-benchmark", "--output", "o"])) == InjectionConfig()
    args = parser.parse_args(["build-benchmark", "--output", "o", "--pinyin-rate", "0.3", "--initials-weight", "1"])
    config = _injection_config(args)
    assert config.pinyin_sentence_rate == 0.3 and config.form_weights == {"full": 0.6, "initials": 1.0, "mixed": 0.25}
    assert config.max_misspellings == InjectionConfig().max_misspellings


def test_build_benchmark_missing_data_dir(tmp_path, capsys):
    assert main(["build-benchmark", "--data-dir", str(tmp_path / "nope"), "--output", str(tmp_path / "o")]) == 2
    assert "missing; --data-dir must be the CSC data folder" in capsys.readouterr().err


def test_unknown_checker(capsys):
    assert main(["correct", "--checker", "/some/dir", "好"]) == 2
    assert (
        "give 'default', 'threshold', 'unigram', 'lookup' or the folder of a model trained with `pesc train`"
        in capsys.readouterr().err
    )


@pytest.mark.parametrize("command", ["build-benchmark", "evaluate", "correct", "tune", "train-ranker", "demo"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert f"usage: pesc {command}" in capsys.readouterr().out


def test_import_loads_no_lexicon_no_language_model_and_no_torch():
    code = (
        "import sys, pesc;"
        "heavy = [m for m in ('torch', 'jieba', 'pypinyin', 'opencc', 'transformers', 'kenlm') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    # the time import takes is measured in bench/pesc_speed.py; this checks what it loads
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_correct_in_processes_with_a_named_model(capsys, checker):
    texts = ["我今天很gaoxing", "这个iPhone很贵", "wm明天见"] * 10
    assert main(["correct", "--jobs", "2", *texts]) == 0
    assert capsys.readouterr().out.splitlines() == ["我今天很高兴", "这个iPhone很贵", "我们明天见"] * 10
    assert main(["correct", "--lm", "unigram", "我很gaoxing"]) == 0
    assert capsys.readouterr().out.splitlines() == ["我很高兴"]
    assert main(["correct", "--checker", "unigram", "--jobs", "2", "我很gaoxing", "wm明天见"]) == 0
    assert capsys.readouterr().out.splitlines() == ["我很高兴", "我们明天见"]


def test_evaluate_sighan_tsv(tmp_path, capsys, checker):
    path = tmp_path / "sighan.txt"
    path.write_text("0\t我很高兴。\t我很高兴。\n1\t我们要保护环竟。\t我们要保护环境。\n", encoding="utf-8")
    assert main(["evaluate", "--checker", "default", "--sighan", str(path), "--output", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "2 sentences (1 with errors)" in out
    assert "| correction | 1.000 | 1.000 | 1.000 |" in out
    assert "false positive rate: 0.000" in out
    # every resample that holds the misspelled sentence scores 1 and the others 0 (no sentence needed a change)
    assert "correction F1, 95% bootstrap interval over sentences: +1.000 [+0.000, +1.000]" in out


def test_evaluate_sighan_against_a_baseline_on_the_same_rows(tmp_path, capsys, checker):
    path = tmp_path / "sighan.txt"
    path.write_text("0\t我很高兴。\t我很高兴。\n1\t我们要保护环竟。\t我们要保护环境。\n", encoding="utf-8")
    report = tmp_path / "r.json"
    argv = ["evaluate", "--checker", "default", "--sighan", str(path), "--baseline", "lookup", "--output", str(report)]
    assert main(argv) == 0
    # the lookup baseline leaves misspellings alone: F1 0, so the paired difference is the checker's own F1
    assert (
        "lookup: correction F1 0.000, false positive rate 0.000; difference (paired): +1.000"
        in capsys.readouterr().out
    )
    saved = json.loads(report.read_text(encoding="utf-8"))
    assert saved["baseline_metrics"]["correction"]["f1"] == 0.0
    assert saved["difference_from_baseline"]["estimate"] == 1.0


def test_jobs_and_lm_are_checked(tmp_path, capsys):
    assert main(["correct", "--jobs", "0", "我"]) == 2
    assert "--jobs must be >= 1" in capsys.readouterr().err
    assert main(["correct", "--lm", str(tmp_path / "missing.lm"), "我很gaoxing"]) != 0
    assert "missing.lm" in capsys.readouterr().err


def test_correct_takes_the_script_and_the_threshold_checker(capsys, checker):
    assert main(["correct", "--script", "traditional", "今天很gaoxing"]) == 0
    assert capsys.readouterr().out.splitlines() == ["今天很高興"]
    assert main(["correct", "--checker", "threshold", "我们要保护环竟。"]) == 0
    assert capsys.readouterr().out.splitlines() == ["我们要保护环境。"]
    assert main(["correct", "--checker", "lookup", "--script", "traditional", "今天"]) == 2
    assert "--script applies to the default checker" in capsys.readouterr().err


def test_tune_chooses_the_learned_decisions_threshold_without_retraining(tmp_path, capsys):
    rows = [
        {"id": "1", "source": "他跟本就没有做打扫。", "target": "他根本就没有做打扫。", "kind": "spelling"},
        {"id": "2", "source": "我的国文成积也没有很好。", "target": "我的国文成绩也没有很好。", "kind": "spelling"},
        {"id": "3", "source": "我们明天去北京。", "target": "我们明天去北京。", "kind": "none"},
    ]
    rows = [{**row, "subset": "human"} for row in rows]
    write_jsonl(tmp_path / "dev.jsonl", rows)
    output = tmp_path / "tuned.json"
    argv = ["tune", "--decision", "ranker", "--dev", str(tmp_path / "dev.jsonl"), "--output", str(output)]
    assert main([*argv, "--grid", "0.9999", "0.5"]) == 0
    trials = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    # the strict threshold fixes nothing; the shipped ranker fixes both learner errors at 0.5 and keeps the
    # correct sentences (the three targets) unchanged, so 0.5 is chosen
    assert [(t["threshold"], t["correction_f1"], t["unchanged_when_correct"]) for t in trials] == [
        (0.5, 1.0, 1.0),
        (0.9999, 0.0, 1.0),
    ]
    tuned = json.loads(output.read_text(encoding="utf-8"))
    assert (tuned["decision"], tuned["ranker_threshold"]) == ("ranker", 0.5)
