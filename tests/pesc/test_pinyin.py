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
