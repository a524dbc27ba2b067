"""The second fault probe's pesc cases: text the checker must survive, a checker that crosses processes, workers
that die, hand-edited configs, files that are not what they seem."""

from __future__ import annotations

import base64
import json
import os
import pickle
import random

import pytest

from lmcommon.data import write_jsonl
from pesc.checker import SpellChecker
from pesc.cli import main

pytestmark = pytest.mark.faults


def test_random_base64_stays_as_written(checker):
    rng = random.Random(0)
    keys = [base64.b64encode(rng.randbytes(rng.randint(3, 48))).decode() for _ in range(200)]
    changed = [key for key in keys for text in (key, f"密钥是{key}，请保存。") if checker.correct(text).text != text]
    assert changed == []  # once 15 of 200: ni2, si3, ri4 inside a key read as tone-numbered pinyin


def test_tone_numbered_pinyin_is_still_pinyin(checker):
    assert checker.correct("我今天很gao1xing4").text == "我今天很高兴"


@pytest.mark.parametrize(("script", "answer"), [("auto", "高兴"), ("traditional", "高興")])
def test_a_lone_surrogate_stays_and_the_rest_is_corrected(checker, script, answer):
    text = "我\ud800今天很gaoxing"  # once a UnicodeEncodeError from OpenCC
    result = SpellChecker(script=script, lexicon=checker.lexicon, lm=checker.lm).correct(text)
    assert result.text == f"我\ud800今天很{answer}"
    assert [(e.start, e.original) for e in result.edits] == [(5, "gaoxing")]


def test_a_loaded_checker_pickles_and_corrects_the_same(checker):
    checker.load()
    copy = pickle.loads(pickle.dumps(checker))
    for text in ("我今天很gaoxing", "他们在学校里学系汉语"):
        assert copy.correct(text) == checker.correct(text)
    assert copy.lm.name == checker.lm.name


def test_one_chunk_starts_no_processes(checker, monkeypatch):
    import pesc.parallel

    monkeypatch.setattr(pesc.parallel, "ProcessPoolExecutor", lambda *a, **k: pytest.fail("a pool for one chunk"))
    texts = ["我很gaoxing"] * 10
    assert [c.text for c in checker.correct_batch(texts, jobs=100)] == ["我很高兴"] * 10


class _DiesOn(SpellChecker):
    """A checker whose process is killed by one text, as the kernel's out-of-memory killer would."""

    def correct(self, text):
        if text == "死":
            os.kill(os.getpid(), 9)
        return super().correct(text)


def test_a_killed_worker_loses_only_the_text_that_killed_it(checker):
    dying = _DiesOn(lexicon=checker.lexicon, lm=checker.lm)
    texts = ["我很gaoxing"] * 150 + ["死"] + ["这个pingguo手机"] * 50
    results = dying.correct_batch(texts, jobs=2, return_exceptions=True)
    failed = [index for index, result in enumerate(results) if isinstance(result, Exception)]
    assert failed == [150]
    assert "died" in str(results[150])
    assert [r.text for r in results[:150]] == ["我很高兴"] * 150 and results[-1].text == "这个苹果手机"
    with pytest.raises(RuntimeError, match="died"):
        dying.correct_batch(texts, jobs=2)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("correct_spelling", "no", "correct_spelling must be true or false, got 'no'"),
        ("spelling_threshold", float("nan"), "spelling_threshold must be a finite number"),
        ("ranker_threshold", "0.5", "ranker_threshold must be a number"),
        ("ranker", 123, "ranker must be a string, got 123"),
    ],
)
def test_a_hand_edited_config_is_refused_once_naming_file_and_field(tmp_path, capsys, field, value, message):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({field: value}))
    lines = tmp_path / "in.txt"
    lines.write_text("我很gaoxing\n" * 5)
    assert main(["correct", "--config", str(config), "--input", str(lines)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(config) in err and message in err, err


def test_a_ranker_that_fails_to_load_is_reported_once_not_per_line(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"ranker": str(tmp_path / "missing.json")}))
    lines = tmp_path / "in.txt"
    lines.write_text("我很gaoxing\n" * 5)
    assert main(["correct", "--config", str(config), "--input", str(lines)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.json" in err


def test_a_cache_under_an_unknown_users_home_is_one_line(tmp_path, capsys, monkeypatch):
    from lmcommon import cache

    monkeypatch.setenv(cache.CACHE_ENV, "~nouser-pesc-probe/cache")
    with pytest.raises(ValueError, match=r"LMCOMMON_CACHE=~nouser-pesc-probe/cache: no such user"):
        cache.cache_dir()


def test_input_from_a_fifo_and_a_device(tmp_path, capsys, checker):
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text("我很gaoxing\n", encoding="utf-8"))
    writer.start()
    assert main(["correct", "--input", str(fifo)]) == 0
    writer.join()
    assert capsys.readouterr().out == "我很高兴\n"
    assert main(["correct", "--input", os.devnull]) == 0
    assert capsys.readouterr().out == ""


def test_a_damaged_gzip_input_is_one_line(tmp_path, capsys):
    path = tmp_path / "in.txt.gz"
    path.write_bytes(b"not gzip at all\n")
    assert main(["correct", "--input", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "damaged gzip file" in err and str(path) in err


def test_a_byte_order_mark_does_not_change_the_first_rows_score(tmp_path, capsys):
    gold = tmp_path / "gold.jsonl"
    write_jsonl(gold, [{"id": "1", "source": "我qu北京", "target": "我去北京", "kind": "pinyin", "subset": "s"}])
    scores = []
    for prefix in (b"", b"\xef\xbb\xbf"):
        predictions = tmp_path / "predictions.txt"
        predictions.write_bytes(prefix + "我去北京\n".encode())
        assert main(["evaluate", "--predictions", str(predictions), "--gold", str(gold)]) == 0
        scores.append(capsys.readouterr().out)
    assert scores[0] == scores[1] and "1.000" in scores[1]


def test_train_ranker_refuses_to_write_over_its_training_pairs(tmp_path, capsys):
    pairs = tmp_path / "p.tsv"
    pairs.write_text("我在家\t我再家\n")
    assert main(["train-ranker", "--pairs", str(pairs), "--output", str(pairs)]) == 2
    assert "is the --pairs input" in capsys.readouterr().err
    assert pairs.read_text() == "我在家\t我再家\n"


def test_build_benchmark_cut_short_by_a_full_disk_keeps_the_old_set(tmp_path, capsys, monkeypatch):
    import errno

    import pesc.cli

    assert main(["build-benchmark", "--output", str(tmp_path / "b"), "--limit", "5"]) == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()}
    real, written = pesc.cli.write_jsonl, []

    def fills_up(path, rows):
        if len(written) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        written.append(path)
        return real(path, rows)

    monkeypatch.setattr(pesc.cli, "write_jsonl", fills_up)
    assert main(["build-benchmark", "--output", str(tmp_path / "b"), "--limit", "5", "--seed", "1"]) == 2
    assert "previous outputs are kept" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]
