"""Toneless pinyin: the syllable inventory, readings of characters, and splitting Latin letters into syllables.

Readings come from pypinyin's dictionaries (loaded on first use, not at import). Syllables are written
toneless with ``v`` for ``ü`` (``lv``, ``nv``), as people type them.
"""

from __future__ import annotations

import functools
import unicodedata

# Syllables without a vowel (嗯 ng, 呣 m, 哼 hng) are too easy to confuse with abbreviations and English.
_VOWELS = set("aeiouv")


def toneless(syllable: str) -> str:
    """``"lǘ"`` -> ``"lv"``, ``"gāo"`` -> ``"gao"``."""
    decomposed = unicodedata.normalize("NFD", syllable.lower()).replace("u\u0308", "v")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("ü", "v")


@functools.cache
def char_readings() -> dict[str, frozenset[str]]:
    """Every Chinese character pypinyin knows -> its toneless readings."""
    from pypinyin.pinyin_dict import pinyin_dict

    readings = {}
    for code_point, toned in pinyin_dict.items():
        syllables = frozenset(toneless(s) for s in toned.split(",") if s)
        syllables = frozenset(s for s in syllables if _VOWELS & set(s))
        if syllables:
            readings[chr(code_point)] = syllables
    return readings


@functools.cache
def phrase_readings() -> dict[str, tuple[str, ...]]:
    """pypinyin's phrase dictionary: the context-correct reading of polyphonic words (银行 -> yin hang)."""
    from pypinyin.phrases_dict import phrases_dict

    return {phrase: tuple(toneless(options[0]) for options in toned) for phrase, toned in phrases_dict.items()}


@functools.cache
def default_char_reading() -> dict[str, str]:
    """Every Chinese character -> the reading pypinyin gives it on its own (the first one it lists)."""
    from pypinyin.pinyin_dict import pinyin_dict

    defaults = {}
    for code_point, toned in pinyin_dict.items():
        first = toneless(toned.split(",")[0])
        if _VOWELS & set(first):
            defaults[chr(code_point)] = first
    return defaults


def word_reading(word: str) -> tuple[str, ...] | None:
    """The toneless reading pypinyin gives a word: the longest phrases of its phrase dictionary from the left,
    each character's default reading elsewhere (``落实`` -> luo shi, never ge shi for ``格式``).

    Returns None when a character has no reading.
    """
    phrases = phrase_readings()
    defaults = default_char_reading()
    reading: list[str] = []
    position = 0
    while position < len(word):
        for end in range(len(word), position + 1, -1):  # longest phrase first, as pypinyin's segmenter does
            phrase = phrases.get(word[position:end])
            if phrase is not None and len(phrase) == end - position:
                reading += phrase
                position = end
                break
        else:
            syllable = defaults.get(word[position])
            if syllable is None:
                return None
            reading.append(syllable)
            position += 1
    return tuple(reading)


@functools.cache
def syllables() -> frozenset[str]:
    """Every valid toneless syllable (with a vowel)."""
    return frozenset(s for readings in char_readings().values() for s in readings)


@functools.cache
def _max_syllable_length() -> int:
    return max(len(s) for s in syllables())


def split_syllables(letters: str, limit: int = 16) -> list[list[str]]:
    """Every way to split lowercase letters into the fewest valid full syllables (at most ``limit`` ways).

    ``xian`` is one syllable, not ``xi an``; ``fangan`` is either ``fang an`` (方案) or ``fan gan`` (反感), and the
    caller's language model chooses. An apostrophe forces a boundary (``xi'an`` -> ``xi an``). Letters that do
    not split give an empty list.
    """
    if "'" in letters:
        splits: list[list[str]] = [[]]
        for part in letters.split("'"):
            options = split_syllables(part, limit)
            if not options:
                return []
            splits = [head + option for head in splits for option in options][:limit]
        return splits
    valid = syllables()
    longest = _max_syllable_length()
    n = len(letters)
    if n == 0:
        return []
    # fewest[i]: the fewest syllables letters[i:] splits into (None: it does not split)
    fewest: list[int | None] = [None] * (n + 1)
    fewest[n] = 0
    for i in range(n - 1, -1, -1):
        counts = [
            fewest[j] for j in range(i + 1, min(n, i + longest) + 1) if letters[i:j] in valid and fewest[j] is not None
        ]
        fewest[i] = min(counts) + 1 if counts else None
    if fewest[0] is None:
        return []
    # depth-first over the fewest-syllable splits, longest syllable first, with an explicit stack: a run of
    # thousands of letters (logs, base64, DNA) must not exhaust Python's recursion limit
    results: list[list[str]] = []
    stack: list[tuple[int, list[str]]] = [(0, [])]
    while stack and len(results) < limit:
        i, prefix = stack.pop()
        if i == n:
            results.append(prefix)
            continue
        steps = [
            j
            for j in range(min(n, i + longest), i, -1)
            if letters[i:j] in valid and fewest[j] is not None and fewest[j] == fewest[i] - 1
        ]
        stack.extend((j, [*prefix, letters[i:j]]) for j in reversed(steps))  # longest on top: popped first
    return results


def initials_of(syllable: str) -> str:
    """The letter a syllable is abbreviated to when typing initials (``zhong`` -> ``z``)."""
    return syllable[0]
