"""What the learned decision (:mod:`pesc.ranker`) knows about one misspelling candidate: the language models'
gains, how common each character is, whether each makes a dictionary word there, how the two characters are
confused (same pinyin and tone, same pinyin, similar pinyin, similar shape), how often the pair was a correction
in the training data, and where the character stands in its clause."""

from __future__ import annotations

import functools
import math
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources

from pesc.confusion import confusion_set
from pesc.lexicon import Lexicon
from pesc.pinyin import char_readings

FEATURES = (
    "lm_gain",  # the word model's gain (nats) over the window when the candidate replaces the character
    "char_gain",  # the character model's gain over the same window
    "margin",  # lm_gain minus the best other candidate's lm_gain at this position
    "candidates",  # how many candidates the position has
    "original_logp",  # log P of the original character as a word of its own
    "candidate_logp",
    "original_word_length",  # longest dictionary word (2-4 characters) through the position, as written
    "candidate_word_length",  # the same with the candidate in place
    "original_word_logp",  # log P of the most frequent such word (-30 without one)
    "candidate_word_logp",
    "same_pinyin_same_tone",
    "same_pinyin_other_tone",
    "similar_pinyin",  # readings that differ only as learners confuse them (z/zh, n/l, an/ang, ...)
    "same_stroke",
    "pair_corrections",  # log(1 + times original -> candidate was a correction in the training data)
    "original_as_error",  # log(1 + times the original character was the misspelt one)
    "candidate_as_fix",  # log(1 + times the candidate was the correction)
    "suspect_reason",  # 0: a single-character word, 1: part of a word the language model does not know
    "offset",
    "chars_after",
    "clause_length",
)
_NO_WORD_LOGP = -30.0
_LONGEST_WORD = 4  # the longest dictionary word _word_through looks for
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"), ("r", "l"), ("f", "h"))
_FUZZY_FINALS = (("iang", "ian"), ("uang", "uan"), ("ang", "an"), ("eng", "en"), ("ing", "in"))


def _fuzzy(syllable: str) -> str:
    """A syllable with the distinctions learners blur removed (zhang -> zan, ling -> lin)."""
    for long, short in _FUZZY_INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long) :]
            break
    for long, short in _FUZZY_FINALS:
        if syllable.endswith(long):
            return syllable[: -len(long)] + short
    return syllable


@functools.cache
def _same_tone() -> dict[str, frozenset[str]]:
    """The first column of ``same_pinyin.txt``: characters with the same pinyin and the same tone."""
    text = resources.files("pesc").joinpath("resources", "same_pinyin.txt").read_text(encoding="utf-8")
    table: dict[str, frozenset[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            head, *columns = line.split("\t")
            table[head] = frozenset(columns[0]) if columns else frozenset()
    return table


def relation(original: str, candidate: str) -> tuple[float, float, float, float]:
    """(same pinyin and tone, same pinyin another tone, similar pinyin, same shape) as 0/1."""
    same_tone = candidate in _same_tone().get(original, ()) or original in _same_tone().get(candidate, ())
    readings = char_readings()
    mine, theirs = readings.get(original, frozenset()), readings.get(candidate, frozenset())
    same_pinyin = bool(mine & theirs)
    similar = not same_pinyin and bool({_fuzzy(s) for s in mine} & {_fuzzy(s) for s in theirs})
    shape = candidate in confusion_set("same_stroke").get(original, ())
    return float(same_tone), float(same_pinyin and not same_tone), float(similar), float(shape)


@dataclass
class PairStatistics:
    """Correction counts from the training data: each ``original + replacement`` pair, and its two sides."""

    pairs: Counter = field(default_factory=Counter)
    as_error: Counter = field(default_factory=Counter)
    as_fix: Counter = field(default_factory=Counter)

    @classmethod
    def from_pairs(cls, pairs: dict[str, int]) -> PairStatistics:
        statistics = cls()
        for pair, count in pairs.items():
            statistics.add(pair[0], pair[1], count)
        return statistics

    def add(self, original: str, replacement: str, count: int = 1) -> None:
        """Counts a correction (a negative count takes one out: the training's leave-one-out)."""
        self.pairs[original + replacement] += count
        self.as_error[original] += count
        self.as_fix[replacement] += count


def _word_through(lexicon: Lexicon, chars: list[str], offset: int) -> tuple[float, float]:
    """(length, log P) of the longest, then most frequent, dictionary word of 2-4 characters through ``offset``."""
    known = lexicon.logp
    best = (0.0, _NO_WORD_LOGP)
    for length in range(2, _LONGEST_WORD + 1):
        for start in range(max(0, offset - length + 1), min(offset, len(chars) - length) + 1):
            logp = known.get("".join(chars[start : start + length]))
            if logp is not None and (length, logp) > best:
                best = (float(length), logp)
    return best


def candidate_features(
    lexicon: Lexicon,
    statistics: PairStatistics,
    clause: list[str],
    offset: int,
    candidate: str,
    lm_gain: float,
    char_gain: float,
    best_other_gain: float | None,
    candidates: int,
    suspect_reason: int,
) -> list[float]:
    """The feature vector of replacing ``clause[offset]`` by ``candidate``, in the order of :data:`FEATURES`."""
    original = clause[offset]
    # words through the position span at most 4 characters: look at that window only, so that the work per
    # candidate does not grow with the clause (a copy of the whole clause per candidate made long lines quadratic)
    start = max(0, offset - _LONGEST_WORD + 1)
    window = clause[start : offset + _LONGEST_WORD]
    at = offset - start
    original_word = _word_through(lexicon, window, at)
    candidate_word = _word_through(lexicon, [*window[:at], candidate, *window[at + 1 :]], at)
    return [
        lm_gain,
        char_gain,
        lm_gain - best_other_gain if best_other_gain is not None else lm_gain,
        float(candidates),
        lexicon.word_logp(original),
        lexicon.word_logp(candidate),
        original_word[0],
        candidate_word[0],
        original_word[1],
        candidate_word[1],
        *relation(original, candidate),
        math.log1p(statistics.pairs[original + candidate]),
        math.log1p(statistics.as_error[original]),
        math.log1p(statistics.as_fix[candidate]),
        float(suspect_reason),
        float(offset),
        float(len(clause) - offset - 1),
        float(len(clause)),
    ]
