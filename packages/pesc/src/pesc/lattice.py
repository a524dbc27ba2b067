"""Viterbi decoding over a unigram word lattice: the language model of the default checker.

A sentence region is a sequence of units: fixed Chinese characters, full pinyin syllables and typed initials.
A word may cover any run of units whose characters it spells (a fixed character), whose reading it has (a
syllable) or whose reading starts with the letter (an initial), so ``gao兴``, ``gaoxing`` and ``gx`` all reach
高兴, and the choice is made over the whole region, not word by word.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import NamedTuple

from pesc.lexicon import MAX_WORD_LENGTH, Lexicon


class Unit(NamedTuple):
    kind: str  # "char" (a fixed Chinese character), "syl" (a full syllable) or "ini" (an initial letter)
    value: str


def _matches(entry_readings, span: list[Unit], word: str) -> bool:
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


def _span_keys(lexicon: Lexicon, span: list[Unit]) -> list[str]:
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


def decode(lexicon: Lexicon, units: list[Unit]) -> tuple[float, list[tuple[int, int, str]]]:
    """The most probable sequence of words covering ``units``.

    Returns:
        ``(log probability, [(first unit, end unit, word), ...])``; a fixed character always survives as itself.
    """
    n = len(units)
    best = [-math.inf] * (n + 1)
    back: list[tuple[int, str] | None] = [None] * (n + 1)
    best[0] = 0.0
    for start in range(n):
        if best[start] == -math.inf:
            continue
        for end in range(start + 1, min(n, start + MAX_WORD_LENGTH) + 1):
            span = units[start:end]
            seen: set[str] = set()
            for key in _span_keys(lexicon, span):
                for entry in lexicon.candidates(key):
                    if entry.word in seen or not _matches(entry.readings, span, entry.word):
                        continue
                    seen.add(entry.word)
                    score = best[start] + entry.logp
                    if score > best[end]:
                        best[end], back[end] = score, (start, entry.word)
            if end == start + 1 and span[0].kind == "char" and span[0].value not in seen:
                score = best[start] + lexicon.word_logp(span[0].value)  # any character can stand alone
                if score > best[end]:
                    best[end], back[end] = score, (start, span[0].value)
    words = []
    position = n
    while position > 0:
        start, word = back[position]
        words.append((start, position, word))
        position = start
    return best[n], words[::-1]


@functools.lru_cache(maxsize=200_000)
def _segment_cached(lexicon: Lexicon, text: str) -> tuple[float, tuple[str, ...]]:
    n = len(text)
    best = [-math.inf] * (n + 1)
    back = [0] * (n + 1)
    best[0] = 0.0
    for start in range(n):
        for end in range(start + 1, min(n, start + MAX_WORD_LENGTH) + 1):
            logp = lexicon.word_logp(text[start:end])
            if logp > -math.inf and best[start] + logp > best[end]:
                best[end], back[end] = best[start] + logp, start
    words = []
    position = n
    while position > 0:
        words.append(text[back[position] : position])
        position = back[position]
    return best[n], tuple(words[::-1])


def segment(lexicon: Lexicon, text: str) -> tuple[float, tuple[str, ...]]:
    """Best segmentation of a string of Chinese characters and its log probability (cached)."""
    return _segment_cached(lexicon, text)
