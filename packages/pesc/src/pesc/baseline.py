"""The baseline a reviewer runs first: a context-free lookup.

Every Latin run the detector accepts becomes the most probable dictionary words spelt so (jieba's word
frequencies, the run alone, no neighbouring characters), and misspelled characters are left as they are. Any
score of the default checker means something only beside this one on the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from pesc.detect import find_pinyin_runs
from pesc.edits import Correction, apply_edits, pinyin_edit
from pesc.lattice import Unit, decode
from pesc.lexicon import Lexicon, default_lexicon
from pesc.lm import UnigramLM


class LookupChecker:
    """Pinyin runs -> their most frequent dictionary words, one run at a time, without context.

    Args:
        lexicon: the dictionary (default: jieba's).
    """

    def __init__(self, lexicon: Lexicon | None = None):
        self._lexicon = lexicon

    @property
    def lexicon(self) -> Lexicon:
        if self._lexicon is None:
            self._lexicon = default_lexicon()
        return self._lexicon

    def correct(self, text: str) -> Correction:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        unigram = UnigramLM(self.lexicon)
        edits = []
        for run in find_pinyin_runs(text):
            best = max(
                (
                    decode(self.lexicon, unigram, [Unit(run.unit_kind(element), element) for element in split])
                    for split in run.splits
                ),
                key=lambda decoded: decoded[0],
            )
            edits.append(pinyin_edit(text, run, "".join(word for _, _, word in best[1])))
        return Correction(source=text, text=apply_edits(text, edits), edits=tuple(edits))

    def correct_batch(self, texts: Iterable[str]) -> list[Correction]:
        return [self.correct(text) for text in texts]
