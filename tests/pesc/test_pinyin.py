from __future__ import annotations

import pytest

from pesc.pinyin import split_syllables, syllables, toneless


def test_toneless():
    assert toneless("gāo") == "gao"
    assert toneless("lǘ") == "lv"
    assert toneless("nǚ") == "nv"


@pytest.mark.parametrize(
    ("letters", "expected"),
    [
        ("gaoxing", [["gao", "xing"]]),
        ("xian", [["xian"]]),  # the fewest syllables
        ("xi'an", [["xi", "an"]]),  # an apostrophe forces a boundary
        ("fangan", [["fang", "an"], ["fan", "gan"]]),  # ambiguous: both kept for the language model
        ("zhongguo", [["zhong", "guo"]]),
        ("nvren", [["nv", "ren"]]),
        ("python", []),
        ("cpu", []),
        ("", []),
    ],
)
def test_split_syllables(letters, expected):
    assert split_syllables(letters) == expected


def test_inventory_has_no_vowelless_syllables():
    inventory = syllables()
    assert {"gao", "xing", "zhuang", "lv", "er"} <= inventory
    assert not {"ng", "hm", "m", "n"} & inventory


def test_a_word_reads_as_pypinyin_reads_it():
    from pesc.pinyin import word_reading

    assert word_reading("落实") == ("luo", "shi")
    assert word_reading("格式") == ("ge", "shi")  # 格 also reads luo, but not in this word
    assert word_reading("银行行长") == ("yin", "hang", "hang", "zhang")  # phrases first, longest from the left
    assert word_reading("绿色") == ("lv", "se")


def test_luoshi_cannot_decode_to_a_word_that_is_not_read_so(checker):
    lexicon = checker.lexicon
    assert "落实" in [entry.word for entry in lexicon.spelt(("luo", "shi"))]
    assert "格式" not in [entry.word for entry in lexicon.spelt(("luo", "shi"))]
    assert "格式" in [entry.word for entry in lexicon.spelt(("ge", "shi"))]
    assert checker.correct("他luoshi了计划").text == "他落实了计划"


def test_each_word_is_listed_once_under_a_reading(checker):
    # 行 has the letter keys h and x; it must still appear once under the syllable xing
    words = [entry.word for entry in checker.lexicon.spelt(("xing",))]
    assert "行" in words
    assert len(words) == len(set(words))
