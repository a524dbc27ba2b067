"""Finding words typed as pinyin in Chinese text, and leaving everything else alone.

A Latin run is pinyin when it splits into valid full syllables (``gaoxing``, ``gao xing``, ``GaoXing``), is
a short run of initials (``wm``, ``gx``), or glues the two (``guanlijucl``: 管理局 in full, 成立 as initials), and
none of these say otherwise: it sits inside a URL, an e-mail address or code; it touches a digit (``5kg``,
``x86``) or code punctuation (``.``, ``_``, ``/``, ``@``) whose other side is not a Chinese character
(``src/gaoxing``, but not ``人/pingfanggongli``); it is ALL CAPS (``CPU``) or capitalised inside a syllable
(``iPhone``); it is a common English word; it stands next to other Latin words that are not pinyin
(``open source``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources

from pesc.pinyin import split_syllables, syllables

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Tones as learners and input tools write them: marks (gāo, or NFD: a + U+0304) or a digit after each syllable
# (gao1xing4). Detection reads a view of the text of the same length in which a precomposed toned vowel is its
# bare letter, a combining tone mark is _TONE_MARK and a tone digit is _TONE_DIGIT, so offsets stay the user's.
_TONE_MARK, _TONE_DIGIT = "\x01", "\x02"
_COMBINING_TONES = frozenset("\u0300\u0301\u0304\u030c")  # grave, acute, macron, caron
_DIAERESIS = "\u0308"  # ü, typed v
# letters with a tone digit after each syllable; not after a digit, where the digit is a number (8yue1日)
_TONE_NUMBERED = re.compile(r"(?<![0-9A-Za-z\x01])(?P<toned>(?:[A-Za-z\x01]+[1-5](?![0-9]))+)(?P<rest>[A-Za-z\x01]*)")
# An untoned syllable after the last tone digit is a neutral tone (ni3men, hao3de); any other letters there make
# the digit a number typed among pinyin (gong3xiang is 共3项, not 共享).
_NEUTRAL_TONE = frozenset(
    ["men", "de", "le", "ma", "ne", "ba", "me", "ge", "zi", "zhe", "tou", "guo", "ya", "la", "a"]
)
# Latin letters (with tones), optionally apostrophes and single spaces between letter groups.
_LETTERS = "[A-Za-z][A-Za-z\x01\x02]*"
_LATIN_RUN = re.compile(rf"{_LETTERS}(?:['’]{_LETTERS})*(?: {_LETTERS}(?:['’]{_LETTERS})*)*")
# A token (no spaces) longer than this is not typed Chinese but a log line, base64 or DNA: a phrase or a short
# sentence typed without spaces is 20-35 letters (womenmingtianyiqiquxuexiao: 26).
_MAX_TOKEN_LETTERS = 48
# Each pattern that starts with a character run begins only where that run begins (the lookbehinds): the leftmost
# match is the same, but a long run (20,000 letters) is scanned once instead of once from every letter in it.
_PROTECTED = re.compile(
    r"(?:https?|ftp)://\S+"  # URLs
    r"|www\.\S+"
    r"|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail addresses
    r"|`[^`]*`"  # inline code
    r"|(?<![A-Za-z0-9_])[A-Za-z0-9_]*_[A-Za-z0-9_]*"  # snake_case identifiers
    # dotted names: os.path, numpy.array(), os.path_name (with any digits before the name: never pinyin either)
    r"|(?<![A-Za-z0-9])[0-9]*[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+(?:\(\))?"
    # base64, keys and hashes: 16 or more of [A-Za-z0-9+/=] with both cases and a digit or + or / (tone-numbered
    # pinyin is lower case or short: gao1xing4, Gao1Xing4; inside such a token ni2 or si3 is not a word)
    r"|(?<![A-Za-z0-9+/=])(?=[A-Za-z0-9+/=]{16})(?=[A-Za-z0-9+/=]*[A-Z])(?=[A-Za-z0-9+/=]*[a-z])"
    r"(?=[A-Za-z0-9+/=]*[0-9+/])[A-Za-z0-9+/=]+"
    r"|(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{6,}={1,2}(?![A-Za-z0-9+/=])"  # shorter base64, known by its padding
)
_CODE_NEIGHBOURS = set("._/@\\#$%&=+*<>[]{}()|~^-:")
# Units written after numbers that also read as pinyin; initials-like units (kg, cm, ms) never pass anyway.
_UNITS = frozenset(["min", "mol", "bar", "pa", "lun", "mi"])
_INITIAL_LETTERS = set("bcdfghjklmnpqrstwxyzaoe")  # letters a syllable can start with (no i, u, v)
_VOWEL_INITIALS = set("aoe")
_CONSONANT_INITIALS = _INITIAL_LETTERS - _VOWEL_INITIALS
# Consonant clusters that start or end English words. Glued to a syllable they make English (plan, than, when;
# test, list, hand), so they never count as typed initials there: pl+an is "plan", not 批量案.
# fmt: off
_ENGLISH_ONSETS = frozenset({
    "bl", "br", "ch", "cl", "cr", "dr", "fl", "fr", "gl", "gr", "kn", "ph", "pl", "pr", "sc", "sh", "sk", "sl", "sm",
    "sn", "sp", "st", "sw", "th", "tr", "tw", "wh", "wr", "sch", "scr", "shr", "spl", "spr", "str", "thr",
})
_ENGLISH_CODAS = frozenset({
    "ch", "ck", "ct", "ds", "ft", "gh", "ld", "lf", "lk", "ll", "lm", "lp", "ls", "lt", "mb", "mp", "ms", "nd", "ng",
    "nk", "ns", "nt", "ps", "pt", "rb", "rd", "rk", "rl", "rm", "rn", "rp", "rs", "rt", "sk", "sp", "ss", "st", "th",
    "ts", "ws", "xt", "ght", "nds", "nts", "rds", "rst", "rts", "sts",
})
# fmt: on
_GLUED_INITIALS = range(2, 5)  # how many initials may be glued to full syllables
# Common English words that also split into valid pinyin; left alone when they stand on their own.
ENGLISH_STOPLIST = frozenset(
    [
        "a",
        "an",
        "ah",
        "am",
        "me",
        "she",
        "pie",
        "die",
        "lie",
        "tie",
        "long",
        "hang",
        "ping",
        "pang",
        "pin",
        "pen",
        "open",
        "change",
        "china",
        "banana",
        "hen",
        "bang",
        "gang",
        "sang",
        "tan",
        "ran",
        "run",
        "sun",
        "gun",
        "can",
        "ban",
        "ring",
        "pong",
    ]
)
# Two-letter English words with a vowel that starts syllables: never read as initials (ok is not 哦看). Runs of
# consonants alone (by, my) are typed initials far more often than English in Chinese text.
ENGLISH_INITIAL_WORDS = frozenset(["ok", "at", "as", "of", "on", "or", "to", "do", "go", "so", "no", "be"])
_HALF_WIDTH = {
    **{code: code - 0xFEE0 for code in range(0xFF21, 0xFF3B)},  # Ａ-Ｚ
    **{code: code - 0xFEE0 for code in range(0xFF41, 0xFF5B)},  # ａ-ｚ
    0xFF07: ord("'"),
    0x3000: ord(" "),  # the ideographic space, typed between full-width syllables
}
# single syllables or initials that are too ambiguous on their own
_TOO_SHORT = frozenset(["a", "e", "o"])


@dataclass(frozen=True)
class PinyinRun:
    """A Latin run that reads as pinyin: its place in the text and how it splits.

    ``splits`` holds the candidate syllable sequences (full pinyin, several when ambiguous, ``fangan``), one
    sequence of initials, or (glued) syllables with single-letter initials among them; ``kind`` says which, and
    :meth:`unit_kind` tells syllables from initials.
    """

    start: int
    end: int
    text: str
    kind: str  # "full", "initials" or "glued" (full syllables and initials: guanlijucl)
    splits: tuple[tuple[str, ...], ...]
    toned: bool = False  # written with tone marks or tone digits (nǐhǎo, gao1xing4)

    @property
    def letters(self) -> str:
        """The run's letters without spaces, apostrophes, tone marks or tone digits (``Nǐ hǎo`` -> ``Nihao``)."""
        decomposed = unicodedata.normalize("NFD", self.text.translate(_HALF_WIDTH))
        return "".join(ch for ch in decomposed if ch.isascii() and ch.isalpha())

    def unit_kind(self, element: str) -> str:
        """Whether an element of a split is a full syllable (``"syl"``) or a typed initial (``"ini"``). In a
        glued run the initials are the single consonants: every full syllable has a vowel."""
        if self.kind == "glued":
            return "ini" if element in _CONSONANT_INITIALS else "syl"
        return "syl" if self.kind == "full" else "ini"


def _capitals_fit(run: str, syllables: tuple[str, ...]) -> bool:
    """Capitals only at syllable starts (``GaoXing``, ``Gaoxing``), never ALL CAPS for more than one letter."""
    letters = run.replace(" ", "").replace("'", "").replace("’", "")
    if not any(ch.isupper() for ch in letters):
        return True
    if len(letters) > 1 and letters.isupper():
        return False
    starts, position = set(), 0
    for syllable in syllables:
        starts.add(position)
        position += len(syllable)
    return all(i in starts for i, ch in enumerate(letters) if ch.isupper())


def _protected_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _PROTECTED.finditer(text)]


def _inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


def _glued_splits(token: str) -> list[list[str]]:
    """Splits of a lowercase token into full syllables with 2-4 initials glued before or after them
    (``hmyou`` -> h m you, ``guanlijucl`` -> guan li ju c l), unless the initials are an English cluster there."""
    splits = []
    for count in _GLUED_INITIALS:
        if len(token) - count < 2:
            break  # a, e, o on their own are too ambiguous (app is not a + pp)
        for initials, rest, clusters, before in (
            (token[:count], token[count:], _ENGLISH_ONSETS, True),
            (token[-count:], token[:-count], _ENGLISH_CODAS, False),
        ):
            if set(initials) <= _CONSONANT_INITIALS and initials not in clusters:
                for split in split_syllables(rest):
                    splits.append([*initials, *split] if before else [*split, *initials])
    return splits


def _tone_digit_splits(token: str) -> list[list[str]]:
    """Splits of a token written with tone digits (``gao\x02xing\x02``): every piece before a digit is one
    syllable; after the last digit comes nothing or a neutral-tone syllable (``ni3men``)."""
    *toned, rest = token.replace(_TONE_MARK, "").split(_TONE_DIGIT)
    valid = syllables()
    if not all(piece in valid for piece in toned) or (rest and rest not in _NEUTRAL_TONE):
        return []
    return [[*toned, rest] if rest else toned]


def _classify(run: str, embedded: bool) -> tuple[str, tuple[tuple[str, ...], ...]] | None:
    """How a run of the detection view reads as pinyin (kind and splits), or None."""
    if any(len(token) > _MAX_TOKEN_LETTERS for token in run.split(" ")):
        return None
    if _TONE_DIGIT in run:
        tokens = run.lower().replace("’", "'").split(" ")
        per_token = [_tone_digit_splits(token) for token in tokens]
        plain = run.replace(_TONE_DIGIT, "").replace(_TONE_MARK, "")
        if not all(per_token) or plain.lower() in _TOO_SHORT:
            return None  # A1, E3: a paper size or a grade before it is ā or ě
        fitting = tuple(split for split in _combine(per_token) if _capitals_fit(plain, split))
        return ("full", fitting) if fitting else None
    run = run.replace(_TONE_MARK, "")
    tokens = run.lower().replace("’", "'").split(" ")
    per_token = [split_syllables(token) for token in tokens]
    if run.islower() and not all(per_token):
        # a word typed as initials glued to syllables (hmyou, zhong yang jun weizc): every token must split
        glued = [options or _glued_splits(token) for token, options in zip(tokens, per_token, strict=True)]
        if all(glued):
            return "glued", _combine(glued)
    if all(per_token):  # every space-separated word must be pinyin; spaces are syllable boundaries
        if len(tokens) == 1 and tokens[0] in _TOO_SHORT:
            return None
        # an English word typed between two Chinese characters without a space (我觉得hen舒服) is pinyin
        if len(tokens) == 1 and tokens[0] in ENGLISH_STOPLIST and not embedded:
            return None
        fitting = tuple(split for split in _combine(per_token) if _capitals_fit(run, split))
        return ("full", fitting) if fitting else None
    letters = "".join(tokens).replace("'", "")
    if len(tokens) == 1 and 2 <= len(letters) <= 6 and run.islower() and set(letters) <= _INITIAL_LETTERS:
        # a/o/e start syllables too (aj 案件, et 儿童), but a longer run with a vowel is a word: test, plan, and
        if (len(letters) > 2 and set(letters) & _VOWEL_INITIALS) or letters in ENGLISH_INITIAL_WORDS:
            return None
        return "initials", (tuple(letters),)
    return None


def _combine(per_token: list[list[list[str]]]) -> tuple[tuple[str, ...], ...]:
    """The run's splits: one option per token, in order (at most 16)."""
    splits: list[tuple[str, ...]] = [()]
    for options in per_token:
        splits = [head + tuple(option) for head in splits for option in options][:16]
    return tuple(splits)


@functools.cache
def english_words() -> frozenset[str]:
    """Common English words that split into two or more pinyin syllables (meeting, demo, nice, time): shipped in
    ``resources/english_words.txt`` (see its PROVENANCE.md)."""
    text = resources.files("pesc").joinpath("resources", "english_words.txt").read_text(encoding="utf-8")
    return frozenset(text.split())


def half_width(text: str) -> str:
    """Full-width Latin letters, apostrophes and spaces as their ASCII forms (ｇａｏｘｉｎｇ -> gaoxing), character for
    character, so every offset into the result is an offset into ``text``."""
    return text.translate(_HALF_WIDTH)


def _reading_view(text: str) -> str:
    """``text`` as detection reads it, character for character: full-width Latin as ASCII, toned vowels as their
    letters (ǜ and u + U+0308 as v), combining tone marks as _TONE_MARK, tone digits as _TONE_DIGIT."""
    view = list(half_width(text))
    for i, ch in enumerate(view):
        if ch.isascii():
            continue
        if ch in _COMBINING_TONES or (ch == _DIAERESIS and i and view[i - 1] in "uU"):
            if ch == _DIAERESIS:
                view[i - 1] = "v" if view[i - 1] == "u" else "V"
            view[i] = _TONE_MARK
            continue
        base, *marks = unicodedata.normalize("NFD", ch)
        if base in "aeiouAEIOUmnMN" and marks and set(marks) <= _COMBINING_TONES | {_DIAERESIS}:
            if _DIAERESIS in marks:
                base = "v" if base == "u" else "V" if base == "U" else None
            if base:
                view[i] = base
    return _TONE_NUMBERED.sub(_mark_tone_digits, "".join(view))


def _mark_tone_digits(match: re.Match) -> str:
    """The digits of a tone-numbered token as _TONE_DIGIT, unless letters other than a neutral-tone syllable
    follow the last one (then the digits are numbers: gong3xiang)."""
    toned, rest = match.group("toned"), match.group("rest")
    if rest and rest.replace(_TONE_MARK, "").lower() not in _NEUTRAL_TONE:
        return match.group()
    return re.sub("[1-5]", _TONE_DIGIT, toned) + rest


def _code_neighbour(text: str, index: int, direction: int) -> bool:
    """Whether ``text[index]`` is code punctuation that makes the run beside it code. Punctuation with a Chinese
    character on its far side separates Chinese (``人/pingfang``, ``功能(gongneng)``), not code; with Latin, a
    digit or nothing there it is code (``src/gaoxing``, ``women()``)."""
    if not 0 <= index < len(text) or text[index] not in _CODE_NEIGHBOURS:
        return False
    beyond = index + direction
    return not (0 <= beyond < len(text) and HAN.match(text[beyond]))


def find_pinyin_runs(text: str) -> list[PinyinRun]:
    """The Latin runs of ``text`` that read as pinyin, in order; full-width letters count as Latin, and each
    run's ``start``, ``end`` and ``text`` refer to ``text`` as given."""
    original, text = text, _reading_view(text)
    protected = _protected_spans(text)
    runs = []
    for match in _LATIN_RUN.finditer(text):
        start, end = match.span()
        before = text[start - 1] if start > 0 else ""
        after = text[end] if end < len(text) else ""
        if _code_neighbour(text, start - 1, -1) or _code_neighbour(text, end, 1) or _inside(protected, start, end):
            continue
        next_to_digit = before.isdigit() or after.isdigit()
        if (before.isalpha() and not HAN.match(before)) or (after.isalpha() and not HAN.match(after)):
            continue  # glued to other letters (accented Latin, Cyrillic, ...)
        classified = _classify(match.group(), embedded=bool(HAN.match(before) and HAN.match(after)))
        if classified is None:
            continue
        kind, splits = classified
        if next_to_digit and (kind != "full" or match.group().lower() in _UNITS):
            continue  # a unit or an identifier: 5kg, x86, v2, 10min
        toned = text[start:end] != half_width(original[start:end])
        runs.append(PinyinRun(start, end, original[start:end], kind, splits, toned))
    return runs
