"""The word-frequency lexicon behind the default checker: jieba's dictionary (349k words with counts), each
word indexed by the first letters of its toneless pinyin so that full pinyin, initials and mixed input all
find their candidate words. Built on first use (a few seconds), once per process."""

from __future__ import annotations

import functools
import itertools
import math
import re
from array import array
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

    Entries are stored once, as plain tuples, and the two indexes hold their numbers; an index's
    :class:`Entry` list is made on its first lookup. That keeps the cached form (:meth:`to_tables`) quick to load:
    a process that reads it pays only for the readings its text asks about.

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
        # the entries as three columns (word, readings written "gao xing" or "hang|xing", logp): strings and floats
        # load from the cache far faster than tuples of sets
        self._words: list[str] = []
        self._readings: list[str] = []
        self._logps: list[float] = []
        self._index: dict[str, list[int] | bytes] = {}  # first letters -> entry numbers
        self._by_reading: dict[str, list[int] | bytes] = {}  # full toneless reading ("gao xing") -> entry numbers
        self._made: dict = {}  # ("letters" | "reading", key) -> its Entry list, made on first lookup
        log_total = math.log(self.total)
        for word, count in counts.items():
            if not 0 < len(word) <= MAX_WORD_LENGTH:
                continue
            logp = math.log(count) - log_total
            self.logp[word] = logp
            if len(word) == 1:
                if word in readings:  # a character alone may be typed with any of its readings
                    self._add(word, (readings[word],), logp, [self._letters[word]])
                continue
            # a word is typed the way pypinyin reads it: 格式 is ge shi, never luo shi although 格 reads luo too
            reading = word_reading(word)
            if reading is not None:
                self._add(word, tuple((syl,) for syl in reading), logp, [syl[0] for syl in reading])
        for ch, syllables in readings.items():  # every character is reachable from its readings
            if ch not in self.logp:
                self._add(ch, (syllables,), self.floor_logp, [self._letters[ch]])
        # every proper beginning of a word of two or more characters, so segmentation stops looking early
        self.prefixes = frozenset(word[:end] for word in self.logp for end in range(2, len(word)))
        logps = self._logps
        # most frequent first, so a decoder can stop early; packed as bytes, which load without an int object each
        for table in (self._index, self._by_reading):
            for key, numbers in table.items():
                table[key] = array("i", sorted(numbers, key=lambda n: -logps[n])).tobytes()

    _TABLES = (
        "total",
        "floor_logp",
        "_letters",
        "logp",
        "_words",
        "_readings",
        "_logps",
        "_index",
        "_by_reading",
        "prefixes",
    )

    def to_tables(self) -> dict:
        """The lexicon as plain dicts, lists and tuples: what :mod:`marshal` writes and :meth:`from_tables` reads."""
        return {name.lstrip("_"): getattr(self, name) for name in self._TABLES}

    @classmethod
    def from_tables(cls, tables: dict) -> Lexicon:
        """The lexicon :meth:`to_tables` described, without rebuilding it from counts."""
        lexicon = cls.__new__(cls)
        for name in cls._TABLES:
            setattr(lexicon, name, tables[name.lstrip("_")])
        lexicon._made = {}
        return lexicon

    def _add(self, word: str, readings: tuple, logp: float, letter_options: list[str]) -> None:
        """Adds an entry: ``readings`` holds the syllables allowed at each position."""
        if all(len(options) == 1 for options in letter_options):
            keys = ["".join(letter_options)]
        else:
            keys = [
                "".join(key) for key in itertools.islice(itertools.product(*letter_options), _MAX_KEYS_PER_WORD + 1)
            ]
            if len(keys) > _MAX_KEYS_PER_WORD:
                return
        number = len(self._words)
        self._words.append(word)
        self._readings.append(" ".join("|".join(sorted(options)) for options in readings))
        self._logps.append(logp)
        for key in keys:
            self._index.setdefault(key, []).append(number)
        for reading in itertools.product(*readings):  # once per entry, whatever its letter keys
            self._by_reading.setdefault(" ".join(reading), []).append(number)

    def _lookup(self, table: str, numbers: dict, key: str) -> list[Entry]:
        made = self._made.get((table, key))
        if made is None:
            made = self._made[(table, key)] = [self._entry(n) for n in array("i", numbers.get(key, b""))]
        return made

    def _entry(self, number: int) -> Entry:
        readings = tuple(frozenset(options.split("|")) for options in self._readings[number].split(" "))
        return Entry(self._words[number], readings, self._logps[number])

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
        return self._lookup("reading", self._by_reading, " ".join(reading))

    def candidates(self, key: str) -> list[Entry]:
        """Entries whose readings start with the letters of ``key``, one letter per character, most frequent
        first."""
        return self._lookup("letters", self._index, key)


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
    """The lexicon from jieba's bundled dictionary: read from the disk cache (:mod:`pesc.tables`), built on the
    first use on a machine; once per process."""
    from pesc.tables import cached_tables

    tables = cached_tables(
        "lexicon", lambda: Lexicon(read_counts(_jieba_dictionary())).to_tables(), "pesc's lexicon of jieba's words"
    )
    return Lexicon.from_tables(tables)
