"""The RCSCB-style benchmark: realistic sources that mix pinyin-typed words and misspelled characters.

Two subsets:
- ``human``: human misspelling pairs (SIGHAN, ECSpell) with pinyin conversions injected into the source;
- ``synthetic``: clean sentences with pinyin conversions and misspellings drawn from the confusion sets.

Each row: ``id``, ``subset``, ``origin``, ``source``, ``target``, ``kind`` (pinyin / spelling / both / none) and
``edits`` (start, end in the source, original, replacement, kind, form). Deterministic for a seed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lmcommon.data import iter_text_lines, read_text_lines
from lmcommon.errors import DataError
from lmcommon.seed import keyed_random
from pesc.detect import HAN
from pesc.inject import InjectionConfig, misspell, type_as_pinyin, word_pinyin
from pesc.script import opencc_converter

_SENTENCE_END = "。！？!?；;"


@dataclass(frozen=True)
class Pair:
    """A source sentence (possibly misspelled) and its correct target, with where it came from."""

    source: str
    target: str
    origin: str


def iter_tsv_pairs(path: str | Path) -> Iterator[tuple[int, str, str]]:
    """``(line number, source, target)`` of each non-blank line of a pair file (``source<TAB>target`` or
    ``n_errors<TAB>source<TAB>target``), as written.

    Raises:
        DataError: a line without two or three columns, or not UTF-8, naming file and line.
    """
    for line_number, line in iter_text_lines(path):
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) not in (2, 3):
            raise DataError(
                "expected 2 or 3 tab-separated columns (source<TAB>target or n<TAB>source<TAB>target), "
                f"got {len(columns)}",
                path=path,
                line=line_number,
            )
        yield line_number, columns[-2], columns[-1]


def read_pairs(path: str | Path, origin: str, traditional: bool = False) -> list[Pair]:
    """Reads SIGHAN/ECSpell TSV pairs (``n_errors<TAB>source<TAB>target`` or ``source<TAB>target``).

    Traditional text goes through OpenCC t2s. Pairs whose source and target differ in length (not character
    substitution) are skipped.

    Raises:
        DataError: a line without a source and a target, or not UTF-8, naming file and line.
    """
    converter = opencc_converter("t2s") if traditional else None
    pairs = []
    for _, source, target in iter_tsv_pairs(path):
        if converter is not None:
            source, target = converter.convert(source), converter.convert(target)
        if len(source) == len(target) and target.strip():
            pairs.append(Pair(source, target, origin))
    return pairs


def read_pair_rows(path: str | Path) -> list[dict]:
    """Evaluation rows from any pair file, ``source<TAB>target`` (or ``n<TAB>source<TAB>target``) a line, of any
    lengths. Spaces are removed from both sides, since LEMON and SIGHAN's converted files put one between
    characters. Each row's ``kind`` says what the target changes: ``none`` (the source is already right),
    ``substitution`` (characters replaced one for one) or ``length`` (characters added or removed).

    Raises:
        DataError: a line without a source and a target, an empty target, or not UTF-8, naming file and line.
    """
    rows = []
    for line_number, source, target in iter_tsv_pairs(path):
        source, target = source.replace(" ", ""), target.replace(" ", "")
        if not target:
            raise DataError("empty target", path=path, line=line_number)
        kind = "none" if source == target else "substitution" if len(source) == len(target) else "length"
        rows.append({"id": f"line-{line_number}", "source": source, "target": target, "kind": kind, "subset": "pairs"})
    if not rows:
        raise DataError("no pairs in the file", path=path)
    return rows


def read_sentences(path: str | Path, origin: str, column: str | None = None, min_chars: int = 6) -> list[Pair]:
    """Clean sentences from a text file (one paragraph per line, split at sentence ends) or a TSV ``column``."""
    pairs = []
    lines = read_text_lines(path)
    if column is not None:
        header = lines[0].split("\t")
        if column not in header:
            raise DataError(f"no column {column!r} in header {header}", path=path, line=1)
        index = header.index(column)
        lines = [line.split("\t")[index] for line in lines[1:] if line.strip()]
    for line in lines:
        for sentence in _split_sentences(line.strip().lstrip("*").strip()):
            if sum(1 for ch in sentence if HAN.match(ch)) >= min_chars:
                pairs.append(Pair(sentence, sentence, origin))
    return pairs


def _split_sentences(text: str) -> Iterator[str]:
    start = 0
    for i, ch in enumerate(text):
        if ch in _SENTENCE_END:
            yield text[start : i + 1]
            start = i + 1
    if text[start:].strip():
        yield text[start:]


def _segments(target: str) -> list[tuple[int, int]]:
    """Word spans of the target, by jieba's segmentation."""
    import jieba

    spans, position = [], 0
    for word in jieba.lcut(target, HMM=False):
        spans.append((position, position + len(word)))
        position += len(word)
    return spans


def make_row(pair: Pair, subset: str, row_id: str, config: InjectionConfig, seed: int) -> dict:
    """Injects errors into one pair and records every span.

    ``human`` pairs keep their own misspellings and gain pinyin words; ``synthetic`` pairs (source == target)
    gain pinyin words and confusion-set misspellings.
    """
    rng = keyed_random(seed, row_id)
    target = pair.target
    # drawn only when asked for, so that the shipped benchmark (rate 0) keeps every other row's random stream
    if (
        subset == "synthetic"
        and config.soundalike_sentence_rate > 0
        and rng.random() < config.soundalike_sentence_rate
    ):
        row = _soundalike_row(pair, row_id, config, rng)
        if row is not None:
            return row
    source_chars = list(pair.source)
    # characters whose misspelling is part of the data: human errors, then synthetic ones
    spelling: dict[int, tuple[str, str]] = {
        i: (s, "human") for i, (s, t) in enumerate(zip(pair.source, target, strict=True)) if s != t
    }
    if subset == "synthetic" and rng.random() < config.spelling_sentence_rate:
        positions = [i for i, ch in enumerate(target) if HAN.match(ch)]
        for i in rng.sample(positions, min(len(positions), rng.randint(1, config.max_misspellings))):
            replaced = misspell(target[i], rng, config)
            if replaced is not None:
                spelling[i] = replaced
                source_chars[i] = replaced[0]

    conversions: dict[int, tuple[int, str, str]] = {}  # word start -> (end, typed text, form)
    if rng.random() < config.pinyin_sentence_rate:
        words = [
            (s, e)
            for s, e in _segments(target)
            if e - s <= 4 and all(HAN.match(ch) for ch in target[s:e]) and len(word_pinyin(target[s:e])) == e - s
        ]
        # prefer words without a misspelling, so that a sentence can hold both kinds of error
        clean_words = [w for w in words if not any(i in spelling for i in range(*w))] or words
        forms, weights = zip(*config.form_weights.items(), strict=True)
        for start, end in rng.sample(clean_words, min(len(clean_words), rng.randint(1, config.max_pinyin_words))):
            form = rng.choices(forms, weights)[0]
            if end - start == 1 and form != "full":
                form = "full"  # one character: initials and mixed forms make no sense
            conversions[start] = (end, type_as_pinyin(target[start:end], form, rng, config), form)

    source_parts: list[str] = []
    edits = []
    i = 0
    while i < len(target):
        if i in conversions:
            end, typed, form = conversions[i]
            position = sum(len(p) for p in source_parts)
            edits.append(
                {
                    "start": position,
                    "end": position + len(typed),
                    "original": typed,
                    "replacement": target[i:end],
                    "kind": "pinyin",
                    "form": form,
                }
            )
            source_parts.append(typed)
            i = end
            continue
        position = sum(len(p) for p in source_parts)
        if i in spelling:
            wrong, form = spelling[i]
            edits.append(
                {
                    "start": position,
                    "end": position + 1,
                    "original": wrong,
                    "replacement": target[i],
                    "kind": "spelling",
                    "form": form,
                }
            )
            source_parts.append(wrong)
        else:
            source_parts.append(source_chars[i])
        i += 1
    kinds = {edit["kind"] for edit in edits}
    kind = "both" if len(kinds) == 2 else (kinds.pop() if kinds else "none")
    return _row(pair, subset, row_id, "".join(source_parts), kind, edits)


def _soundalike_row(pair: Pair, row_id: str, config: InjectionConfig, rng) -> dict | None:
    """A synthetic row whose only errors are sound-alike words (kind ``soundalike``): 1 to
    ``max_soundalike_words`` words of the sentence replaced by another word the input method offers for the same
    reading (:func:`pesc.sound_alike.offered_instead`). None when no word of the sentence has one."""
    from pesc.lexicon import default_lexicon
    from pesc.sound_alike import offered_instead

    lexicon, target = default_lexicon(), pair.target
    words = [(s, e) for s, e in _segments(target) if e - s >= 2 and all(HAN.match(ch) for ch in target[s:e])]
    replaced = []
    for start, end in rng.sample(words, len(words)):
        if len(replaced) == config.max_soundalike_words:
            break
        wrong = offered_instead(lexicon, target[start:end], rng)
        if wrong is not None:
            replaced.append((start, end, wrong))
    if not replaced:
        return None
    source, edits = list(target), []
    for start, end, wrong in sorted(replaced):
        source[start:end] = list(wrong)  # same length: positions stay
        edits.append(
            {"start": start, "end": end, "original": wrong, "replacement": target[start:end], "kind": "soundalike"}
        )
    return _row(pair, "synthetic", row_id, "".join(source), "soundalike", edits)


def _row(pair: Pair, subset: str, row_id: str, source: str, kind: str, edits: list[dict]) -> dict:
    """A benchmark row: the text with its errors (``source``), the pair's target, and every injected span."""
    return {
        "id": row_id,
        "subset": subset,
        "origin": pair.origin,
        "source": source,
        "target": pair.target,
        "kind": kind,
        "edits": edits,
    }


def build_rows(
    pairs: Iterable[Pair], subset: str, split: str, config: InjectionConfig, seed: int, start_index: int = 0
) -> list[dict]:
    """Rows for one subset of one split, ids ``{split}-{subset}-{n}``."""
    if subset not in ("human", "synthetic"):
        raise ValueError(f"subset must be 'human' or 'synthetic', got {subset!r}")
    return [
        make_row(pair, subset, f"{split}-{subset}-{start_index + n:05d}", config, seed) for n, pair in enumerate(pairs)
    ]


@dataclass(frozen=True)
class Source:
    """One input of the shipped recipe: a file under the CSC data folder and how to read it."""

    subset: str  # "human" pairs or "synthetic" (clean sentences)
    path: str  # relative to the data folder
    origin: str
    reader: str = "pairs"  # "pairs" (TSV source/target) or "sentences" (plain text, or the TSV ``column``)
    traditional: bool = False
    column: str | None = None
    targets_only: bool = False  # use the correct side of pairs as clean sentences
    sample: int | None = None  # rows drawn (seeded) when the file has more than the split needs
    errata: str | None = None  # reviewed fixes of targets that are themselves misspelled (see read_errata)


# Dev targets that were themselves misspelled, found by reading every dev sentence the checker changed (data/csc
# PROVENANCE.md): counted as correct text they made real fixes look like false alarms when thresholds were chosen.
DEV_ERRATA = "errata/dev-targets.tsv"

# The shipped benchmark: SIGHAN for the human subset (2015 test in Traditional, through OpenCC), correct
# sentences of ECSpell, Chinese Wikipedia and UD Chinese-GSDSimp for the synthetic one. No sentence is in two splits.
SHIPPED_RECIPE: dict[str, list[Source]] = {
    "train": [
        Source("human", "sighan_from_ecspell/simplified/train2015.txt", "sighan15-train"),
        Source("synthetic", "ecspell_domains/law.train", "ecspell-law-train", targets_only=True, sample=700),
        Source("synthetic", "ecspell_domains/med.train", "ecspell-med-train", targets_only=True, sample=700),
        Source("synthetic", "ecspell_domains/odw.train", "ecspell-odw-train", targets_only=True, sample=700),
        Source("synthetic", "pycorrector/wiki_zh_200.txt", "wiki-zh", reader="sentences"),
    ],
    "dev": [
        Source("human", "sighan_from_ecspell/simplified/test2013.txt", "sighan13-test", sample=500, errata=DEV_ERRATA),
        Source(
            "synthetic",
            "clean_sentences_ud_gsdsimp/zh_gsdsimp-ud-dev.sentences.tsv",
            "ud-gsdsimp-dev",
            reader="sentences",
            column="text",
            errata=DEV_ERRATA,
        ),
    ],
    "test": [
        Source("human", "sighan_from_ecspell/traditional/test2015.txt", "sighan15-test-t2s", traditional=True),
        Source("synthetic", "ecspell_domains/law.test", "ecspell-law-test", targets_only=True, sample=200),
        Source("synthetic", "ecspell_domains/med.test", "ecspell-med-test", targets_only=True, sample=200),
        Source("synthetic", "ecspell_domains/odw.test", "ecspell-odw-test", targets_only=True, sample=200),
    ],
}


def read_errata(path: str | Path) -> dict[str, str]:
    """Reviewed fixes of misspelled targets: ``target as published<TAB>fixed target`` per line.

    Raises:
        DataError: a line without two columns, a fix that changes the length, or a target listed twice, naming
            file and line.
    """
    errata: dict[str, str] = {}
    for line_number, line in iter_text_lines(path):
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) != 2:
            raise DataError(
                f"expected target<TAB>fixed target, got {len(columns)} columns", path=path, line=line_number
            )
        wrong, fixed = columns
        if len(wrong) != len(fixed) or wrong == fixed:
            raise DataError(
                "a fix replaces characters one for one and changes at least one", path=path, line=line_number
            )
        if wrong in errata:
            raise DataError("this target is listed twice", path=path, line=line_number)
        errata[wrong] = fixed
    return errata


def apply_errata(pairs: list[Pair], errata: dict[str, str]) -> list[Pair]:
    """Each pair with its target fixed. A human pair keeps its source as the writer wrote it, so the misspelling
    its annotators missed becomes one to correct; a clean sentence (source == target) is fixed on both sides."""
    fixed = []
    for pair in pairs:
        target = errata.get(pair.target, pair.target)
        source = target if pair.source == pair.target else pair.source
        fixed.append(Pair(source, target, pair.origin))
    return fixed


def _read_source(data_dir: Path, spec: Source, seed: int) -> list[Pair]:
    path = data_dir / spec.path
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: missing; --data-dir must be the CSC data folder (data/csc in the repository)"
        )
    if spec.reader == "sentences":
        pairs = read_sentences(path, spec.origin, column=spec.column)
    else:
        pairs = read_pairs(path, spec.origin, traditional=spec.traditional)
        if spec.targets_only:
            pairs = [Pair(p.target, p.target, p.origin) for p in pairs]
    unique = list({p.target: p for p in pairs}.values())  # one row per sentence
    if spec.sample is not None and len(unique) > spec.sample:
        unique = keyed_random(seed, spec.path).sample(unique, spec.sample)
    if spec.errata is not None:  # after sampling, so that the fixes leave the drawn rows as they were
        unique = apply_errata(unique, read_errata(data_dir / spec.errata))
    return unique


def build_shipped_benchmark(
    data_dir: str | Path,
    config: InjectionConfig | None = None,
    seed: int = 13,
    limit: int | None = None,
    splits: Sequence[str] = tuple(SHIPPED_RECIPE),
) -> dict[str, list[dict]]:
    """Builds train/dev/test from the repository's CSC data with :data:`SHIPPED_RECIPE`.

    Args:
        data_dir: the folder holding SIGHAN, ECSpell, pycorrector and UD files (``data/csc``).
        config: injection rates.
        seed: makes the build deterministic.
        limit: at most this many rows per source (for quick demos).
        splits: the splits returned; each has the rows of a full build (the splits before it are read too).
    """
    if not splits or set(splits) - set(SHIPPED_RECIPE):
        raise ValueError(f"splits: expected one or more of {list(SHIPPED_RECIPE)}, got {list(splits)}")
    config = config or InjectionConfig()
    data_dir = Path(data_dir)
    built: dict[str, list[dict]] = {}
    used: set[str] = set()
    # test first, then dev, then train: a sentence that appears in several sources (SIGHAN's train and test
    # share sentences) stays in the evaluation split only; so a split depends on those before it, never after
    order = ("test", "dev", "train")
    for split in order[: 1 + max(order.index(s) for s in splits)]:
        rows: list[dict] = []
        for spec in SHIPPED_RECIPE[split]:
            pairs = [p for p in _read_source(data_dir, spec, seed) if p.target not in used][:limit]
            used.update(p.target for p in pairs)
            already = sum(1 for r in rows if r["subset"] == spec.subset)
            rows.extend(build_rows(pairs, spec.subset, split, config, seed, start_index=already))
        built[split] = rows
    return {split: built[split] for split in SHIPPED_RECIPE if split in splits}
