"""The default spell checker: pinyin decoding and misspelling correction over a word lattice scored by an n-gram
language model.

It needs no neural weights and no torch. Pinyin runs are decoded together with the Chinese characters around
them (:mod:`pesc.pinyin_decoding`); misspelled characters are replaced from the confusion sets only when the
language model's gain clears a threshold (:mod:`pesc.misspelling`), so that correct text comes back unchanged.
The language model is a KenLM word n-gram when one is installed (:mod:`pesc.lm`), else jieba's unigram word
frequencies.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from pesc.charlm import CharacterModel, character_model
from pesc.config import CheckerConfig
from pesc.edits import Correction, apply_edits
from pesc.lexicon import Lexicon, default_lexicon
from pesc.lm import LanguageModel, UnigramLM, resolve_language_model
from pesc.misspelling import MisspellingCorrector
from pesc.pinyin_decoding import PinyinDecoder
from pesc.ranker import Ranker, default_ranker
from pesc.script import SCRIPTS, edits_in_user_script, is_traditional, to_simplified

# One lock for every lazy load of every checker: threads sharing a cold checker build the lexicon and the models
# once, not once each (they are module-level caches, shared by all checkers of a process).
_LOADING = threading.RLock()


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
        script: ``"auto"`` (each text's own script), ``"simplified"`` or ``"traditional"``: Traditional text is
            corrected through Simplified and answered in Traditional, every unchanged character as written.
        ranker: a :class:`pesc.ranker.Ranker` object to decide with (default: ``config.ranker``'s file, else the
            one shipped in the package); ignored when ``config.decision`` is ``"threshold"``.

    Raises:
        FileNotFoundError: ``lm`` names a file that does not exist.
        ValueError: ``script`` is not one of the three.
    """

    def __init__(
        self,
        config: CheckerConfig | None = None,
        lexicon: Lexicon | None = None,
        lm: str | os.PathLike | LanguageModel | None = "auto",
        script: str = "auto",
        ranker: Ranker | None = None,
    ):
        if script not in SCRIPTS:
            raise ValueError(f"script must be one of {SCRIPTS}, got {script!r}")
        self.script = script
        self.config = config or CheckerConfig()
        self._lexicon = lexicon
        if isinstance(lm, (str, os.PathLike)) and str(lm) not in ("auto", "unigram") and not Path(lm).is_file():
            raise FileNotFoundError(f"language model file not found: {lm}")  # now, not at the first correction
        self._lm_spec = lm
        self._lm: LanguageModel | None = None
        self._ranker: Ranker | None = ranker
        self._ranker_given = ranker is not None
        self._lexicon_given = lexicon is not None
        self._corrector: MisspellingCorrector | None = None

    def __getstate__(self) -> dict:
        """What rebuilds the checker in another process (``multiprocessing``, a Spark or Ray task): its settings and
        what the caller gave; the dictionaries and models are opened again there on first use."""
        return {
            "script": self.script,
            "config": self.config,
            "_lexicon": self._lexicon if self._lexicon_given else None,
            "_lexicon_given": self._lexicon_given,
            "_lm_spec": self._lm_spec,
            "_lm": None,
            "_ranker": self._ranker if self._ranker_given else None,
            "_ranker_given": self._ranker_given,
            "_corrector": None,
        }

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

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
        if self.config.correct_spelling:
            self._misspelling_corrector  # noqa: B018  (the ranker and the character model)
        return self

    @property
    def lexicon(self) -> Lexicon:
        if self._lexicon is None:
            with _LOADING:
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
        lexicon = self.lexicon
        with _LOADING:
            return character_model(lexicon)

    @property
    def ranker(self) -> Ranker | None:
        """The learned decision in use (None on the threshold path)."""
        if self.config.decision != "ranker":
            return None
        if self._ranker is None:
            with _LOADING:
                if self._ranker is None:
                    self._ranker = Ranker.load(self.config.ranker) if self.config.ranker else default_ranker()
        return self._ranker

    @property
    def _misspelling_corrector(self) -> MisspellingCorrector:
        if self._corrector is None:
            ranker = self.ranker
            uses_characters = ranker is not None or self.config.char_weight
            self._corrector = MisspellingCorrector(
                self.lexicon,
                self.lm,
                self.config,
                self.spelling_threshold if ranker is None else 0.0,
                self._character_model if uses_characters else None,
                ranker=ranker,
                ranker_threshold=self.config.ranker_threshold,
            )
        return self._corrector

    @functools.cached_property
    def _unigram(self) -> UnigramLM:
        return UnigramLM(self.lexicon)

    @property
    def lm(self) -> LanguageModel:
        """The language model in use (resolved on first use)."""
        if self._lm is None:
            with _LOADING:
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
        if self.script != "simplified":
            simplified = to_simplified(text)  # converted once, for the script test and for the correction
            if self.script == "traditional" or is_traditional(text, simplified):
                corrected = self._correct_simplified(simplified)
                edits = edits_in_user_script(text, corrected.text, corrected.edits)
                return Correction(source=text, text=apply_edits(text, edits), edits=edits)
        return self._correct_simplified(text)

    def _correct_simplified(self, text: str) -> Correction:
        pinyin_edits = PinyinDecoder(self.lexicon, self.lm, self._unigram, self.config).edits(text)
        spelling_edits = []
        if self.config.correct_spelling:
            spelling_edits = self._misspelling_corrector.edits(text, pinyin_edits)
        edits = tuple(sorted(pinyin_edits + spelling_edits, key=lambda e: e.start))
        return Correction(source=text, text=apply_edits(text, edits), edits=edits)

    def correct_batch(
        self, texts: Iterable[str], jobs: int = 1, return_exceptions: bool = False
    ) -> list[Correction | Exception]:
        """Corrects several texts; results keep the input order.

        Args:
            texts: the texts (a list or any iterable of strings; a single string is refused).
            jobs: processes to spread the texts over (the checker is pure Python, so each process uses one core).
            return_exceptions: a text that fails yields its exception in its place instead of stopping the batch
                (as ``asyncio.gather`` does), so one bad text loses no other.

        Raises:
            TypeError: ``texts`` is a string (it would be corrected character by character).
            ValueError: ``jobs`` is below 1.
        """
        if isinstance(texts, str):
            raise TypeError("texts must be an iterable of strings, not one string: use correct(text)")
        if jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {jobs}")
        texts = list(texts)
        if jobs == 1 or len(texts) < 2:
            return [correct_one(self, text, return_exceptions) for text in texts]
        from pesc.parallel import correct_in_processes

        return correct_in_processes(self, texts, jobs, return_exceptions=return_exceptions)


def correct_one(checker: SpellChecker, text: str, return_exceptions: bool) -> Correction | Exception:
    """``checker.correct(text)``, or the exception it raised when ``return_exceptions``."""
    if not return_exceptions:
        return checker.correct(text)
    try:
        return checker.correct(text)
    except Exception as error:  # the caller asked for failures as values
        return error
