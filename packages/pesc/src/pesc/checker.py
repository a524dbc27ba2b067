"""The default spell checker: pinyin decoding and misspelling correction over a word lattice scored by an n-gram
language model.

It needs no neural weights and no torch. Pinyin runs are decoded together with the Chinese characters around
them (:mod:`pesc.lattice`); misspelled characters are replaced from the confusion sets only when the language
model's gain clears a threshold, so that correct text comes back unchanged. The language model is a KenLM word
n-gram when one is installed (:mod:`pesc.lm`), else jieba's unigram word frequencies.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from collections.abc import Iterable
from pathlib import Path

from pesc.charlm import CharacterModel, character_model
from pesc.config import CheckerConfig
from pesc.confusion import confusable
from pesc.detect import HAN, PinyinRun, find_pinyin_runs
from pesc.edits import Correction, Edit, apply_edits, pinyin_edit
from pesc.lattice import Unit, decode, segment
from pesc.lexicon import Lexicon, default_lexicon
from pesc.lm import LanguageModel, UnigramLM, resolve_language_model

_MAX_SPLIT_COMBINATIONS = 16
_SPELLING_WINDOW = 4  # characters on each side of a suspect character that the language model sees
_CANDIDATE_WORD_LENGTH = 4  # a replacement must complete a lexicon word of at most this many characters
_COMMON_CHARACTER_LOGP = -7.0  # single-character words this frequent (的 得 地 在 再) may replace a lone character

_COMMON_SYLLABLES_LOGP = -8.0  # mean log-probability of the characters when their syllables make no word
_NAME_LIKE_LOGP = -6.0  # per character: 高兴 -4.7, 苹果 -5.4; the names 利撒 -7.2, 尼克 -7.3
_NAME_DOTS = frozenset("·・‧•")  # between the parts of a transliterated name: 玛丽埃尔·扎格尼斯
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
    syllable (NinDe). A run capitalised like a name (Elena, Gaoxing) must make one common word on its own: the
    dictionary spells transliterated names too (Lisa 利撒, Nike 尼克)."""
    letters = run.text.replace(" ", "").replace("'", "").replace("’", "")
    capitals = sum(ch.isupper() for ch in letters)
    if capitals == 1 and letters[0].isupper():
        return word_lengths == [len(run.splits[0])] and word_logp >= _NAME_LIKE_LOGP
    if any(length > 1 for length in word_lengths):
        return True
    return run.kind == "full" and word_logp >= _COMMON_SYLLABLES_LOGP and capitals in (0, len(run.splits[0]))


class SpellChecker:
    """Corrects Chinese text that mixes misspelled characters with words typed as pinyin.

    ``SpellChecker()`` is the offline default: jieba's dictionary for candidate words, pypinyin's readings, the
    shipped confusion sets and the best language model installed, loaded on first use.

    Args:
        config: thresholds and switches (default: the values tuned on the shipped dev split).
        lexicon: a custom lexicon (default: jieba's dictionary).
        lm: the language model: ``"auto"`` (``$PESC_LM``, then Debian's libime model, else the unigram
            lexicon with a one-time notice), ``"unigram"``, a path to a KenLM binary or ARPA file, or a
            :class:`pesc.lm.LanguageModel`.

    Raises:
        FileNotFoundError: ``lm`` names a file that does not exist.
    """

    def __init__(
        self,
        config: CheckerConfig | None = None,
        lexicon: Lexicon | None = None,
        lm: str | os.PathLike | LanguageModel | None = "auto",
    ):
        self.config = config or CheckerConfig()
        self._lexicon = lexicon
        if isinstance(lm, (str, os.PathLike)) and str(lm) not in ("auto", "unigram") and not Path(lm).is_file():
            raise FileNotFoundError(f"language model file not found: {lm}")  # now, not at the first correction
        self._lm_spec = lm
        self._lm: LanguageModel | None = None

    @classmethod
    def from_pretrained(cls, directory, device: str | None = None, batch_size: int = 32):
        """A trained neural checker (``pesc train``) with the same ``correct`` / ``correct_batch`` API.

        Needs the ``pesc[neural]`` extra (torch, transformers).
        """
        try:
            from pesc.neural.checker import NeuralSpellChecker
        except ImportError as error:
            raise ImportError(f"the neural checker needs pesc[neural]: pip install 'pesc[neural]' ({error})") from None
        return NeuralSpellChecker.from_pretrained(directory, device=device, batch_size=batch_size)

    def load(self) -> SpellChecker:
        """Loads the lexicon, the language model and the character model now rather than on first use (a
        server does this before taking requests); returns the checker."""
        self.lexicon  # noqa: B018
        self.lm  # noqa: B018
        if self.config.correct_spelling and self.config.char_weight:
            self._character_model  # noqa: B018
        return self

    @property
    def lexicon(self) -> Lexicon:
        if self._lexicon is None:
            self._lexicon = default_lexicon()
        return self._lexicon

    @property
    def spelling_threshold(self) -> float:
        """The configured spelling threshold, or the one tuned for the language model in use."""
        if self.config.spelling_threshold is not None:
            return self.config.spelling_threshold
        return self.lm.spelling_threshold

    @functools.cached_property
    def _character_model(self) -> CharacterModel:
        return character_model(self.lexicon)

    @functools.cached_property
    def _unigram(self) -> UnigramLM:
        return UnigramLM(self.lexicon)

    @property
    def lm(self) -> LanguageModel:
        """The language model in use (resolved on first use)."""
        if self._lm is None:
            self._lm = resolve_language_model(self._lm_spec, lambda: self.lexicon)
        return self._lm

    def correct(self, text: str) -> Correction:
        """Corrects one text.

        Returns:
            A :class:`Correction`: the corrected text and the edits (span in ``text``, original, replacement,
            kind). Everything outside the edits is returned exactly as it was.

        Raises:
            TypeError: ``text`` is not a string.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        pinyin_edits = self._decode_pinyin(text)
        spelling_edits = self._fix_spelling(text, pinyin_edits) if self.config.correct_spelling else []
        edits = tuple(sorted(pinyin_edits + spelling_edits, key=lambda e: e.start))
        return Correction(source=text, text=apply_edits(text, edits), edits=edits)

    def correct_batch(self, texts: Iterable[str], jobs: int = 1) -> list[Correction]:
        """Corrects several texts; results keep the input order.

        Args:
            jobs: processes to spread the texts over (the checker is pure Python, so each process uses one core).

        Raises:
            ValueError: ``jobs`` is below 1.
        """
        if jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {jobs}")
        texts = list(texts)
        if jobs == 1 or len(texts) < 2:
            return [self.correct(text) for text in texts]
        from pesc.parallel import correct_in_processes

        return correct_in_processes(self, texts, jobs)

    # -- pinyin ---------------------------------------------------------------------------------------------
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

    def _decode_pinyin(self, text: str) -> list[Edit]:
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
                    kind = "syl" if run.kind == "full" else "ini"
                    units += [Unit(kind, syllable) for syllable in split]
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

    def _judge_runs(self, region, words, owner):
        """For each run of a decoded region: its characters, the mean log-probability per character of the
        dictionary words they belong to, and those words' lengths.

        This is judged on the dictionary's words, not on the language model's segmentation: the n-gram may well
        prefer 最 高 to 最高, and a run is Chinese when its characters make likely words, context-free."""
        decoded: list[list[str]] = [[] for _ in region]
        word_logp = [0.0] * len(region)
        lengths: list[dict[int, int]] = [{} for _ in region]  # first position of each word -> its length
        first = 0
        for word in segment(self.lexicon, self._unigram, "".join(word for _, _, word in words))[1]:
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

    # -- misspellings ---------------------------------------------------------------------------------------
    def _fix_spelling(self, text: str, pinyin_edits: list[Edit]) -> list[Edit]:
        # the text after pinyin decoding, with each character's position in the source (None: decoded)
        chars: list[str] = []
        origin: list[int | None] = []
        position = 0
        for edit in sorted(pinyin_edits, key=lambda e: e.start):
            chars += list(text[position : edit.start])
            origin += list(range(position, edit.start))
            chars += list(edit.replacement)
            origin += [None] * len(edit.replacement)
            position = edit.end
        chars += list(text[position:])
        origin += list(range(position, len(text)))

        edits = []
        i = 0
        while i < len(chars):
            if not HAN.match(chars[i]):
                i += 1
                continue
            j = i
            while j < len(chars) and HAN.match(chars[j]):
                j += 1
            clause = chars[i:j]
            if _NAME_DOTS.intersection(chars[max(0, i - 1) : i] + chars[j : j + 1]):
                i = j
                continue  # part of a transliterated name (玛丽埃尔·扎格尼斯): its characters are chosen for sound
            for offset, suspect in enumerate(self._suspects(clause)):
                source_index = origin[i + offset]
                if source_index is None or not suspect:
                    continue
                replacement = self._best_replacement(clause, offset)
                if replacement is not None:
                    edits.append(Edit(source_index, source_index + 1, clause[offset], replacement, "spelling"))
                    clause[offset] = replacement
            i = j
        return edits

    def _spelling_candidates(self, clause: list[str], offset: int) -> list[str]:
        """Confusion-set characters worth scoring at ``offset``: those that make a lexicon word with their
        neighbours (环竟 -> 环境) and common single-character words (的 -> 得)."""
        known = self.lexicon.logp
        # the text on each side of the character for every word length and start that covers it
        sides = [
            ("".join(clause[start:offset]), "".join(clause[offset + 1 : start + length]))
            for length in range(2, _CANDIDATE_WORD_LENGTH + 1)
            for start in range(max(0, offset - length + 1), min(offset, len(clause) - length) + 1)
        ]
        candidates = []
        for candidate in sorted(confusable(clause[offset], self.config.confusion_sets)):
            if not HAN.match(candidate):
                continue
            if known.get(candidate, -math.inf) >= _COMMON_CHARACTER_LOGP or any(
                left + candidate + right in known for left, right in sides
            ):
                candidates.append(candidate)
        return candidates

    def _suspects(self, clause: list[str]) -> list[bool]:
        """Which characters of a clause may be misspelled: a misspelling breaks its word apart, or makes a "word"
        only the noisier dictionary knows; a character inside a word the language model knows is taken as
        written."""
        lm = self.lm
        flags: list[bool] = []
        for word in segment(self.lexicon, lm, "".join(clause), True, True)[1]:
            flags += [len(word) == 1 or not lm.knows(word)] * len(word)
        return flags

    def _best_replacement(self, clause: list[str], offset: int) -> str | None:
        candidates = self._spelling_candidates(clause, offset)
        if not candidates:
            return None
        lexicon, lm = self.lexicon, self.lm
        # the language model is scored on a window around the character: the gain is local, and a window keeps
        # the cost linear in the length of the text
        low = max(0, offset - _SPELLING_WINDOW)
        high = min(len(clause), offset + _SPELLING_WINDOW + 1)
        window = "".join(clause[low:high])
        at = offset - low
        start, end = low == 0, high == len(clause)
        base_score = segment(lexicon, lm, window, start, end)[0]
        weight = self.config.char_weight
        base_chars = self._character_model.score(window) if weight else 0.0
        best, best_gain = None, self.spelling_threshold
        for candidate in candidates:
            changed = window[:at] + candidate + window[at + 1 :]
            gain = segment(lexicon, lm, changed, start, end)[0] - base_score
            if weight:
                gain += weight * (self._character_model.score(changed) - base_chars)
            if gain > best_gain:
                best, best_gain = candidate, gain
        return best
