from __future__ import annotations

import logging
import math

import pytest

from pesc.lm import UnigramLM, default_model_path, resolve_language_model

kenlm = pytest.importorskip("kenlm", reason="the kenlm module (pip install 'pesc[lm]') is not installed")

from pesc.lm import KenLM  # noqa: E402  (needs kenlm)

LOG10 = math.log(10.0)
# log10 probabilities of a tiny bigram model in which 跑 is followed by 得 and 我 by 的
UNIGRAMS = {
    "<unk>": -6.0,
    "<s>": -99.0,
    "</s>": -1.0,
    "我": -1.0,
    "跑": -1.5,
    "的": -1.0,
    "得": -2.0,
    "地": -2.0,
    "很": -1.2,
    "快": -1.5,
    "是": -1.2,
    "这": -1.3,
    "朋": -3.0,
    "友": -3.0,
    "朋友": -1.8,
}
BIGRAMS = {
    ("<s>", "我"): -0.3,
    ("<s>", "这"): -0.5,
    ("我", "跑"): -0.5,
    ("跑", "得"): -0.2,
    ("跑", "的"): -2.5,
    ("得", "很"): -0.2,
    ("的", "很"): -2.5,
    ("我", "的"): -0.2,
    ("的", "朋友"): -0.3,
    ("这", "是"): -0.2,
    ("是", "我"): -0.4,
}


def write_arpa(path, unigrams=UNIGRAMS, bigrams=BIGRAMS):
    lines = ["\\data\\", f"ngram 1={len(unigrams)}", f"ngram 2={len(bigrams)}", "", "\\1-grams:"]
    lines += [f"{logp}\t{word}\t0" for word, logp in unigrams.items()]
    lines += ["", "\\2-grams:"]
    lines += [f"{logp}\t{first} {second}" for (first, second), logp in bigrams.items()]
    lines += ["", "\\end\\", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def tiny_arpa(tmp_path):
    return write_arpa(tmp_path / "tiny.arpa")


def test_an_arpa_model_scores_in_natural_log_with_context(tiny_arpa):
    lm = KenLM(tiny_arpa)
    assert lm.order == 2
    logp, state = lm.score(lm.start(True), "我")
    assert logp == pytest.approx(-0.3 * LOG10, abs=1e-5)  # the bigram <s> 我
    logp, state = lm.score(state, "跑")
    assert logp == pytest.approx(-0.5 * LOG10, abs=1e-5)  # the bigram 我 跑
    assert lm.score(state, "得")[0] == pytest.approx(-0.2 * LOG10, abs=1e-5)
    # no bigram 跑 很: back off (weight 0) to the unigram 很
    assert lm.score(state, "很")[0] == pytest.approx(-1.2 * LOG10, abs=1e-5)
    # without context 我 is just the unigram
    assert lm.score(lm.start(False), "我")[0] == pytest.approx(-1.0 * LOG10, abs=1e-5)
    assert lm.end(lm.score(lm.start(False), "快")[1]) == pytest.approx(-1.0 * LOG10, abs=1e-5)
    assert lm.knows("朋友") and not lm.knows("快乐")


def test_words_outside_the_vocabulary_are_scored_as_their_characters(tiny_arpa):
    lm = KenLM(tiny_arpa)
    # 很快 is no word of the model: it is scored as 很 then 快, not as one <unk>
    nothing = lm.start(False)
    logp, state = lm.score(nothing, "很快")
    assert logp == pytest.approx((-1.2 - 1.5) * LOG10, abs=1e-5)
    assert state == lm.score(lm.score(nothing, "很")[1], "快")[1]  # the state after 快
    assert lm.score(nothing, "龘")[0] == pytest.approx(-6.0 * LOG10, abs=1e-5)  # a lone unknown character


def test_bad_model_files_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.lm"):
        KenLM(tmp_path / "missing.lm")
    garbage = tmp_path / "garbage.lm"
    garbage.write_text("this is not a language model\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"garbage\.lm: not a KenLM binary or ARPA"):
        KenLM(garbage)


def test_a_checker_named_a_missing_model_fails_at_once(tmp_path):
    from pesc import SpellChecker

    with pytest.raises(FileNotFoundError, match=r"nowhere\.lm"):
        SpellChecker(lm=tmp_path / "nowhere.lm")


def test_missing_kenlm_module_says_how_to_install_it(tiny_arpa, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "kenlm", None)
    with pytest.raises(ImportError, match=r"pip install 'pesc\[lm\]'"):
        KenLM(tiny_arpa)


def test_context_decides_between_homophones_with_the_model(checker, tiny_arpa):
    from pesc import SpellChecker

    with_lm = SpellChecker(lexicon=checker.lexicon, lm=str(tiny_arpa))
    assert with_lm.correct("我跑de很快").text == "我跑得很快"
    assert with_lm.correct("这是我de朋友").text == "这是我的朋友"
    # the unigram model cannot see 跑: the most frequent "de" wins everywhere
    unigram = SpellChecker(lexicon=checker.lexicon, lm="unigram")
    assert unigram.correct("我跑de很快").text == "我跑的很快"


def test_auto_falls_back_to_the_unigram_with_one_notice(monkeypatch, caplog):
    import pesc.lm

    monkeypatch.delenv("PESC_LM", raising=False)
    monkeypatch.setattr(pesc.lm, "_LIBIME_PATHS", ())
    pesc.lm._notice_once.cache_clear()
    lexicon = object()
    with caplog.at_level(logging.WARNING, logger="pesc.lm"):
        first = resolve_language_model("auto", lambda: lexicon)
        second = resolve_language_model("auto", lambda: lexicon)
    assert isinstance(first, UnigramLM) and isinstance(second, UnigramLM)
    assert first.lexicon is lexicon
    notices = [r.getMessage() for r in caplog.records if "no n-gram language model found" in r.getMessage()]
    assert len(notices) == 1
    assert "apt-get install libime-data-language-model" in notices[0] and "PESC_LM" in notices[0]


def test_pesc_lm_names_the_model(monkeypatch, tiny_arpa, tmp_path):
    monkeypatch.setenv("PESC_LM", str(tiny_arpa))
    assert default_model_path() == tiny_arpa
    assert isinstance(resolve_language_model("auto", lambda: None), KenLM)
    monkeypatch.setenv("PESC_LM", str(tmp_path / "nowhere.lm"))
    with pytest.raises(FileNotFoundError, match=r"PESC_LM=.*nowhere\.lm"):
        resolve_language_model("auto", lambda: None)
    monkeypatch.setenv("PESC_LM", "unigram")
    assert isinstance(resolve_language_model("auto", lambda: "lexicon"), UnigramLM)


def test_the_threshold_follows_the_model_unless_configured(checker, tiny_arpa):
    from pesc import SpellChecker
    from pesc.config import CheckerConfig

    assert SpellChecker(lexicon=checker.lexicon, lm="unigram").spelling_threshold == UnigramLM.spelling_threshold
    assert SpellChecker(lexicon=checker.lexicon, lm=str(tiny_arpa)).spelling_threshold == KenLM.spelling_threshold
    configured = SpellChecker(CheckerConfig(spelling_threshold=3.5), lexicon=checker.lexicon, lm="unigram")
    assert configured.spelling_threshold == 3.5


LIBIME = default_model_path() if default_model_path() and default_model_path().suffix == ".lm" else None


@pytest.mark.integration
@pytest.mark.skipif(
    LIBIME is None, reason="libime's model is absent: apt-get install libime-data-language-model (Debian/Ubuntu)"
)
class TestLibimeModel:
    def test_the_binary_model_loads_and_is_the_default(self, checker):
        lm = KenLM(LIBIME)
        assert lm.order == 3
        assert lm.knows("朋友") and lm.knows("落实")
        assert isinstance(checker.lm, KenLM)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("他shi我的朋友", "他是我的朋友"),
            ("那个shi候我还小", "那个时候我还小"),
            ("我跑de很快", "我跑得很快"),
            ("这是我de朋友", "这是我的朋友"),
            ("我xiang去北京", "我想去北京"),
            ("我们明天zai见", "我们明天再见"),
            ("他zai家吃饭", "他在家吃饭"),
        ],
    )
    def test_context_decides(self, checker, text, expected):
        assert checker.correct(text).text == expected
