"""Beam search over a word lattice scored by a language model in context.

A sentence region is a sequence of units: fixed Chinese characters, full pinyin syllables and typed initials.
A word may cover any run of units whose characters it spells (a fixed character), whose reading it has (a
syllable) or whose reading starts with the letter (an initial), so ``gao兴``, ``gaoxing`` and ``gx`` all reach
高兴, and the choice is made over the whole region with the words around it, not word by word. Hypotheses that
end at the same unit in the same language-model state are merged (Viterbi); at most ``beam`` states survive per
unit.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable
from typing import NamedTuple

from pesc.lexicon import MAX_WORD_LENGTH, Lexicon
from pesc.lm import LanguageModel, State
from pesc.pinyin import default_char_reading

BEAM = 6
SEGMENT_BEAM = 3  # segmenting known characters: a narrower beam finds the same best path (checked on dev)
# a span of pinyin units proposes at most this many words (the most frequent that fit): an initial such as "g"
# fits thousands of words and the language model only needs the plausible ones
MAX_CANDIDATES = 48


class Unit(NamedTuple):
    kind: str  # "char" (a fixed Chinese character), "syl" (a full syllable) or "ini" (an initial letter)
    value: str


def _matches(entry_readings, span: tuple[Unit, ...], word: str) -> bool:
    for position, unit in enumerate(span):
        if unit.kind == "char":
            if word[position] != unit.value:
                return False
        elif unit.kind == "syl":
            if unit.value not in entry_readings[position]:
                return False
        elif not any(reading[0] == unit.value for reading in entry_readings[position]):
            return False
    return True


def _span_keys(lexicon: Lexicon, span: tuple[Unit, ...]) -> list[str]:
    options = []
    for unit in span:
        if unit.kind == "char":
            letters = lexicon.letters(unit.value)
            if not letters:
                return []
            options.append(letters)
        else:
            options.append(unit.value[0])
    return ["".join(key) for key in itertools.product(*options)]


def span_words(lexicon: Lexicon, lm: LanguageModel, span: tuple[Unit, ...]) -> list[str]:
    """The words that may cover ``span``: its own characters when it has no pinyin, else the most frequent
    lexicon words that fit every unit (and words of the language model's own vocabulary that fixed characters
    and one syllable spell: 运动员 + men -> 运动员们)."""
    if all(unit.kind == "char" for unit in span):
        word = "".join(unit.value for unit in span)
        return [word] if len(word) == 1 or word in lexicon.logp else []
    if all(unit.kind == "syl" for unit in span):
        return [entry.word for entry in lexicon.spelt(tuple(unit.value for unit in span))[:MAX_CANDIDATES]]
    return _mixed_span_words(lexicon, lm, span)


@functools.lru_cache(maxsize=100_000)
def _mixed_span_words(lexicon: Lexicon, lm: LanguageModel, span: tuple[Unit, ...]) -> list[str]:
    """Words for a span with initials or fixed characters among its syllables (``gx``, ``gao兴``)."""
    words: list[str] = []
    for key in _span_keys(lexicon, span):
        for entry in lexicon.candidates(key):
            if entry.word not in words and _matches(entry.readings, span, entry.word):
                words.append(entry.word)
                if len(words) >= MAX_CANDIDATES:
                    break
    pinyin = [index for index, unit in enumerate(span) if unit.kind != "char"]
    if len(pinyin) == 1 and span[pinyin[0]].kind == "syl":
        at = pinyin[0]
        prefix = "".join(unit.value for unit in span[:at])
        suffix = "".join(unit.value for unit in span[at + 1 :])
        if not all(not part or part in lexicon.logp or lm.knows(part) for part in (prefix, suffix)):
            return words  # the model's own compounds grow from words (运动员 + 们), not from any characters
        for entry in lexicon.spelt((span[at].value,))[:MAX_CANDIDATES]:
            word = prefix + entry.word + suffix
            if word not in words and word not in lexicon.logp and lm.knows(word):
                words.append(word)
    return words


def _rare_reading(span: tuple[Unit, ...], word: str) -> bool:
    """A single character typed with a reading other than its usual one (说 typed as yue)."""
    return len(span) == 1 and span[0].kind == "syl" and default_char_reading().get(word) != span[0].value


class _Hypothesis(NamedTuple):
    score: float
    start: int  # where its last word starts
    previous: State  # the language-model state of the hypothesis it extends
    word: str


# the words that may start at a position: [(end, word, extra log-probability), ...]
WordsAt = Callable[[int], Iterable[tuple[int, str, float]]]


def beam_search(
    lm: LanguageModel, length: int, words_at: WordsAt, sentence_start: bool, sentence_end: bool, beam: int
) -> tuple[float, list[tuple[int, int, str]]]:
    """The best path of words from position 0 to ``length`` under ``lm``, merging hypotheses in the same
    language-model state (Viterbi) and keeping the ``beam`` best states per position."""
    first = lm.start(sentence_start)
    if length == 0:
        return (lm.end(first) if sentence_end else 0.0), []
    # chart[i]: state after the words covering positions [0, i) -> best hypothesis ending there
    chart: list[dict[State, _Hypothesis]] = [{} for _ in range(length + 1)]
    chart[0][first] = _Hypothesis(0.0, -1, first, "")
    for start in range(length):
        if not chart[start]:
            continue
        alive = chart[start].items()
        if len(alive) > beam:
            alive = sorted(alive, key=lambda item: -item[1].score)[:beam]
        for stop, word, extra in words_at(start):
            cell = chart[stop]
            for state, hypothesis in alive:
                logp, following = lm.score(state, word)
                score = hypothesis.score + logp + extra
                best = cell.get(following)
                if best is None or score > best.score:
                    cell[following] = _Hypothesis(score, start, state, word)
    final = chart[length]
    if sentence_end:
        final = {state: hyp._replace(score=hyp.score + lm.end(state)) for state, hyp in final.items()}
    state, last = max(final.items(), key=lambda item: item[1].score)
    words = []
    position = length
    while position > 0:
        hypothesis = chart[position][state]
        words.append((hypothesis.start, position, hypothesis.word))
        position, state = hypothesis.start, hypothesis.previous
    return last.score, words[::-1]


def decode(
    lexicon: Lexicon,
    lm: LanguageModel,
    units: list[Unit],
    sentence_start: bool = False,
    sentence_end: bool = False,
    beam: int = BEAM,
    word_penalty: float = 0.0,
    rare_reading_penalty: float = 0.0,
) -> tuple[float, list[tuple[int, int, str]]]:
    """The most probable sequence of words covering ``units``.

    Args:
        sentence_start: the units start a sentence (else they are cut out of one: no context).
        sentence_end: add the probability of the sentence ending after the units.
        word_penalty: subtracted per word, so that a pinyin run typed as one word is read as one word rather
            than as characters the n-gram happens to like in a row.
        rare_reading_penalty: subtracted when a syllable becomes a character of which it is not the usual
            reading.

    Returns:
        ``(log probability, [(first unit, end unit, word), ...])``; a fixed character always survives as itself.
    """
    units = tuple(units)
    n = len(units)

    def words_at(start: int):
        for stop in range(start + 1, min(n, start + MAX_WORD_LENGTH) + 1):
            span = units[start:stop]
            for word in span_words(lexicon, lm, span):
                yield stop, word, -word_penalty - (rare_reading_penalty if _rare_reading(span, word) else 0.0)

    return beam_search(lm, n, words_at, sentence_start, sentence_end, beam)


@functools.lru_cache(maxsize=200_000)
def _segment_cached(
    lexicon: Lexicon, lm: LanguageModel, text: str, sentence_start: bool, sentence_end: bool
) -> tuple[float, tuple[str, ...]]:
    n = len(text)
    known, prefixes = lexicon.logp, lexicon.prefixes

    def words_at(start: int):
        yield start + 1, text[start], 0.0  # any character can stand alone
        for stop in range(start + 2, min(n, start + MAX_WORD_LENGTH) + 1):
            piece = text[start:stop]
            if piece in known:
                yield stop, piece, 0.0
            if piece not in prefixes:
                break

    score, words = beam_search(lm, n, words_at, sentence_start, sentence_end, SEGMENT_BEAM)
    return score, tuple(word for _, _, word in words)


def segment(
    lexicon: Lexicon, lm: LanguageModel, text: str, sentence_start: bool = False, sentence_end: bool = False
) -> tuple[float, tuple[str, ...]]:
    """Best segmentation of a string of Chinese characters and its log probability under ``lm`` (cached)."""
    return _segment_cached(lexicon, lm, text, sentence_start, sentence_end)
