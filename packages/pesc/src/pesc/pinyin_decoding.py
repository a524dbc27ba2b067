"""Pinyin runs decoded into characters: the regions of a text the language model decodes together, and the
checks that keep English, names and code as they are."""

from __future__ import annotations

import itertools

from pesc.config import CheckerConfig
from pesc.detect import HAN, PinyinRun, english_words, find_pinyin_runs
from pesc.edits import Edit, pinyin_edit
from pesc.lattice import Unit, decode, segment
from pesc.lexicon import Lexicon
from pesc.lm import LanguageModel

_MAX_SPLIT_COMBINATIONS = 16
_COMMON_SYLLABLES_LOGP = -8.0  # mean log-probability of the characters when their syllables make no word
_NAME_LIKE_LOGP = -6.0  # per character: 高兴 -4.7, 苹果 -5.4; the names 利撒 -7.2, 尼克 -7.3
# the word n-gram has no digits but knows numerals: 2008ji学生 is read as 二零零八级学生, 8yue1日 as 八月一日
_NUMERALS = dict(zip("0123456789０１２３４５６７８９", "零一二三四五六七八九" * 2, strict=True))


def _readable(ch: str) -> str | None:
    """The character the language model sees for ``ch`` as context: a Chinese character, a digit as its
    numeral, or None (the clause ends there)."""
    if HAN.match(ch):
        return ch
    return _NUMERALS.get(ch)


def _reads_as_chinese(run, word_logp: float, word_lengths: list[int]) -> bool:
    """Whether several syllables read as Chinese: part of a word of two or more characters (gaoxing 高兴), or one
    common character each (zou dao 走到, bu shang 不上) typed all lower-case or with a capital at every
    syllable (NinDe). A run capitalised like a name (Elena, Gaoxing) or typed as one common English word
    (meeting, demo) must make one common word on its own: the dictionary spells transliterated names too (Lisa
    利撒, Nike 尼克), and characters can be found for any syllables (meeting 么啊听), while women is 我们."""
    letters = run.letters
    capitals = sum(ch.isupper() for ch in letters)
    english = " " not in run.text and not run.toned and letters.lower() in english_words()
    if english or (capitals == 1 and letters[0].isupper()):
        return word_lengths == [len(run.splits[0])] and word_logp >= _NAME_LIKE_LOGP
    if any(length > 1 for length in word_lengths):
        return True
    return run.kind == "full" and word_logp >= _COMMON_SYLLABLES_LOGP and capitals in (0, len(run.splits[0]))


class PinyinDecoder:
    """Finds the pinyin runs of a text and the characters they stand for.

    Args:
        lexicon: candidate words and their readings.
        lm: the language model that chooses among them in context.
        unigram: the lexicon's word frequencies, which judge whether a run reads as Chinese at all.
        config: context width, penalties and the guard against converting Latin words.
    """

    def __init__(self, lexicon: Lexicon, lm: LanguageModel, unigram: LanguageModel, config: CheckerConfig):
        self.lexicon, self.lm, self.unigram, self.config = lexicon, lm, unigram, config

    def edits(self, text: str) -> list[Edit]:
        """One "pinyin" edit per run that decodes into likely Chinese, in order."""
        edits = []
        for region in self._regions(text, find_pinyin_runs(text)):
            left, starts_clause = self._context(text, region[0].start - 1, -1)
            right, ends_clause = self._context(text, region[-1].end, +1)
            best = None
            for splits in itertools.islice(
                itertools.product(*(run.splits for run in region)), _MAX_SPLIT_COMBINATIONS
            ):
                units: list[Unit] = [Unit("char", ch) for ch in left]
                owner: list[int | None] = [None] * len(units)  # which run each unit comes from
                for index, (run, split) in enumerate(zip(region, splits, strict=True)):
                    if index:
                        gap = text[region[index - 1].end : run.start]
                        units += [Unit("char", _readable(ch)) for ch in gap]
                        owner += [None] * len(gap)
                    units += [Unit(run.unit_kind(element), element) for element in split]
                    owner += [index] * len(split)
                units += [Unit("char", ch) for ch in right]
                owner += [None] * len(right)
                score, words = decode(
                    self.lexicon,
                    self.lm,
                    units,
                    sentence_start=starts_clause,
                    sentence_end=ends_clause,
                    word_penalty=self.config.word_penalty,
                    rare_reading_penalty=self.config.rare_reading_penalty,
                )
                if best is None or score > best[0]:
                    best = (score, words, owner)
            _, words, owner = best
            for run, decoded, word_logp, words_in_run in self._judge_runs(region, words, owner):
                if word_logp < self.config.pinyin_min_logp:
                    continue  # no likely Chinese words: probably not pinyin at all
                if len(decoded) > 1 and not _reads_as_chinese(run, word_logp, words_in_run):
                    continue  # several syllables that make no word (Elena, Lisa): a name or English
                edits.append(pinyin_edit(text, run, decoded))
        return edits

    def _regions(self, text: str, runs: list[PinyinRun]) -> list[list[PinyinRun]]:
        """Groups runs that only Chinese characters separate, within twice the context width."""
        regions: list[list[PinyinRun]] = []
        for run in runs:
            if regions:
                gap = text[regions[-1][-1].end : run.start]
                if gap and len(gap) <= 2 * self.config.context_chars and all(_readable(ch) for ch in gap):
                    regions[-1].append(run)
                    continue
            regions.append([run])
        return regions

    def _context(self, text: str, start: int, step: int) -> tuple[str, bool]:
        """Up to ``context_chars`` characters the language model can read from ``start`` in direction ``step``,
        and whether they reach the edge of their clause (so the model may score a sentence start or end there)."""
        chars, position = [], start
        while 0 <= position < len(text) and len(chars) < self.config.context_chars:
            readable = _readable(text[position])
            if readable is None:
                break
            chars.append(readable)
            position += step
        at_edge = not (0 <= position < len(text) and _readable(text[position]) is not None)
        return "".join(chars[::-1] if step < 0 else chars), at_edge

    def _judge_runs(self, region, words, owner):
        """For each run of a decoded region: its characters, the mean log-probability per character of the
        dictionary words they belong to, and those words' lengths.

        This is judged on the dictionary's words, not on the language model's segmentation: the n-gram may well
        prefer 最 高 to 最高, and a run is Chinese when its characters make likely words, context-free."""
        decoded: list[list[str]] = [[] for _ in region]
        word_logp = [0.0] * len(region)
        lengths: list[dict[int, int]] = [{} for _ in region]  # first position of each word -> its length
        first = 0
        for word in segment(self.lexicon, self.unigram, "".join(word for _, _, word in words))[1]:
            end = first + len(word)
            for position in range(first, end):
                index = owner[position]
                if index is not None:
                    decoded[index].append(word[position - first])
                    word_logp[index] += self.lexicon.word_logp(word) / (end - first)
                    lengths[index][first] = end - first
            first = end
        for index, run in enumerate(region):
            size = len(decoded[index])
            yield run, "".join(decoded[index]), word_logp[index] / size, list(lengths[index].values())
