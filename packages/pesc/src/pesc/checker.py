"""The default spell checker: pinyin decoding and misspelling correction with a word-frequency lattice.

It needs no model weights and no torch. Pinyin runs are decoded together with the Chinese characters around
them (:mod:`pesc.lattice`); misspelled characters are replaced from the confusion sets only when the language
model's gain clears a threshold, so that correct text comes back unchanged.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from pesc.config import CheckerConfig
from pesc.confusion import confusable
from pesc.detect import HAN, PinyinRun, find_pinyin_runs
from pesc.edits import Correction, Edit, apply_edits, pinyin_edit
from pesc.lattice import Unit, decode, segment
from pesc.lexicon import Lexicon, default_lexicon

_MAX_SPLIT_COMBINATIONS = 16
_SPELLING_WINDOW = 6  # characters on each side of a suspect character that the language model sees


class SpellChecker:
    """Corrects Chinese text that mixes misspelled characters with words typed as pinyin.

    ``SpellChecker()`` is the offline default: jieba's word frequencies, pypinyin's readings and the shipped
    confusion sets, loaded on first use.

    Args:
        config: thresholds and switches (default: the values tuned on the shipped dev split).
        lexicon: a custom lexicon (default: jieba's dictionary).
    """

    def __init__(self, config: CheckerConfig | None = None, lexicon: Lexicon | None = None):
        self.config = config or CheckerConfig()
        self._lexicon = lexicon

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

    @property
    def lexicon(self) -> Lexicon:
        if self._lexicon is None:
            self._lexicon = default_lexicon()
        return self._lexicon

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

    def correct_batch(self, texts: Iterable[str]) -> list[Correction]:
        """Corrects several texts (the lexicon loads once; results keep the input order)."""
        return [self.correct(text) for text in texts]

    # -- pinyin ---------------------------------------------------------------------------------------------
    def _regions(self, text: str, runs: list[PinyinRun]) -> list[list[PinyinRun]]:
        """Groups runs that only Chinese characters separate, within twice the context width."""
        regions: list[list[PinyinRun]] = []
        for run in runs:
            if regions:
                gap = text[regions[-1][-1].end : run.start]
                if gap and len(gap) <= 2 * self.config.context_chars and all(HAN.match(ch) for ch in gap):
                    regions[-1].append(run)
                    continue
            regions.append([run])
        return regions

    def _context(self, text: str, start: int, step: int) -> str:
        chars, position = [], start
        while 0 <= position < len(text) and len(chars) < self.config.context_chars and HAN.match(text[position]):
            chars.append(text[position])
            position += step
        return "".join(chars[::-1] if step < 0 else chars)

    def _decode_pinyin(self, text: str) -> list[Edit]:
        edits = []
        for region in self._regions(text, find_pinyin_runs(text)):
            left = self._context(text, region[0].start - 1, -1)
            right = self._context(text, region[-1].end, +1)
            best = None
            for splits in itertools.islice(
                itertools.product(*(run.splits for run in region)), _MAX_SPLIT_COMBINATIONS
            ):
                units: list[Unit] = [Unit("char", ch) for ch in left]
                owner: list[int | None] = [None] * len(units)  # which run each unit comes from
                for index, (run, split) in enumerate(zip(region, splits, strict=True)):
                    if index:
                        gap = text[region[index - 1].end : run.start]
                        units += [Unit("char", ch) for ch in gap]
                        owner += [None] * len(gap)
                    kind = "syl" if run.kind == "full" else "ini"
                    units += [Unit(kind, syllable) for syllable in split]
                    owner += [index] * len(split)
                units += [Unit("char", ch) for ch in right]
                owner += [None] * len(right)
                score, words = decode(self.lexicon, units)
                if best is None or score > best[0]:
                    best = (score, words, owner)
            _, words, owner = best
            decoded: dict[int, list[str]] = {index: [] for index in range(len(region))}
            run_logp = dict.fromkeys(range(len(region)), 0.0)
            in_word = dict.fromkeys(range(len(region)), False)  # part of a word of two or more characters
            for first, end, word in words:
                for position in range(first, end):
                    if owner[position] is not None:
                        decoded[owner[position]].append(word[position - first])
                        run_logp[owner[position]] += self.lexicon.word_logp(word) / (end - first)
                        in_word[owner[position]] |= end - first > 1
            for index, run in enumerate(region):
                if run_logp[index] / len(decoded[index]) < self.config.pinyin_min_logp:
                    continue  # no likely Chinese words: probably not pinyin at all
                if len(decoded[index]) > 1 and not in_word[index]:
                    continue  # several syllables that make no word (Elena, banana, open): a name or English
                edits.append(pinyin_edit(text, run, "".join(decoded[index])))
        return edits

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
            for offset in range(len(clause)):
                source_index = origin[i + offset]
                if source_index is None:
                    continue
                replacement = self._best_replacement(clause, offset)
                if replacement is not None:
                    edits.append(Edit(source_index, source_index + 1, clause[offset], replacement, "spelling"))
                    clause[offset] = replacement
            i = j
        return edits

    def _best_replacement(self, clause: list[str], offset: int) -> str | None:
        lexicon = self.lexicon
        # the language model is scored on a window around the character: the gain is local, and a window keeps
        # the cost linear in the length of the text
        low = max(0, offset - _SPELLING_WINDOW)
        window = "".join(clause[low : offset + _SPELLING_WINDOW + 1])
        at = offset - low
        base_score, words = segment(lexicon, window)
        # only a character the segmentation leaves on its own is suspect: a misspelling breaks its word apart
        position = 0
        for word in words:
            if position == at:
                if len(word) > 1:
                    return None
                break
            position += len(word)
        best, best_gain = None, self.config.spelling_threshold
        for candidate in confusable(clause[offset], self.config.confusion_sets):
            if not HAN.match(candidate):
                continue
            gain = segment(lexicon, window[:at] + candidate + window[at + 1 :])[0] - base_score
            if gain > best_gain:
                best, best_gain = candidate, gain
        return best
