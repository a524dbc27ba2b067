"""Making realistic errors: words typed as pinyin (full, initials, mixed; spaces, capitals), misspelled
characters drawn from the confusion sets, and sound-alike words (:mod:`pesc.sound_alike`). Every injected span is
recorded."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from pesc.confusion import confusion_set
from pesc.detect import HAN

PINYIN_FORMS = ("full", "initials", "mixed")


@dataclass
class InjectionConfig:
    """Rates of the injected errors. Each field is validated; forms are drawn by ``form_weights``."""

    pinyin_sentence_rate: float = field(default=0.5, metadata={"help": "share of sentences given pinyin words"})
    max_pinyin_words: int = field(default=2, metadata={"help": "pinyin words per chosen sentence: 1 to this"})
    form_weights: dict[str, float] = field(
        default_factory=lambda: {"full": 0.6, "initials": 0.15, "mixed": 0.25},
        metadata={"help": "relative frequency of full pinyin, initials and mixed pinyin/character words"},
    )
    space_rate: float = field(default=0.2, metadata={"help": "share of full-pinyin words typed with spaces"})
    capital_rate: float = field(default=0.1, metadata={"help": "share of full-pinyin words typed with capitals"})
    spelling_sentence_rate: float = field(
        default=0.5, metadata={"help": "synthetic subset: share of sentences given misspelled characters"}
    )
    max_misspellings: int = field(default=2, metadata={"help": "misspelled characters per chosen sentence"})
    same_stroke_share: float = field(default=0.3, metadata={"help": "misspellings that look alike, not sound alike"})
    soundalike_sentence_rate: float = field(
        default=0.0,
        metadata={
            "help": "synthetic subset: share of sentences given sound-alike words (the input method's other words of "
            "the same reading) instead of any other error; 0, the default, builds the shipped benchmark"
        },
    )
    max_soundalike_words: int = field(default=1, metadata={"help": "sound-alike words per chosen sentence: 1 to this"})

    def __post_init__(self) -> None:
        for name in (
            "pinyin_sentence_rate",
            "space_rate",
            "capital_rate",
            "spelling_sentence_rate",
            "same_stroke_share",
            "soundalike_sentence_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        for name in ("max_pinyin_words", "max_misspellings", "max_soundalike_words"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        unknown = set(self.form_weights) - set(PINYIN_FORMS)
        if (
            unknown
            or not self.form_weights
            or min(self.form_weights.values()) < 0
            or sum(self.form_weights.values()) <= 0
        ):
            raise ValueError(f"form_weights must give non-negative weights to {PINYIN_FORMS}, got {self.form_weights}")


def word_pinyin(word: str) -> list[str]:
    """Toneless pinyin of a word, phrase-aware (银行 -> yin hang), ``v`` for ``ü``."""
    from pypinyin import lazy_pinyin

    return lazy_pinyin(word, errors="ignore")


def type_as_pinyin(word: str, form: str, rng: random.Random, config: InjectionConfig) -> str:
    """How a user might type ``word`` in the given form."""
    syllables = word_pinyin(word)
    if form == "initials":
        return "".join(s[0] for s in syllables)
    if form == "mixed":
        # some characters typed as pinyin, the others kept, at least one of each
        keep = set(rng.sample(range(len(word)), rng.randint(1, len(word) - 1)))
        return "".join(ch if i in keep else syllables[i] for i, ch in enumerate(word))
    if rng.random() < config.capital_rate:
        syllables = (
            [s.capitalize() for s in syllables] if rng.random() < 0.5 else [syllables[0].capitalize(), *syllables[1:]]
        )
    separator = " " if len(syllables) > 1 and rng.random() < config.space_rate else ""
    return separator.join(syllables)


def misspell(ch: str, rng: random.Random, config: InjectionConfig) -> tuple[str, str] | None:
    """A confusable replacement for ``ch`` and the set it came from, or None when neither set knows ``ch``."""
    order = (
        ["same_stroke", "same_pinyin"] if rng.random() < config.same_stroke_share else ["same_pinyin", "same_stroke"]
    )
    for name in order:
        options = sorted(c for c in confusion_set(name).get(ch, ()) if HAN.match(c))
        if options:
            return rng.choice(options), name
    return None
