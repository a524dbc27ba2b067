from __future__ import annotations

import logging

import pytest

from lmcommon.cache import CACHE_ENV
from pesc.charlm import CharacterModel
from pesc.lexicon import Lexicon
from pesc.tables import cached_tables, entry_name

COUNTS = {"高兴": 50, "高": 20, "兴": 5, "行": 30, "银行": 40, "我们": 90, "朋友": 60}


def test_a_lexicon_read_back_from_its_tables_answers_as_the_one_built():
    built = Lexicon(COUNTS)
    read = Lexicon.from_tables(built.to_tables())
    assert read.logp == built.logp and read.prefixes == built.prefixes
    for key in ("gx", "g", "x", "h", "yh", "wm"):
        assert read.candidates(key) == built.candidates(key)
    assert [e.word for e in read.spelt(("yin", "hang"))] == ["银行"]
    assert read.spelt(("xing",))[0].readings == built.spelt(("xing",))[0].readings
    assert read.letters("行") == built.letters("行") == "hx"


def test_a_character_model_read_back_from_its_tables_scores_the_same():
    built = CharacterModel({word: float(count) for word, count in COUNTS.items()})
    read = CharacterModel.from_tables(built.to_tables())
    for text in ("高兴", "我们的朋友", "银行行", "x"):
        assert read.score(text) == built.score(text)


class Counting:
    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    return tmp_path


def test_tables_are_built_once_then_read(cache):
    build = Counting({"a": [1, 2], "b": b"\x00\x01"})
    assert cached_tables("toy", build, "toy tables") == {"a": [1, 2], "b": b"\x00\x01"}
    assert cached_tables("toy", build, "toy tables") == {"a": [1, 2], "b": b"\x00\x01"}
    assert build.calls == 1
    assert (cache / entry_name("toy")).is_dir()


@pytest.mark.faults
def test_damaged_tables_are_rebuilt_with_a_warning(cache, caplog):
    build = Counting({"a": list(range(1000))})
    cached_tables("toy", build, "toy tables")
    (cache / entry_name("toy") / "tables.marshal").write_bytes(b"\x00" * 10)
    with caplog.at_level(logging.WARNING):
        assert cached_tables("toy", build, "toy tables") == {"a": list(range(1000))}
    assert build.calls == 2
    assert sum("damaged" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.faults
def test_tables_that_verify_but_do_not_load_are_rebuilt(cache, caplog, monkeypatch):
    build = Counting({"a": 1})
    cached_tables("toy", build, "toy tables")
    import pesc.tables

    real = pesc.tables.marshal.loads
    calls = []

    def loads_once_broken(data):
        calls.append(1)
        if len(calls) == 1:
            raise EOFError("marshal data too short")
        return real(data)

    monkeypatch.setattr(pesc.tables.marshal, "loads", loads_once_broken)
    with caplog.at_level(logging.WARNING):
        assert cached_tables("toy", build, "toy tables") == {"a": 1}
    assert build.calls == 2
    assert any("does not load" in r.getMessage() for r in caplog.records)


@pytest.mark.faults
def test_a_new_version_is_a_new_entry_not_a_stale_read(cache, monkeypatch):
    cached_tables("toy", Counting({"v": 1}), "toy tables")
    monkeypatch.setattr("pesc.tables.TABLES_FORMAT", 999)
    assert cached_tables("toy", Counting({"v": 2}), "toy tables") == {"v": 2}
    assert len([p for p in cache.iterdir() if p.name.startswith("pesc-")]) == 2
