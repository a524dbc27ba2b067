"""What a checker returns: the corrected text and the edits that turn the source into it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from pesc.detect import HAN

EDIT_KINDS = ("pinyin", "spelling")


@dataclass(frozen=True)
class Edit:
    """Replace ``source[start:end]`` (``original``) by ``replacement``; ``kind`` is "pinyin" or "spelling"."""

    start: int
    end: int
    original: str
    replacement: str
    kind: str


@dataclass(frozen=True)
class Correction:
    """The checker's answer for one text."""

    source: str
    text: str
    edits: tuple[Edit, ...]

    @property
    def changed(self) -> bool:
        return self.text != self.source

    def to_dict(self) -> dict:
        return {"source": self.source, "text": self.text, "edits": [asdict(e) for e in self.edits]}


def apply_edits(source: str, edits: Iterable[Edit]) -> str:
    """Applies non-overlapping edits (in any order) to ``source``.

    Raises:
        ValueError: edits overlap, fall outside the text, or do not match the text they claim to replace.
    """
    pieces, position = [], 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < position or edit.end > len(source) or edit.start > edit.end:
            raise ValueError(f"edit {edit} overlaps another or lies outside a text of length {len(source)}")
        if source[edit.start : edit.end] != edit.original:
            raise ValueError(f"edit {edit} does not match the source text {source[edit.start : edit.end]!r}")
        pieces.append(source[position : edit.start])
        pieces.append(edit.replacement)
        position = edit.end
    pieces.append(source[position:])
    return "".join(pieces)


def pinyin_edit(text: str, run, replacement: str) -> Edit:
    """The edit that replaces a pinyin run (anything with ``start``/``end``) by its characters.

    A space typed between Chinese and the Latin run goes with the run (``很 gaoxing`` -> ``很高兴``).
    """
    start, end = run.start, run.end
    if start >= 2 and text[start - 1] == " " and HAN.match(text[start - 2]):
        start -= 1
    if end + 1 < len(text) and text[end] == " " and HAN.match(text[end + 1]):
        end += 1
    return Edit(start, end, text[start:end], replacement, "pinyin")
