"""Settings of the default (lexicon + language model) checker."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from lmcommon.data import read_dataclass, write_json
from lmcommon.fields import check_field_types


@dataclass
class CheckerConfig:
    """Knobs of :class:`pesc.SpellChecker`. ``spelling_threshold`` comes from ``pesc tune`` on the dev split;
    ``pinyin_min_logp`` is a guard against converting Latin words that decode to nothing likely."""

    decision: str = field(
        default="ranker",
        metadata={
            "help": "how a misspelling candidate is accepted: 'ranker' (the learned decision shipped in the "
            "package, or the file given by `ranker`) or 'threshold' (the language models' gain must clear "
            "spelling_threshold)"
        },
    )
    ranker: str | None = field(
        default=None,
        metadata={"help": "a ranker JSON written by `pesc train-ranker` (None: the one shipped in the package)"},
    )
    ranker_threshold: float | None = field(
        default=None,
        metadata={
            "help": "probability a candidate must reach under the ranker; higher keeps more correct text unchanged "
            "(None: the ranker's own, chosen on the dev split)"
        },
    )
    spelling_threshold: float | None = field(
        default=None,
        metadata={
            "help": "with decision='threshold': log-probability gain (nats) a confusion-set replacement must bring "
            "to be accepted; higher keeps more correct text unchanged. None: the value `pesc tune` chose on the dev "
            "split for the language model in use (14 for libime's KenLM model, 12 for the unigram)"
        },
    )
    char_weight: float = field(
        default=0.25,  # chosen with spelling_threshold on the dev split
        metadata={
            "help": "weight of the character model's gain (characters counted inside dictionary words) added to "
            "the word model's gain when judging a replacement; 0 uses the word model alone"
        },
    )
    pinyin_min_logp: float = field(
        default=-14.0,  # chosen on the dev split: lower values change nothing there (see docs/pesc.md)
        metadata={
            "help": "mean log-probability per syllable the decoded words must reach for a Latin run to be "
            "converted; lower converts more"
        },
    )
    word_penalty: float = field(
        default=1.0,  # chosen with rare_reading_penalty and context_chars on the dev split's pinyin rows
        metadata={
            "help": "log-probability (nats) charged per word when decoding pinyin: higher reads a run typed as "
            "one word as one word rather than as single characters"
        },
    )
    rare_reading_penalty: float = field(
        default=2.0,
        metadata={
            "help": "log-probability (nats) charged when a syllable becomes a character it is not the usual "
            "reading of (yue -> 说)"
        },
    )
    context_chars: int = field(
        default=6,
        metadata={"help": "Chinese characters (and digits, read as numerals) on each side that take part in decoding"},
    )
    correct_spelling: bool = field(default=True, metadata={"help": "fix misspelled characters, not only pinyin"})
    confusion_sets: tuple[str, ...] = field(
        default=("same_pinyin", "same_stroke"), metadata={"help": "which shipped confusion sets propose replacements"}
    )

    def __post_init__(self) -> None:
        check_field_types(self)  # a hand-edited config: "correct_spelling": "no" or a NaN threshold, refused by name
        if self.decision not in ("ranker", "threshold"):
            raise ValueError(f"decision must be 'ranker' or 'threshold', got {self.decision!r}")
        if self.ranker_threshold is not None and not 0.0 <= self.ranker_threshold <= 1.0:
            raise ValueError(f"ranker_threshold is a probability in [0, 1], got {self.ranker_threshold}")
        if self.spelling_threshold is not None and self.spelling_threshold < 0:
            raise ValueError(f"spelling_threshold must be >= 0, got {self.spelling_threshold}")
        if self.pinyin_min_logp > 0:
            raise ValueError(f"pinyin_min_logp is a log-probability and must be <= 0, got {self.pinyin_min_logp}")
        for name in ("word_penalty", "rare_reading_penalty", "char_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.context_chars < 0:
            raise ValueError(f"context_chars must be >= 0, got {self.context_chars}")
        self.confusion_sets = tuple(self.confusion_sets)
        unknown = set(self.confusion_sets) - {"same_pinyin", "same_stroke"}
        if unknown:
            raise ValueError(f"confusion_sets: unknown set(s) {sorted(unknown)}; known: same_pinyin, same_stroke")

    def save(self, path: str | Path) -> None:
        write_json(path, asdict(self))

    @classmethod
    def load(cls, path: str | Path) -> CheckerConfig:
        """Reads a config written by :meth:`save` (a missing file, bad JSON or an unknown field: one clear error)."""
        return read_dataclass(path, cls)
