"""A character trigram model built from the dictionary's words, for where the word model is blind.

The word n-gram scores a misspelling that happens to make a word of its vocabulary (or a word it does not know at
all) no worse than the right text; the characters inside dictionary words tell it otherwise: 朋 is followed by
友 in thousands of words and counts, by 唷 in none. Counts are each word's characters weighted by the word's
frequency (jieba's dictionary: MIT, already read for the lexicon), so nothing extra ships or downloads.

Smoothing: interpolated absolute discounting (Kneser-Ney's discount without its continuation counts), down to an
add-one unigram over the characters seen.
"""

from __future__ import annotations

import functools
import math
from collections import Counter

_DISCOUNT = 0.75
_COUNTS = ("unigrams", "bigrams", "trigrams", "total1", "kinds1", "total2", "kinds2")


class CharacterModel:
    """log P(text) under a character trigram counted inside words.

    Args:
        counts: word -> corpus count.
    """

    def __init__(self, counts: dict[str, float]):
        unigrams: Counter[str] = Counter()
        bigrams: Counter[str] = Counter()
        trigrams: Counter[str] = Counter()
        for word, count in counts.items():
            for position, ch in enumerate(word):
                unigrams[ch] += count
                if position >= 1:
                    bigrams[word[position - 1 : position + 1]] += count
                if position >= 2:
                    trigrams[word[position - 2 : position + 1]] += count
        self._unigrams, self._bigrams, self._trigrams = unigrams, bigrams, trigrams
        # per history: the total count that follows it and how many different characters do (two plain dicts:
        # they load from the cache faster than one of pairs)
        self._total1: Counter[str] = Counter()
        self._kinds1: Counter[str] = Counter()
        for pair, count in bigrams.items():
            self._total1[pair[0]] += count
            self._kinds1[pair[0]] += 1
        self._total2: Counter[str] = Counter()
        self._kinds2: Counter[str] = Counter()
        for triple, count in trigrams.items():
            self._total2[triple[:2]] += count
            self._kinds2[triple[:2]] += 1
        self._total = float(sum(unigrams.values()))
        self._vocabulary = len(unigrams) + 1

    def to_tables(self) -> dict:
        """The model's counts as plain dicts (what :mod:`marshal` writes)."""
        return {name: dict(getattr(self, f"_{name}")) for name in _COUNTS} | {
            "total": self._total,
            "vocabulary": self._vocabulary,
        }

    @classmethod
    def from_tables(cls, tables: dict) -> CharacterModel:
        """The model :meth:`to_tables` described, without counting again."""
        model = cls.__new__(cls)
        for name in _COUNTS:
            setattr(model, f"_{name}", tables[name])
        model._total, model._vocabulary = tables["total"], tables["vocabulary"]
        return model

    def _unigram(self, ch: str) -> float:
        return (self._unigrams.get(ch, 0.0) + 1.0) / (self._total + self._vocabulary)

    def _bigram(self, previous: str, ch: str) -> float:
        total = self._total1.get(previous)
        if total is None:
            return self._unigram(ch)
        kinds = self._kinds1[previous]
        seen = max(self._bigrams.get(previous + ch, 0.0) - _DISCOUNT, 0.0)
        return seen / total + _DISCOUNT * kinds / total * self._unigram(ch)

    def _trigram(self, history: str, ch: str) -> float:
        total = self._total2.get(history)
        if total is None:
            return self._bigram(history[1], ch)
        kinds = self._kinds2[history]
        seen = max(self._trigrams.get(history + ch, 0.0) - _DISCOUNT, 0.0)
        return seen / total + _DISCOUNT * kinds / total * self._bigram(history[1], ch)

    def score(self, text: str) -> float:
        """Natural-log probability of ``text``'s characters (the first two with a shorter history)."""
        if not text:
            return 0.0
        logp = math.log(self._unigram(text[0]))
        if len(text) > 1:
            logp += math.log(self._bigram(text[0], text[1]))
        return logp + sum(math.log(self._trigram(text[i - 2 : i], text[i])) for i in range(2, len(text)))


@functools.lru_cache(maxsize=4)
def character_model(lexicon) -> CharacterModel:
    """The character model of a :class:`pesc.lexicon.Lexicon`'s words and counts, built once per lexicon (the
    default lexicon's is read from the disk cache, :mod:`pesc.tables`)."""
    from pesc.lexicon import default_lexicon
    from pesc.tables import cached_tables

    def build() -> CharacterModel:
        return CharacterModel({word: math.exp(logp) * lexicon.total for word, logp in lexicon.logp.items()})

    # the default lexicon is asked for only when it is already loaded: a custom lexicon must not load it
    if not default_lexicon.cache_info().currsize or lexicon is not default_lexicon():
        return build()
    tables = cached_tables("characters", lambda: build().to_tables(), "pesc's character model of jieba's words")
    return CharacterModel.from_tables(tables)
