"""From text to model units and back: each Chinese character is one unit, each typed pinyin syllable (or
initial) becomes one slot, so the unit sequence aligns with the correct text character by character."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from pesc.detect import HAN, find_pinyin_runs
from pesc.pinyin import char_readings, toneless

LETTERS = "abcdefghijklmnopqrstuvwxyz"
IGNORE_INDEX = -100


@dataclass(frozen=True)
class Unit:
    """One position of the model's input.

    ``kind``: "han" (a Chinese character), "slot" (a pinyin syllable or initial standing for one character) or
    "other" (copied through). ``run`` numbers the pinyin run a slot belongs to.
    """

    kind: str
    text: str
    pinyin: str
    run: int | None = None
    position: int = -1  # where the unit starts in the source text


@dataclass(frozen=True)
class Run:
    """A pinyin run of the source: its span and the syllables (or initials) of its slots."""

    start: int
    end: int
    syllables: tuple[str, ...]


@functools.cache
def primary_reading(ch: str) -> str:
    """The main toneless reading of a Chinese character (the first pypinyin lists), "" if none."""
    from pypinyin.pinyin_dict import pinyin_dict

    toned = pinyin_dict.get(ord(ch))
    return toneless(toned.split(",")[0]) if toned else ""


def char_unit(ch: str, position: int = -1) -> Unit:
    """The unit of one source character: Chinese (with its reading) or copied through."""
    return (
        Unit("han", ch, primary_reading(ch), None, position)
        if HAN.match(ch)
        else Unit("other", ch, "", None, position)
    )


def units_for(text: str, runs: list[Run]) -> list[Unit]:
    """The unit sequence of ``text`` with ``runs`` as pinyin slots."""
    units: list[Unit] = []
    starts = {run.start: (index, run) for index, run in enumerate(runs)}
    position = 0
    while position < len(text):
        if position in starts:
            index, run = starts[position]
            units.extend(Unit("slot", text[run.start : run.end], s, index, run.start) for s in run.syllables)
            position = run.end
            continue
        units.append(char_unit(text[position], position))
        position += 1
    return units


def detect_runs(text: str) -> list[Run]:
    """Pinyin runs found by the detector; an ambiguous full-pinyin run takes its first split."""
    return [Run(r.start, r.end, r.splits[0]) for r in find_pinyin_runs(text)]


def _latin_groups(original: str) -> list[tuple[bool, str]]:
    """Splits an edit's typed text into Chinese characters (True, ch) and Latin groups (False, letters)."""
    groups: list[tuple[bool, str]] = []
    for ch in original:
        if HAN.match(ch):
            groups.append((True, ch))
        elif ch.isascii() and ch.isalpha():
            if groups and not groups[-1][0]:
                groups[-1] = (False, groups[-1][1] + ch.lower())
            else:
                groups.append((False, ch.lower()))
        # spaces and apostrophes inside a run separate syllables only
    return groups


def gold_alignment(row: dict) -> tuple[list[Unit], list[str]] | None:
    """Units of a benchmark row's source (pinyin slots taken from its recorded edits) and the target character
    each unit stands for ("" for units that are copied). None when an edit cannot be aligned."""
    from pesc.inject import word_pinyin

    source, target = row["source"], row["target"]
    units: list[Unit] = []
    labels: list[str] = []
    s = t = 0
    run_index = 0
    for edit in sorted(row["edits"], key=lambda e: e["start"]):
        while s < edit["start"]:
            ch = source[s]
            units.append(char_unit(ch, s))
            labels.append(target[t] if HAN.match(ch) else "")
            s, t = s + 1, t + 1
        replacement = edit["replacement"]
        if edit["kind"] == "spelling":
            ch = edit["original"]
            units.append(Unit("han", ch, primary_reading(ch)))
            labels.append(replacement)
        else:
            reference = word_pinyin(replacement)
            if len(reference) != len(replacement):
                return None
            j = 0
            for is_han, value in _latin_groups(edit["original"]):
                if is_han:
                    units.append(Unit("han", value, primary_reading(value)))
                    labels.append(replacement[j])
                    j += 1
                    continue
                for end in range(j + 1, len(replacement) + 1):
                    if "".join(reference[j:end]) == value:
                        slots = reference[j:end]
                        break
                    if "".join(r[0] for r in reference[j:end]) == value:
                        slots = [r[0] for r in reference[j:end]]
                        break
                else:
                    return None
                units.extend(Unit("slot", value, syllable, run_index) for syllable in slots)
                labels.extend(replacement[j : j + len(slots)])
                j += len(slots)
            if j != len(replacement):
                return None
            run_index += 1
        s, t = edit["end"], t + len(replacement)
    while s < len(source):
        ch = source[s]
        units.append(char_unit(ch, s))
        labels.append(target[t] if HAN.match(ch) else "")
        s, t = s + 1, t + 1
    return units, labels


@functools.cache
def _chars_with_reading() -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    by_syllable: dict[str, set[str]] = {}
    by_initial: dict[str, set[str]] = {}
    for ch, readings in char_readings().items():
        for syllable in readings:
            by_syllable.setdefault(syllable, set()).add(ch)
            by_initial.setdefault(syllable[0], set()).add(ch)
    return ({k: frozenset(v) for k, v in by_syllable.items()}, {k: frozenset(v) for k, v in by_initial.items()})


def allowed_characters(pinyin: str) -> frozenset[str]:
    """Characters a slot may become: those with that reading (a syllable) or a reading with that initial."""
    by_syllable, by_initial = _chars_with_reading()
    return by_initial.get(pinyin, frozenset()) if len(pinyin) == 1 else by_syllable.get(pinyin, frozenset())


def slot_fits(ch: str, pinyin: str) -> bool:
    """Whether ``ch`` has the slot's reading (full syllable) or a reading starting with its initial."""
    readings = char_readings().get(ch, frozenset())
    return any(r[0] == pinyin for r in readings) if len(pinyin) == 1 else pinyin in readings
