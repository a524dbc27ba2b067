from __future__ import annotations

import pytest

from pesc import apply_edits
from pesc.baseline import LookupChecker


@pytest.fixture(scope="module")
def lookup(checker):
    return LookupChecker(checker.lexicon)


def test_pinyin_becomes_the_most_frequent_words_spelt_so(lookup):
    result = lookup.correct("我今天很gaoxing，wm明天见")
    assert result.text == "我今天很高兴，我们明天见"
    assert apply_edits(result.source, result.edits) == result.text


def test_it_sees_no_context_and_fixes_no_misspelling(lookup, checker):
    # "de" is 的 wherever it stands; the misspelled 竟 stays
    assert lookup.correct("我跑de很快").text == "我跑的很快"
    assert lookup.correct("我们要保护环竟。").text == "我们要保护环竟。"
    assert checker.correct("我们要保护环竟。").text == "我们要保护环境。"


def test_english_and_code_stay(lookup):
    for text in ["我用Python写代码", "他喜欢吃banana", "访问www.baidu.com即可"]:
        assert lookup.correct(text).text == text


def test_cli_evaluates_the_lookup(tmp_path, capsys):
    from lmcommon.data import write_jsonl
    from pesc.cli import main

    rows = [
        {"source": "我很gaoxing", "target": "我很高兴", "kind": "pinyin", "subset": "synthetic"},
        {"source": "朋唷来了", "target": "朋友来了", "kind": "spelling", "subset": "human"},
    ]
    write_jsonl(tmp_path / "rows.jsonl", rows)
    assert main(["evaluate", "--checker", "lookup", "--data", str(tmp_path / "rows.jsonl")]) == 0
    table = capsys.readouterr().out
    assert "| pinyin | 1 | 1.000 | 1.000 | 1.000 | 1.000 | 1.000 | 1.000 | – |" in table
    assert "| spelling | 1 | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 | – |" in table
