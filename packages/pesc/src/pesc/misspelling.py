"""Misspelled characters: which characters are suspect, which confusion-set characters may replace them, and
whether the language models' gain is strong enough to do it."""

from __future__ import annotations

import math

from pesc.charlm import CharacterModel
from pesc.config import CheckerConfig
from pesc.confusion import confusable
from pesc.detect import HAN
from pesc.edits import Edit
from pesc.lattice import segment
from pesc.lexicon import Lexicon
from pesc.lm import LanguageModel

_SPELLING_WINDOW = 4  # characters on each side of a suspect character that the language model sees
_CANDIDATE_WORD_LENGTH = 4  # a replacement must complete a lexicon word of at most this many characters
_COMMON_CHARACTER_LOGP = -7.0  # single-character words this frequent (的 得 地 在 再) may replace a lone character
_NAME_DOTS = frozenset("·・‧•")  # between the parts of a transliterated name: 玛丽埃尔·扎格尼斯


class MisspellingCorrector:
    """Replaces misspelled characters when the evidence clears a threshold.

    Args:
        lexicon: the words a replacement may complete.
        lm: the word model whose gain over a window judges a replacement.
        config: confusion sets and the character model's weight.
        threshold: the gain (nats) a replacement must exceed.
        character_model: characters counted inside dictionary words (used when ``config.char_weight`` > 0).
    """

    def __init__(
        self,
        lexicon: Lexicon,
        lm: LanguageModel,
        config: CheckerConfig,
        threshold: float,
        character_model: CharacterModel | None,
    ):
        self.lexicon, self.lm, self.config, self.threshold = lexicon, lm, config, threshold
        self.character_model = character_model

    def edits(self, text: str, pinyin_edits: list[Edit]) -> list[Edit]:
        """ "spelling" edits of ``text``'s own characters, judged on the text as the pinyin edits leave it."""
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

    def _candidates(self, clause: list[str], offset: int) -> list[str]:
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
        candidates = self._candidates(clause, offset)
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
        weight = self.config.char_weight if self.character_model is not None else 0.0
        base_chars = self.character_model.score(window) if weight else 0.0
        best, best_gain = None, self.threshold
        for candidate in candidates:
            changed = window[:at] + candidate + window[at + 1 :]
            gain = segment(lexicon, lm, changed, start, end)[0] - base_score
            if weight:
                gain += weight * (self.character_model.score(changed) - base_chars)
            if gain > best_gain:
                best, best_gain = candidate, gain
        return best
