from __future__ import annotations

import math

import pytest

from pesc.candidate_features import FEATURES, PairStatistics, candidate_features, relation
from pesc.lexicon import Lexicon

COUNTS = {"环境": 500, "环": 50, "境": 40, "竟": 30, "保护": 400, "在": 5000, "再": 800, "做": 900, "作": 600}


@pytest.fixture(scope="module")
def lexicon():
    return Lexicon(COUNTS)


@pytest.mark.parametrize(
    ("original", "candidate", "expected"),
    [
        ("再", "在", (1.0, 0.0, 0.0, 0.0)),  # zai4 / zai4 in pycorrector's same-pinyin table, same tone
        ("己", "给", (1.0, 0.0, 0.0, 0.0)),  # the table lists 给 (ji3) beside 己
        ("己", "记", (0.0, 1.0, 0.0, 1.0)),  # its other-tone column, and a same-stroke group of both
        ("兴", "心", (0.0, 0.0, 1.0, 0.0)),  # xing / xin: not in the table, but learners blur in and ing
        ("龙", "拢", (0.0, 1.0, 0.0, 1.0)),  # long2 / long3, and alike in shape
        ("龙", "再", (0.0, 0.0, 0.0, 0.0)),
    ],
)
def test_the_confusion_relation(original, candidate, expected):
    assert relation(original, candidate) == expected


def test_pair_statistics_count_and_take_out():
    statistics = PairStatistics.from_pairs({"再在": 3, "作做": 1})
    assert statistics.pairs["再在"] == 3 and statistics.as_error["再"] == 3 and statistics.as_fix["做"] == 1
    statistics.add("作", "做", -1)  # leave one out: a sentence's own correction
    assert statistics.pairs["作做"] == 0 and statistics.as_error["作"] == 0 and statistics.as_fix["在"] == 3


def test_features_of_a_hand_made_case(lexicon):
    statistics = PairStatistics.from_pairs({"竟境": 4})
    clause = list("保护环竟")
    features = dict(
        zip(
            FEATURES,
            candidate_features(lexicon, statistics, clause, 3, "境", 9.0, 2.0, 1.5, 3, 0),
            strict=True,
        )
    )
    assert len(features) == len(FEATURES)
    assert features["lm_gain"] == 9.0 and features["char_gain"] == 2.0 and features["margin"] == 7.5
    assert features["candidates"] == 3.0
    assert features["original_logp"] == pytest.approx(math.log(30 / lexicon.total))
    assert features["candidate_logp"] == pytest.approx(math.log(40 / lexicon.total))
    assert features["original_word_length"] == 0.0 and features["original_word_logp"] == -30.0  # 环竟 is no word
    assert features["candidate_word_length"] == 2.0  # 环境
    assert features["candidate_word_logp"] == pytest.approx(math.log(500 / lexicon.total))
    assert features["pair_corrections"] == pytest.approx(math.log1p(4))
    assert features["original_as_error"] == pytest.approx(math.log1p(4))
    assert features["candidate_as_fix"] == pytest.approx(math.log1p(4))
    assert (features["offset"], features["chars_after"], features["clause_length"]) == (3.0, 0.0, 4.0)
    assert features["suspect_reason"] == 0.0


def test_the_margin_without_other_candidates_is_the_gain(lexicon):
    row = candidate_features(lexicon, PairStatistics(), list("在家"), 0, "再", 4.0, 0.0, None, 1, 0)
    assert row[FEATURES.index("margin")] == 4.0
    assert row[FEATURES.index("pair_corrections")] == 0.0


@pytest.mark.faults
def test_a_candidates_features_read_a_window_not_the_whole_clause(lexicon, monkeypatch):
    # the long-clause probe: copying the whole clause per candidate made one 120,000-character line take 43 s
    import pesc.candidate_features as module

    seen = []
    word_through = module._word_through
    monkeypatch.setattr(
        module, "_word_through", lambda lex, chars, at: seen.append(len(chars)) or word_through(lex, chars, at)
    )
    clause = list("保护环竟" * 5000)
    short = candidate_features(lexicon, PairStatistics(), list("保护环竟"), 3, "境", 1.0, 0.5, None, 2, 1)
    long = candidate_features(lexicon, PairStatistics(), clause, 10003, "境", 1.0, 0.5, None, 2, 1)
    assert max(seen) <= 7  # the position and three characters either side: constant work per candidate
    # the same words are found through the position: only the position features differ
    named = dict(zip(FEATURES, long, strict=True))
    assert named["candidate_word_length"] == 2.0 and named["clause_length"] == 20000.0
    differs = {name for name, a, b in zip(FEATURES, short, long, strict=True) if a != b}
    assert differs == {"offset", "chars_after", "clause_length"}
