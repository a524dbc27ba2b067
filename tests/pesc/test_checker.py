from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pesc import Correction, Edit, apply_edits
from pesc.config import CheckerConfig


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我今天很gaoxing", "我今天很高兴"),
        ("我们明天qu北京", "我们明天去北京"),
        ("这个pingguo手机", "这个苹果手机"),
        ("wm明天见", "我们明天见"),
        ("我很gao兴", "我很高兴"),
        ("我很GaoXing！", "我很高兴！"),
        ("women去吃fan吧", "我们去吃饭吧"),
        ("我今天很 gaoxing。", "我今天很高兴。"),  # the space typed before the Latin run goes too
        ("我们 zai jia 吃饭", "我们在家吃饭"),
        ("他每天都很努历地学习", "他每天都很努力地学习"),
        ("我们要保护环竟。", "我们要保护环境。"),
        ("真的不好以思。", "真的不好意思。"),
        ("wm要保护环竟", "我们要保护环境"),  # both kinds in one sentence
    ],
)
def test_realistic_errors_are_corrected(checker, text, expected):
    result = checker.correct(text)
    assert result.text == expected
    assert apply_edits(text, result.edits) == expected


def test_edits_describe_the_change(checker):
    result = checker.correct("我今天很gaoxing，我们要保护环竟")
    assert result.edits == (
        Edit(4, 11, "gaoxing", "高兴", "pinyin"),
        Edit(18, 19, "竟", "境", "spelling"),
    )
    assert result.changed
    assert result.to_dict()["edits"][0] == {
        "start": 4,
        "end": 11,
        "original": "gaoxing",
        "replacement": "高兴",
        "kind": "pinyin",
    }


@pytest.mark.parametrize(
    "text",
    [
        "我用Python写代码，运行pip install torch即可。",
        "这个iPhone的CPU很快",
        "请访问https://example.com/women查看，或发邮件到wo.men@example.com",
        "我买了5kg苹果，花了20元。",
        "他说：“OK，没问题！”",
        "全角标点：，。！？（）；半角标点: ,.!?();",
        "我听说，你找到新工作，我很高兴。",
        "",
    ],
)
def test_correct_text_english_code_and_punctuation_come_back_unchanged(checker, text):
    result = checker.correct(text)
    assert result.text == text
    assert result.edits == ()


def test_correct_batch_keeps_order(checker):
    texts = ["我今天很gaoxing", "没有错误的句子。", "wm明天见"]
    results = checker.correct_batch(texts)
    assert [r.source for r in results] == texts
    assert [r.text for r in results] == [checker.correct(t).text for t in texts]


def test_spelling_can_be_switched_off(checker):
    from pesc import SpellChecker

    pinyin_only = SpellChecker(CheckerConfig(correct_spelling=False), lexicon=checker.lexicon)
    assert pinyin_only.correct("保护环竟qu").text == "保护环竟去"


def test_spelling_threshold_trades_recall_for_precision(checker):
    from pesc import SpellChecker

    text = "这是程序正档原则的要求"
    threshold = SpellChecker(CheckerConfig(decision="threshold"), lexicon=checker.lexicon)
    assert threshold.correct(text).text == text  # the gain threshold is not sure enough
    eager = SpellChecker(CheckerConfig(decision="threshold", spelling_threshold=6.0), lexicon=checker.lexicon)
    assert eager.correct(text).text == "这是程序正当原则的要求"


def test_the_learned_decision_is_the_default_and_its_threshold_trades_recall_for_precision(checker):
    from pesc import SpellChecker

    assert checker.ranker is not None and checker.config.decision == "ranker"
    threshold = SpellChecker(CheckerConfig(decision="threshold"), lexicon=checker.lexicon)
    strict = SpellChecker(CheckerConfig(ranker_threshold=0.9999), lexicon=checker.lexicon)
    # misspellings of dev rows (a SIGHAN-13 learner error, an injected one) the gain threshold leaves and the
    # learned decision fixes
    examples = [
        ("我的国文成积也没有很好。", "我的国文成绩也没有很好。"),
        ("最初总铜只是象征式的国家元首，政务由国会主持。", "最初总统只是象征式的国家元首，政务由国会主持。"),
    ]
    for text, fixed in examples:
        assert checker.correct(text).text == fixed
        assert threshold.correct(text).text == text
        assert strict.correct(text).text == text
    with pytest.raises(ValueError, match="ranker_threshold is a probability"):
        CheckerConfig(ranker_threshold=1.5)
    with pytest.raises(ValueError, match="decision must be"):
        CheckerConfig(decision="vote")


def test_lexicon_loads_once_and_lazily():
    from pesc import SpellChecker

    first, second = SpellChecker(), SpellChecker()
    assert first._lexicon is None  # nothing loads before the first correction
    assert first.lexicon is second.lexicon


def test_non_string_input():
    from pesc import SpellChecker

    with pytest.raises(TypeError, match="text must be a str, got bytes"):
        SpellChecker().correct(b"abc")


def test_apply_edits_rejects_overlaps_and_mismatches():
    with pytest.raises(ValueError, match="overlaps"):
        apply_edits("abcdef", [Edit(0, 3, "abc", "x", "pinyin"), Edit(2, 4, "cd", "y", "pinyin")])
    with pytest.raises(ValueError, match="does not match"):
        apply_edits("abcdef", [Edit(0, 2, "xx", "y", "pinyin")])


_MIXED_TEXT = st.lists(
    st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),  # any Unicode: emoji, combining marks, ...
        st.sampled_from(list("我们今天很高兴去北京程序正档原则，。！ ")),
        st.sampled_from(["gaoxing", "qu", "wm", "women", "Python", "http://x.cn", "5kg", "GaoXing"]),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_MIXED_TEXT)
def test_never_raises_and_changes_only_what_the_edits_say(checker, text):
    result = checker.correct(text)
    assert isinstance(result, Correction)
    # apply_edits copies everything between the edits verbatim and checks each edit's original against the
    # source, so equality means nothing outside the reported edits changed
    assert apply_edits(text, result.edits) == result.text
    for edit in result.edits:
        assert edit.kind in ("pinyin", "spelling")
        assert edit.original != edit.replacement


def test_very_long_input_is_linear_and_exact(checker):
    text = "我今天很gaoxing，我们要保护环竟。😀\u0301" * 300
    result = checker.correct(text)
    assert result.text == "我今天很高兴，我们要保护环境。😀\u0301" * 300
    assert len(result.edits) == 600


def test_correct_batch_in_processes_keeps_order_and_results(checker):
    texts = ["我今天很gaoxing", "没有错误的句子。", "wm明天见", "我们要保护环竟。", "Hello world"] * 30
    assert checker.correct_batch(texts, jobs=2) == checker.correct_batch(texts)
    with pytest.raises(ValueError, match="jobs must be >= 1"):
        checker.correct_batch(texts, jobs=0)


@pytest.mark.parametrize(
    "text",
    ["我的朋友Elena来了", "她叫Lisa。", "Diana说"],  # capitalised like names: no single word, left alone
)
def test_names_capitalised_as_names_stay(checker, text):
    assert checker.correct(text).text == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # English words glued into Chinese, as people write them: no single common word, left alone
        ("我们明天开meeting吧", "我们明天开meeting吧"),
        ("这次的demo做得很好", "这次的demo做得很好"),
        ("他人很nice", "他人很nice"),
        # spelt like English words but one common word in pinyin: converted
        ("women明天见", "我们明天见"),
        ("我去taiwan玩", "我去台湾玩"),
    ],
)
def test_english_words_stay_unless_their_pinyin_is_one_common_word(checker, text, expected):
    assert checker.correct(text).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("我们能从家zoudao学校", "我们能从家走到学校"), ("政府处罚NinDe工厂", "政府处罚您的工厂")],
)
def test_syllables_typed_like_pinyin_become_characters_even_without_a_word(checker, text, expected):
    assert checker.correct(text).text == expected


def test_checker_config_files_fail_with_one_clear_line(tmp_path):
    from lmcommon.errors import DataError

    path = tmp_path / "checker.json"
    CheckerConfig(context_chars=4).save(path)
    assert CheckerConfig.load(path).context_chars == 4
    path.write_text('{"context_chars": 4,}', encoding="utf-8")
    with pytest.raises(DataError, match=r"checker\.json:1: invalid JSON"):
        CheckerConfig.load(path)
    path.write_text('{"context": 4}', encoding="utf-8")
    with pytest.raises(DataError, match=r"unknown CheckerConfig field\(s\) \['context'\]"):
        CheckerConfig.load(path)
    with pytest.raises(FileNotFoundError):
        CheckerConfig.load(tmp_path / "missing.json")


@pytest.mark.faults
def test_correct_batch_refuses_a_bare_string_and_can_return_failures_in_place(checker, monkeypatch):
    with pytest.raises(TypeError, match="not one string"):
        checker.correct_batch("我很gaoxing")
    real = type(checker).correct
    monkeypatch.setattr(type(checker), "correct", lambda self, t: 1 / 0 if t == "坏" else real(self, t))
    first, failed, last = checker.correct_batch(["我很gaoxing", "坏", "wm明天见"], return_exceptions=True)
    assert (first.text, last.text) == ("我很高兴", "我们明天见")
    assert isinstance(failed, ZeroDivisionError)
    with pytest.raises(ZeroDivisionError):
        checker.correct_batch(["坏"])


@pytest.mark.faults
def test_threads_sharing_a_cold_checker_build_its_lexicon_once(checker, monkeypatch):
    import threading
    import time

    import pesc.checker as checker_module
    from pesc import SpellChecker

    builds = []

    def slow_lexicon():
        builds.append(threading.get_ident())
        time.sleep(0.2)  # long enough for every thread to arrive while the first one builds
        return checker.lexicon

    monkeypatch.setattr(checker_module, "default_lexicon", slow_lexicon)
    cold = SpellChecker(lm="unigram")
    threads = [threading.Thread(target=cold.load) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1
    assert cold.lexicon is checker.lexicon
