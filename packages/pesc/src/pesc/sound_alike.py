"""Sound-alike words: the lexicon's words read with the same toneless pinyin as a given word, as an input method
offers them when that reading is typed. Accepting the wrong one of these is the error native speakers make most
(一期 for 一起, 纪录 for 记录, 全力 for 权力): both are real words, so nothing looks misspelled."""

from __future__ import annotations

import math
import random

from pesc.lexicon import Entry, Lexicon
from pesc.pinyin import word_reading

# an input method shows a page of candidates for a reading, most frequent first; a writer's slip picks among them
OFFERED_PER_READING = 8


def sound_alike_words(lexicon: Lexicon, word: str, limit: int = OFFERED_PER_READING) -> list[Entry]:
    """The words of ``lexicon`` other than ``word`` with its toneless reading and its length, most frequent
    first, at most ``limit`` (the first page an input method offers)."""
    reading = word_reading(word)
    if reading is None:
        return []
    same = [entry for entry in lexicon.spelt(reading) if entry.word != word and len(entry.word) == len(word)]
    return same[:limit]


def offered_instead(lexicon: Lexicon, word: str, rng: random.Random) -> str | None:
    """A sound-alike word a writer might accept in place of ``word``: drawn from :func:`sound_alike_words` in
    proportion to each word's frequency, as the earlier and likelier entries of the input method's page are the
    ones picked by mistake. None when the reading offers no other word."""
    options = sound_alike_words(lexicon, word)
    if not options:
        return None
    return rng.choices([entry.word for entry in options], [math.exp(entry.logp) for entry in options])[0]
