from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pesc import SpellChecker, apply_edits
from pesc.script import is_traditional, to_simplified


def test_scripts_are_told_apart():
    assert is_traditional("我們今天很高興，這個軟體很好用。")
    assert not is_traditional("我们今天很高兴，这个软件很好用。")
    assert not is_traditional("今天天气不错")  # characters common to both: nothing to convert
    assert not is_traditional("Hello, world! 123")


def test_simplified_form_keeps_every_offset():
    text = "「這個」軟體，ＡＢＣ abc 123😀"
    assert len(to_simplified(text)) == len(text)
    assert to_simplified(text).startswith("「这个」软体")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我們今天很gaoxing", "我們今天很高興"),  # the pinyin becomes Traditional characters
        ("他每天都很努歷地學習。", "他每天都很努力地學習。"),
        ("我們要保護環竟。「你好」ABC abc", "我們要保護環境。「你好」ABC abc"),
        ("wm明天見", "我們明天見"),
    ],
)
def test_traditional_text_is_corrected_in_traditional(checker, text, expected):
    result = checker.correct(text)
    assert result.text == expected
    assert apply_edits(text, result.edits) == result.text


def test_script_can_be_forced_and_is_checked(checker):
    simplified = SpellChecker(lexicon=checker.lexicon, lm=checker.lm, script="simplified")
    # forced Simplified: the pinyin is written in Simplified characters even among Traditional ones
    assert simplified.correct("我們今天很gaoxing").text == "我們今天很高兴"
    traditional = SpellChecker(lexicon=checker.lexicon, lm=checker.lm, script="traditional")
    assert traditional.correct("今天很gaoxing").text == "今天很高興"
    with pytest.raises(ValueError, match="script must be one of"):
        SpellChecker(script="cantonese")


_TRADITIONAL_PIECES = st.one_of(
    st.sampled_from(list("我們這個軟體環竟學習歷說話「」，。！？、 ")),
    st.sampled_from(["gaoxing", "ABC", "abc", "123", "😀", "\u0301", "ｇａｏ", "乾", "後", "髮", "裡", "裏"]),
    st.text(max_size=5),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.lists(_TRADITIONAL_PIECES, max_size=20).map("".join))
def test_untouched_characters_come_back_byte_for_byte(checker, text):
    traditional = SpellChecker(lexicon=checker.lexicon, lm=checker.lm, script="traditional")
    result = traditional.correct(text)
    # apply_edits copies every character between the edits from the source: equality means each one the checker
    # did not change is the user's own (variants such as 裡/裏, punctuation, Latin, combining marks)
    assert apply_edits(text, result.edits) == result.text
    for edit in result.edits:
        assert text[edit.start : edit.end] == edit.original != edit.replacement
