"""Traditional Chinese: corrected through Simplified, answered in the user's own characters.

The checker's dictionaries, language model and confusion sets are Simplified. Traditional text is converted
with OpenCC (t2s) character for character, corrected, and the edits are mapped back onto the user's text: a
character the checker did not change comes back exactly as written (variant forms, punctuation and Latin
included), and a replacement is converted back (s2t) in the context of the corrected sentence, so that 发 becomes
發 or 髮 as the words around it say.
"""

from __future__ import annotations

import functools
import re

from pesc.edits import Edit

SCRIPTS = ("auto", "simplified", "traditional")


@functools.cache
def opencc_converter(config: str):
    """OpenCC's converter for ``config`` (``"t2s"``, ``"s2t"``), made once per process."""
    import opencc

    try:
        return opencc.OpenCC(config)
    except Exception:  # older builds of the binding name the configuration file
        return opencc.OpenCC(f"{config}.json")


_SURROGATE = re.compile("([\ud800-\udfff])")


def convert(config: str, text: str) -> str:
    """``text`` through OpenCC's ``config``; a lone surrogate (which UTF-8, hence OpenCC, cannot carry) stays as it
    is and the text on either side of it is converted on its own."""
    if not _SURROGATE.search(text):
        return opencc_converter(config).convert(text)
    parts = _SURROGATE.split(text)  # the surrogates at the odd indices
    return "".join(part if index % 2 else opencc_converter(config).convert(part) for index, part in enumerate(parts))


def to_simplified(text: str) -> str:
    """``text`` in Simplified characters, one character for one, so every offset stays valid.

    OpenCC converts phrases as well as characters; where a phrase would change the length, each character is
    converted on its own (a character whose conversion is not one character stays as it is).
    """
    converted = convert("t2s", text)
    if len(converted) == len(text):
        return converted
    single = (convert("t2s", ch) for ch in text)
    return "".join(new if len(new) == 1 else ch for ch, new in zip(text, single, strict=True))


def is_traditional(text: str, simplified: str | None = None) -> bool:
    """Whether ``text`` is written in Traditional characters: more of them change under t2s than under s2t
    (characters common to both scripts change under neither).

    Args:
        simplified: ``to_simplified(text)`` when the caller has it already.
    """
    simplified = to_simplified(text) if simplified is None else simplified
    to_simple = sum(a != b for a, b in zip(text, simplified, strict=True))
    if not to_simple:
        return False
    to_traditional = convert("s2t", text)
    if len(to_traditional) != len(text):
        return True
    return to_simple > sum(a != b for a, b in zip(text, to_traditional, strict=True))


def edits_in_user_script(text: str, corrected: str, edits: tuple[Edit, ...]) -> tuple[Edit, ...]:
    """Edits of the Simplified form of ``text`` as edits of ``text`` itself, replacements in Traditional.

    Args:
        text: what the user wrote (Traditional).
        corrected: the Simplified text after ``edits``.
        edits: the checker's edits of ``to_simplified(text)``, in order (offsets are valid in ``text``).

    Returns:
        The edits with ``original`` taken from ``text`` and ``replacement`` converted to Traditional; an edit
        that converts back to what the user wrote is dropped.
    """
    traditional = convert("s2t", corrected)
    aligned = len(traditional) == len(corrected)
    mapped, shift = [], 0  # shift: how far the corrected text has moved from the source at this point
    for edit in edits:
        at = edit.start + shift
        size = len(edit.replacement)
        # in the context of the whole sentence where the conversion kept every offset, else on its own
        replacement = traditional[at : at + size] if aligned else convert("s2t", edit.replacement)
        shift += size - (edit.end - edit.start)
        original = text[edit.start : edit.end]
        if replacement != original:
            mapped.append(Edit(edit.start, edit.end, original, replacement, edit.kind))
    return tuple(mapped)
