"""Sound-alike words (the input method's other words of a reading) and the benchmark's ``soundalike`` rows."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from pesc.benchmark import Pair, make_row
from pesc.inject import InjectionConfig
from pesc.lexicon import default_lexicon
from pesc.metrics import metrics_by_kind
from pesc.sound_alike import OFFERED_PER_READING, offered_instead, sound_alike_words

SENTENCE = "我们明天一起去图书馆看书。"
SHIPPED = Path(__file__).resolve().parents[2] / "data" / "pesc"


@pytest.fixture(scope="module")
def lexicon():
    return default_lexicon()


@pytest.mark.parametrize(
    ("word", "sound_alike"), [("一起", "一期"), ("记录", "纪录"), ("权力", "全力"), ("集体", "机体")]
)
def test_the_known_sound_alike_pairs_are_offered(lexicon, word, sound_alike):
    offered = [entry.word for entry in sound_alike_words(lexicon, word)]
    assert sound_alike in offered and word not in offered
    assert all(len(other) == len(word) for other in offered) and len(offered) <= OFFERED_PER_READING
    logps = [entry.logp for entry in sound_alike_words(lexicon, word)]
    assert logps == sorted(logps, reverse=True)  # most frequent first, as an input method lists them


def test_a_reading_with_no_other_word_offers_nothing(lexicon):
    assert sound_alike_words(lexicon, "我们") == [] and offered_instead(lexicon, "我们", random.Random(0)) is None


def test_the_drawn_word_follows_frequency(lexicon):
    draws = [offered_instead(lexicon, "一起", random.Random(seed)) for seed in range(300)]
    offered = [entry.word for entry in sound_alike_words(lexicon, "一起")]
    assert set(draws) <= set(offered)
    assert draws.count(offered[0]) > draws.count(offered[-1])  # the page's first word is picked more often


def test_soundalike_rows_replace_whole_words_and_are_reproducible_from_the_seed():
    config = InjectionConfig(soundalike_sentence_rate=1.0, max_soundalike_words=2)
    rows = [make_row(Pair(SENTENCE, SENTENCE, "test"), "synthetic", f"t-{i}", config, 13) for i in range(20)]
    again = [make_row(Pair(SENTENCE, SENTENCE, "test"), "synthetic", f"t-{i}", config, 13) for i in range(20)]
    assert rows == again
    assert len({row["source"] for row in rows}) > 3  # the seed and the row's id choose the words and the swaps
    for row in rows:
        assert row["kind"] == "soundalike" and row["target"] == SENTENCE and len(row["source"]) == len(SENTENCE)
        assert 1 <= len(row["edits"]) <= 2
        rebuilt = list(row["source"])
        for edit in row["edits"]:
            assert edit["kind"] == "soundalike" and row["source"][edit["start"] : edit["end"]] == edit["original"]
            assert edit["original"] != edit["replacement"] and len(edit["original"]) >= 2
            rebuilt[edit["start"] : edit["end"]] = edit["replacement"]
        assert "".join(rebuilt) == SENTENCE
    other_seed = [make_row(Pair(SENTENCE, SENTENCE, "test"), "synthetic", f"t-{i}", config, 14) for i in range(20)]
    assert other_seed != rows


def test_human_rows_and_the_default_rate_get_no_soundalike_words():
    config = InjectionConfig(soundalike_sentence_rate=1.0)
    human = make_row(Pair("我们明天一期去", "我们明天一起去", "sighan"), "human", "h-0", config, 13)
    assert human["kind"] != "soundalike"
    default = [
        make_row(Pair(SENTENCE, SENTENCE, "t"), "synthetic", f"t-{i}", InjectionConfig(), 13) for i in range(20)
    ]
    assert all(row["kind"] != "soundalike" for row in default)


def test_the_shipped_benchmark_rebuilds_unchanged_with_the_default_rate():
    rows = [json.loads(line) for line in (SHIPPED / "test.jsonl").read_text(encoding="utf-8").splitlines()]
    seed = json.loads((SHIPPED / "build_config.json").read_text())["seed"]
    synthetic = [row for row in rows if row["subset"] == "synthetic"][:40]
    for row in synthetic:  # the sound-alike draw takes nothing from the row's random stream at rate 0
        assert (
            make_row(
                Pair(row["target"], row["target"], row["origin"]), "synthetic", row["id"], InjectionConfig(), seed
            )
            == row
        )


def test_soundalike_rows_have_their_own_line_in_the_metrics():
    rows = [
        {"source": "我们一期去", "target": "我们一起去", "kind": "soundalike"},
        {"source": "我在家", "target": "我在家", "kind": "none"},
    ]
    report = metrics_by_kind(rows, ["我们一起去", "我在家"])
    assert list(report) == ["all", "soundalike", "none"]
    assert report["soundalike"]["correction"]["f1"] == 1.0


def test_an_unknown_rate_is_refused():
    with pytest.raises(ValueError, match="soundalike_sentence_rate must be in"):
        InjectionConfig(soundalike_sentence_rate=1.5)
    with pytest.raises(ValueError, match="max_soundalike_words must be >= 1"):
        InjectionConfig(max_soundalike_words=0)
