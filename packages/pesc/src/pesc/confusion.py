"""The shipped confusion sets: characters that sound alike (same pinyin) or look alike (same strokes)."""

from __future__ import annotations

import functools
from importlib import resources


def _lines(name: str) -> list[str]:
    text = resources.files("pesc").joinpath("resources", f"{name}.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


@functools.cache
def confusion_set(name: str) -> dict[str, frozenset[str]]:
    """``character -> characters it is confused with``, for ``same_pinyin`` or ``same_stroke``."""
    table: dict[str, set[str]] = {}
    if name == "same_pinyin":
        for line in _lines(name):
            head, *columns = line.split("\t")
            table.setdefault(head, set()).update(ch for column in columns for ch in column)
    elif name == "same_stroke":
        for line in _lines(name):
            group = [ch for ch in line.split("\t") if ch]
            for ch in group:
                table.setdefault(ch, set()).update(other for other in group if other != ch)
    else:
        raise ValueError(f"unknown confusion set {name!r}; expected same_pinyin or same_stroke")
    return {ch: frozenset(others - {ch}) for ch, others in table.items()}


def confusable(ch: str, names: tuple[str, ...]) -> frozenset[str]:
    """Every character the named sets pair with ``ch``."""
    result: set[str] = set()
    for name in names:
        result |= confusion_set(name).get(ch, frozenset())
    return frozenset(result)
