"""Misspelled characters: which characters are suspect, which confusion-set characters may replace them, and
whether to replace: by the learned decision (:mod:`pesc.ranker`, the default) or by the language models' gain
clearing one threshold."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

from pesc.candidate_features import FEATURES, PairStatistics, candidate_features
from pesc.charlm import CharacterModel
from pesc.config import CheckerConfig
from pesc.confusion import confusable
from pesc.detect import HAN
from pesc.edits import Edit
from pesc.lattice import segment
from pesc.lexicon import Lexicon
from pesc.lm import LanguageModel
from pesc.ranker import Ranker

_SPELLING_WINDOW = 4  # characters on each side of a suspect character that the language model sees
_CANDIDATE_WORD_LENGTH = 4  # a replacement must complete a lexicon word of at most this many characters
_COMMON_CHARACTER_LOGP = -7.0  # single-character words this frequent (的 得 地 在 再) may replace a lone character
_NAME_DOTS = frozenset("·・‧•")  # between the parts of a transliterated name: 玛丽埃尔·扎格尼斯


class Scored(NamedTuple):
    """A candidate replacement and the language models' gains (nats) over the window when it is put in."""

    candidate: str
    lm_gain: float
    char_gain: float


class MisspellingCorrector:
    """Replaces misspelled characters the learned decision accepts, or, without a ranker, whose evidence clears a
    threshold.

    Args:
        lexicon: the words a replacement may complete.
        lm: the word model whose gain over a window judges a replacement.
        config: confusion sets and the character model's weight.
        threshold: the gain (nats) a replacement must exceed on the threshold path.
        character_model: characters counted inside dictionary words (needed by the ranker, and on the threshold
            path when ``config.char_weight`` > 0).
        ranker: the learned decision; None takes the threshold path.
        ranker_threshold: the probability a candidate must reach (default: the ranker's own, chosen on dev).
        statistics: the training data's correction counts (default: the ranker's).
    """

    def __init__(
        self,
        lexicon: Lexicon,
        lm: LanguageModel,
        config: CheckerConfig,
        threshold: float,
        character_model: CharacterModel | None,
        ranker: Ranker | None = None,
        ranker_threshold: float | None = None,
        statistics: PairStatistics | None = None,
    ):
        self.lexicon, self.lm, self.config, self.threshold = lexicon, lm, config, threshold
        self.character_model = character_model
        self._pools: dict[str, tuple[list[str], list[str]]] = {}
        self.ranker = ranker
        if ranker is not None and tuple(ranker.features) != FEATURES:
            raise ValueError(
                "the ranker was trained on other features than this version of pesc computes; re-train it with "
                "`pesc train-ranker`"
            )
        if ranker is not None:
            self.ranker_threshold = ranker.threshold if ranker_threshold is None else ranker_threshold
            self.statistics = statistics or PairStatistics.from_pairs(ranker.pair_counts)
        else:
            self.statistics = statistics  # for training the ranker; unused on the threshold path

    def edits(self, text: str, pinyin_edits: list[Edit]) -> list[Edit]:
        """ "spelling" edits of ``text``'s own characters, judged on the text as the pinyin edits leave it."""
        return [edit for edit, _ in self._walk(text, pinyin_edits, apply=True)]

    def examples(self, text: str) -> Iterator[tuple[int, str, list[float]]]:
        """For training the ranker: every candidate the checker would weigh in ``text`` (no pinyin, nothing
        applied), as ``(position in text, candidate, features)``."""
        for _, rows in self._walk(text, [], apply=False):
            yield from rows

    def _walk(self, text: str, pinyin_edits: list[Edit], apply: bool):
        """Yields ``(edit, [])`` for each accepted replacement when ``apply``, else ``(None, feature rows)`` for
        each suspect position."""
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
            for offset, reason in enumerate(self._suspects(clause)):
                source_index = origin[i + offset]
                if source_index is None or reason is None:
                    continue
                scored = self._scored(clause, offset)
                if not apply:
                    yield None, [(source_index, c, f) for c, f in self._features(clause, offset, scored, reason)]
                    continue
                replacement = self._decide(clause, offset, scored, reason)
                if replacement is not None:
                    yield Edit(source_index, source_index + 1, clause[offset], replacement, "spelling"), []
                    clause[offset] = replacement
            i = j

    def _candidates(self, clause: list[str], offset: int) -> list[str]:
        """Confusion-set characters worth scoring at ``offset``: those that make a lexicon word with their
        neighbours (环竟 -> 环境) and common single-character words (的 -> 得).

        Wider pools were measured on dev for the learned decision and not adopted (docs/pesc.md, "Misspellings"):
        adding the training data's own corrections and common sound-alike characters reaches more errors but
        lowers correction F1 at the 98.5% kept rule."""
        common, rare = self._pool(clause[offset])
        if not rare:
            return common
        known, prefixes = self.lexicon.logp, self.lexicon.prefixes
        # the text on each side of the character for every word length and start that covers it; a left side of
        # two or more characters that begins no word cannot begin this one either
        sides = [
            (left, "".join(clause[offset + 1 : start + length]))
            for length in range(2, _CANDIDATE_WORD_LENGTH + 1)
            for start in range(max(0, offset - length + 1), min(offset, len(clause) - length) + 1)
            if len(left := "".join(clause[start:offset])) < 2 or left in prefixes
        ]
        completing = [c for c in rare if any(left + c + right in known for left, right in sides)]
        return sorted(common + completing) if completing else common

    def _pool(self, ch: str) -> tuple[list[str], list[str]]:
        """The Chinese characters the confusion sets pair with ``ch``, sorted: those common enough to stand
        alone, and the rest (kept only where they complete a word). Computed once per character."""
        pool = self._pools.get(ch)
        if pool is None:
            known = self.lexicon.logp
            options = sorted(c for c in confusable(ch, self.config.confusion_sets) if HAN.match(c))
            common = [c for c in options if known.get(c, -math.inf) >= _COMMON_CHARACTER_LOGP]
            pool = self._pools[ch] = (common, [c for c in options if c not in common])
        return pool

    def _suspects(self, clause: list[str]) -> list[int | None]:
        """Which characters of a clause may be misspelled, and why: a misspelling breaks its word apart (0: the
        character is a word of its own), or makes a "word" only the noisier dictionary knows (1); a character
        inside a word the language model knows is taken as written (None)."""
        lm = self.lm
        reasons: list[int | None] = []
        for word in segment(self.lexicon, lm, "".join(clause), True, True)[1]:
            reason = 0 if len(word) == 1 else None if lm.knows(word) else 1
            reasons += [reason] * len(word)
        return reasons

    def _decide(self, clause: list[str], offset: int, scored: list[Scored], reason: int) -> str | None:
        """The replacement to apply at ``offset``, or None."""
        if self.ranker is None:
            weight = self.config.char_weight if self.character_model is not None else 0.0
            best, best_gain = None, self.threshold
            for candidate, lm_gain, char_gain in scored:
                gain = lm_gain + weight * char_gain
                if gain > best_gain:
                    best, best_gain = candidate, gain
            return best
        best, best_probability = None, self.ranker_threshold
        for candidate, features in self._features(clause, offset, scored, reason):
            probability = self.ranker.probability(features)
            if probability >= best_probability:
                best, best_probability = candidate, probability
        return best

    def _features(
        self, clause: list[str], offset: int, scored: list[Scored], reason: int
    ) -> Iterator[tuple[str, list[float]]]:
        """Each candidate worth asking the ranker about, with its features. A candidate that makes the window
        less likely under both models is never a correction, so it is not scored (most are of this kind)."""
        for candidate, lm_gain, char_gain in scored:
            if lm_gain <= 0 and char_gain <= 0:
                continue
            others = [s.lm_gain for s in scored if s.candidate != candidate]
            yield (
                candidate,
                candidate_features(
                    self.lexicon,
                    self.statistics,
                    clause,
                    offset,
                    candidate,
                    lm_gain,
                    char_gain,
                    max(others) if others else None,
                    len(scored),
                    reason,
                ),
            )

    def _scored(self, clause: list[str], offset: int) -> list[Scored]:
        """The candidates at ``offset`` with the gains each brings over a window around it."""
        candidates = self._candidates(clause, offset)
        if not candidates:
            return []
        lexicon, lm = self.lexicon, self.lm
        # the language model is scored on a window around the character: the gain is local, and a window keeps
        # the cost linear in the length of the text
        low = max(0, offset - _SPELLING_WINDOW)
        high = min(len(clause), offset + _SPELLING_WINDOW + 1)
        window = "".join(clause[low:high])
        at = offset - low
        start, end = low == 0, high == len(clause)
        base_score = segment(lexicon, lm, window, start, end)[0]
        characters = self.character_model
        base_chars = characters.score(window) if characters is not None else 0.0
        scored = []
        for candidate in candidates:
            changed = window[:at] + candidate + window[at + 1 :]
            lm_gain = segment(lexicon, lm, changed, start, end)[0] - base_score
            char_gain = characters.score(changed) - base_chars if characters is not None else 0.0
            scored.append(Scored(candidate, lm_gain, char_gain))
        return scored
