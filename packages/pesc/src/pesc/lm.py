"""Language models that score words in context for the default checker.

Two implementations share one small interface: :class:`UnigramLM` (jieba's word frequencies, no dependency,
blind to context) and :class:`KenLM` (any KenLM binary or ARPA model, read by the ``kenlm`` module of the PyPI
package ``ufal-kenlm``). The model that needs no hub is Debian's ``libime-data-language-model``: a word trigram of
Simplified Chinese in KenLM's binary format (``/usr/lib/<arch>/libime/zh_CN.lm``).

A *state* is the model's own summary of the words before (hashable, comparable), so the decoder can merge
hypotheses the model cannot tell apart. Scores are natural-log probabilities.
"""

from __future__ import annotations

import functools
import glob
import logging
import math
import os
from collections.abc import Hashable
from pathlib import Path

logger = logging.getLogger(__name__)

ENVIRONMENT_VARIABLE = "PESC_LM"
_LOG10 = math.log(10.0)
# Debian/Ubuntu's libime-data-language-model; the architecture folder varies, so glob it too
_LIBIME_PATHS = ("/usr/lib/*/libime/zh_CN.lm", "/usr/lib/libime/zh_CN.lm", "/usr/lib64/libime/zh_CN.lm")
HOW_TO_GET_A_MODEL = (
    "pesc: no n-gram language model found, so the default checker scores with jieba's unigram word frequencies "
    "(it cannot use context). For the context-aware checker: pip install 'pesc[lm]' and, on Debian/Ubuntu, "
    "apt-get install libime-data-language-model; or set PESC_LM to any KenLM binary or ARPA file."
)

State = Hashable


class LanguageModel:
    """Interface of the checker's language models."""

    name: str = "language model"
    order: int = 1
    # the spelling threshold (nats) used when the configuration names none: `pesc tune` on the shipped dev split
    # for the models below; another model's scores have another scale, so tune it for that model
    spelling_threshold: float = 14.0

    def start(self, sentence_start: bool) -> State:
        """The state before the first word: a sentence start, or a text cut out of a sentence (no context)."""
        raise NotImplementedError

    def score(self, state: State, word: str) -> tuple[float, State]:
        """``(log P(word | state), the state after word)``; any string of Chinese characters gets a finite
        score."""
        raise NotImplementedError

    def end(self, state: State) -> float:
        """log P(end of sentence | state)."""
        return 0.0

    def knows(self, word: str) -> bool:
        """Whether ``word`` is in the model's vocabulary (a unit the model scores as a whole)."""
        raise NotImplementedError


class UnigramLM(LanguageModel):
    """Context-free word probabilities from a :class:`pesc.lexicon.Lexicon` (the fallback model).

    A word outside the lexicon is scored as its characters, each at least at the lexicon's floor.
    """

    name = "unigram (jieba word frequencies)"
    order = 1
    spelling_threshold = 12.0

    def __init__(self, lexicon):
        self.lexicon = lexicon

    def start(self, sentence_start: bool) -> State:
        return None

    def score(self, state: State, word: str) -> tuple[float, State]:
        logp = self.lexicon.logp.get(word)
        if logp is None:
            logp = sum(self.lexicon.word_logp(ch) for ch in word)
        return logp, None

    def knows(self, word: str) -> bool:
        return word in self.lexicon.logp


class KenLM(LanguageModel):
    """An n-gram model read by KenLM (binary or ARPA).

    Words outside the vocabulary would all get the ``<unk>`` probability (about 10^-6.3 in libime's model,
    higher than most real words), so they are scored as a sequence of their characters instead.

    Args:
        path: a KenLM binary (``.lm``, ``.bin``, ``.klm``) or ARPA file.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ImportError: the ``kenlm`` module (PyPI: ``ufal-kenlm``, the ``pesc[lm]`` extra) is not installed.
        ValueError: KenLM cannot read the file.
    """

    def __init__(self, path: str | os.PathLike):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"language model file not found: {path}")
        try:
            import kenlm
        except ImportError:
            raise ImportError(
                f"reading {path} needs the kenlm module: pip install 'pesc[lm]' (the PyPI package ufal-kenlm)"
            ) from None
        try:
            self._model = kenlm.Model(str(path))
        except (OSError, RuntimeError) as error:  # kenlm raises OSError for files it cannot parse
            raise ValueError(f"{path}: not a KenLM binary or ARPA language model ({error})") from None
        self._kenlm = kenlm
        self.path = path
        self.name = f"KenLM {self._model.order}-gram ({path})"
        self.order = self._model.order
        self._starts = (self._kenlm.State(), self._kenlm.State())  # (no context, sentence start)
        self._model.NullContextWrite(self._starts[0])
        self._model.BeginSentenceWrite(self._starts[1])
        self._scores: dict[State, dict[str, tuple[float, State]]] = {}  # state -> word -> (logp, next state)
        self._known: dict[str, bool] = {}

    def __reduce__(self):
        # the KenLM handle cannot be pickled: the file is opened again (memory-mapped, so cheaply) where it lands
        return (type(self), (self.path,))

    def knows(self, word: str) -> bool:
        known = self._known.get(word)
        if known is None:
            known = self._known[word] = word in self._model
        return known

    def start(self, sentence_start: bool) -> State:
        return self._starts[sentence_start]

    def score(self, state: State, word: str) -> tuple[float, State]:
        by_word = self._scores.get(state)
        if by_word is None:
            if len(self._scores) > 200_000:  # bound the memory of a long-running process
                self._scores.clear()
            by_word = self._scores[state] = {}
        cached = by_word.get(word)
        if cached is not None:
            return cached
        logp = 0.0
        for unit in (word,) if len(word) == 1 or self.knows(word) else word:
            following = self._kenlm.State()
            logp += self._model.BaseScore(state, unit, following)
            state = following
        result = by_word[word] = (logp * _LOG10, state)
        return result

    def end(self, state: State) -> float:
        return self._model.BaseScore(state, "</s>", self._kenlm.State()) * _LOG10


def default_model_path() -> Path | None:
    """Where the model comes from when none is named: ``$PESC_LM``, else libime's model if installed."""
    named = os.environ.get(ENVIRONMENT_VARIABLE)
    if named:
        return Path(named)
    for pattern in _LIBIME_PATHS:
        for found in sorted(glob.glob(pattern)):
            return Path(found)
    return None


@functools.cache
def _notice_once(message: str) -> None:
    logger.warning(message)


def resolve_language_model(spec, lexicon_loader) -> LanguageModel:
    """The language model a checker asked for.

    Args:
        spec: a :class:`LanguageModel`, ``"unigram"``, a path to a KenLM file, or ``"auto"`` (``$PESC_LM``,
            then libime's model, else the unigram model with a one-time notice on how to get a real one).
        lexicon_loader: called for the lexicon when the unigram model is chosen.

    Raises:
        FileNotFoundError: a named path (or ``$PESC_LM``) does not exist.
        ImportError: a KenLM file is named but ``kenlm`` is not installed.
    """
    if isinstance(spec, LanguageModel):
        return spec
    if spec == "unigram":
        return UnigramLM(lexicon_loader())
    if spec in (None, "auto"):
        path = default_model_path()
        if path is not None and str(path) == "unigram":
            return UnigramLM(lexicon_loader())
        if path is None:
            _notice_once(HOW_TO_GET_A_MODEL)
            return UnigramLM(lexicon_loader())
        if os.environ.get(ENVIRONMENT_VARIABLE) and not path.is_file():
            raise FileNotFoundError(f"{ENVIRONMENT_VARIABLE}={path}: no such language model file")
        try:
            return KenLM(path)
        except ImportError:
            _notice_once(
                f"pesc: found the language model {path} but not the kenlm module; scoring with jieba's unigram "
                "word frequencies instead. Install it with: pip install 'pesc[lm]'"
            )
            return UnigramLM(lexicon_loader())
    return KenLM(spec)
