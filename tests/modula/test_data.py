from __future__ import annotations

import collections

import pytest

from lmcommon.errors import DataError
from modula.data import balanced_mix, read_chat_rows


def test_balanced_mix():
    rows = [{"domain": "math", "i": i} for i in range(10)] + [{"domain": "medical", "i": i} for i in range(3)]
    mix = balanced_mix(rows, ["math", "medical"], seed=1)
    assert collections.Counter(r["domain"] for r in mix) == {"math": 10, "medical": 10}
    assert {r["i"] for r in mix if r["domain"] == "medical"} == {0, 1, 2}  # every row of the small domain used
    assert mix == balanced_mix(rows, ["math", "medical"], seed=1)  # deterministic per seed
    assert collections.Counter(r["domain"] for r in balanced_mix(rows, ["math", "medical"], 4)) == {
        "math": 4,
        "medical": 4,
    }


def test_balanced_mix_errors():
    rows = [{"domain": "math"}]
    with pytest.raises(ValueError, match=r"no rows with domain \['medical'\]"):
        balanced_mix(rows, ["math", "medical"])
    with pytest.raises(ValueError, match="domain 'law' is not one of \\['math'\\]"):
        balanced_mix([*rows, {"domain": "law"}], ["math"])


def test_balanced_mix_by_answer_repeats_the_rare_labels():
    rows = [{"answer": "neutral", "i": i} for i in range(6)] + [{"answer": "negative", "i": 9}]
    mix = balanced_mix(rows, ["neutral", "negative"], 4, seed=0, key="answer")
    assert collections.Counter(r["answer"] for r in mix) == {"neutral": 4, "negative": 4}
    assert len({r["i"] for r in mix if r["answer"] == "neutral"}) == 4  # no repeat before every row was drawn


def test_read_chat_rows_names_the_bad_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"prompt": "p", "response": "r"}\n{"prompt": "p"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"train\.jsonl:2: field 'response': missing required field"):
        read_chat_rows(path)
    path.write_text('{"prompt": "p", "response": 3}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"train\.jsonl:1: field 'response': must be a string"):
        read_chat_rows(path)
    path.write_text('{"prompt": "p", "response": "r"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"field 'domain': missing"):
        read_chat_rows(path, require_domain=True)
    path.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="no examples"):
        read_chat_rows(path)
