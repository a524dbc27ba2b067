"""The word-frequency lexicon behind the default checker: jieba's dictionary (349k words with counts), each
word indexed by the first letters of its toneless pinyin so that full pinyin, initials and mixed input all
find their candidate words. Built on first use (a few seconds), once per process."""

from __future__ import annotations

import functools
import itertools
import math
import re
from pathlib import Path
from typing import NamedTuple

from pesc.pinyin import char_readings, word_reading

_HAN_WORD = re.compile(r"^[\u3400-\u9fff]+$")
MAX_WORD_LENGTH = 6
_MAX_KEYS_PER_WORD = 8  # polyphonic characters multiply index keys; rare words beyond this are skipped


class Entry(NamedTuple):
    word: str
    readings: tuple[frozenset[str], ...]  # toneless readings allowed at each position
    logp: float


class Lexicon:
    """Unigram word log-probabilities and a pinyin index over them.

    Args:
        counts: word -> corpus count (Chinese characters only).
        floor_count: the count given to a character that is not a word of the lexicon, so every character
            can still be spelt on its own.
    """

    def __init__(self, counts: dict[str, int], floor_count: float = 0.5):
        self.total = float(sum(counts.values()))
        self.floor_logp = math.log(floor_count / self.total)
        readings = char_readings()
        # first letters each character's readings can start with, e.g. 行 -> "hx"
        self._letters = {ch: "".join(sorted({syl[0] for syl in options})) for ch, options in readings.items()}
        self.logp: dict[str, float] = {}
        self.index: dict[str, list[Entry]] = {}
        self.by_reading: dict[tuple[str, ...], list[Entry]] = {}  # full toneless reading -> entries
        log_total = math.log(self.total)
        for word, count in counts.items():
            if not 0 < len(word) <= MAX_WORD_LENGTH:
                continue
            logp = math.log(count) - log_total
            self.logp[word] = logp
            if len(word) == 1:
                if word in readings:  # a character alone may be typed with any of its readings
                    self._add(Entry(word, (readings[word],), logp), [self._letters[word]])
                continue
            # a word is typed the way pypinyin reads it: 格式 is ge shi, never luo shi although 格 reads luo too
            reading = word_reading(word)
            if reading is not None:
                self._add(Entry(word, tuple(frozenset([syl]) for syl in reading), logp), [syl[0] for syl in reading])
        for ch, syllables in readings.items():  # every character is reachable from its readings
            if ch not in self.logp:
                self._add(Entry(ch, (syllables,), self.floor_logp), [self._letters[ch]])
        # every proper beginning of a word of two or more characters, so segmentation stops looking early
        self.prefixes = frozenset(word[:end] for word in self.logp for end in range(2, len(word)))
        for entries in itertools.chain(self.index.values(), self.by_reading.values()):
            entries.sort(key=lambda entry: -entry.logp)  # most frequent first, so a decoder can stop early

    def _add(self, entry: Entry, letter_options: list[str]) -> None:
        if all(len(options) == 1 for options in letter_options):
            keys = ["".join(letter_options)]
        else:
            keys = [
                "".join(key) for key in itertools.islice(itertools.product(*letter_options), _MAX_KEYS_PER_WORD + 1)
            ]
            if len(keys) > _MAX_KEYS_PER_WORD:
                return
        for key in keys:
            self.index.setdefault(key, []).append(entry)
        for reading in itertools.product(*entry.readings):  # once per entry, whatever its letter keys
            self.by_reading.setdefault(reading, []).append(entry)

    def letters(self, ch: str) -> str:
        """The first letters the readings of a character start with ("" for a character without a reading)."""
        return self._letters.get(ch, "")

    def word_logp(self, word: str) -> float:
        """log P(word); a single character outside the lexicon gets the floor, a longer unknown string -inf."""
        if word in self.logp:
            return self.logp[word]
        return self.floor_logp if len(word) == 1 else -math.inf

    def spelt(self, reading: tuple[str, ...]) -> list[Entry]:
        """Entries read exactly as the toneless syllables ``reading``, most frequent first."""
        return self.by_reading.get(reading, [])

    def candidates(self, key: str) -> list[Entry]:
        """Entries whose readings start with the letters of ``key``, one letter per character, most frequent
        first."""
        return self.index.get(key, [])


def _jieba_dictionary() -> Path:
    import jieba

    return Path(jieba.__file__).parent / "dict.txt"


def read_counts(path: str | Path) -> dict[str, int]:
    """Reads a jieba-format dictionary (``word count [tag]`` per line), keeping words of Chinese characters."""
    counts: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            parts = line.split()
            if len(parts) < 2:
                continue
            word, count = parts[0], parts[1]
            if not count.isdigit():
                raise ValueError(f"{path}:{line_number}: expected 'word count', got {line.strip()!r}")
            if _HAN_WORD.match(word):
                counts[word] = counts.get(word, 0) + int(count)
    return counts


@functools.cache
def default_lexicon() -> Lexicon:
    """The lexicon from jieba's bundled dictionary, built once per process."""
    return Lexicon(read_counts(_jieba_dictionary()))
