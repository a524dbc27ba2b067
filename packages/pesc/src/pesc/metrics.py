"""Sentence-level detection and correction metrics that work when source, prediction and target differ in
length, broken down by error kind, plus the standard SIGHAN sentence-level metrics for equal-length data.

Sentence level, as in SIGHAN 2015: a sentence counts as *detected* when the prediction changes exactly the
source positions the target changes, and as *corrected* when the prediction equals the target. Precision is
over the sentences the checker changed, recall over the sentences that needed a change. Positions come from
aligning the source with the target and with the prediction; insertions count by the gap they fill.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from lmcommon.metrics import bootstrap_intervals, precision_recall_f1

KINDS = ("pinyin", "spelling", "both", "soundalike", "none")  # a benchmark row's errors (pesc.benchmark)
PAIR_KINDS = ("substitution", "length", "none")  # a pair file's rows (pesc.benchmark.read_pair_rows)


def kinds_in(rows: Sequence[dict]) -> list[str]:
    """The error kinds present in ``rows``: the benchmark's (:data:`KINDS`) and a pair file's (:data:`PAIR_KINDS`)
    in that order, then any other sorted, ``none`` (already correct) last."""
    present = {row["kind"] for row in rows}
    ordered = [kind for kind in dict.fromkeys([*KINDS, *PAIR_KINDS]) if kind in present and kind != "none"]
    others = sorted(present - {*KINDS, *PAIR_KINDS})
    return [*ordered, *others, *(["none"] if "none" in present else [])]


def changed_positions(source: str, other: str) -> frozenset[tuple[str, int]]:
    """The source positions ``other`` changes: ``("x", i)`` for a replaced or deleted character, ``("ins", i)``
    for text inserted before position i. Equal lengths compare position by position (SIGHAN's convention)."""
    if len(source) == len(other):
        return frozenset(("x", i) for i, (a, b) in enumerate(zip(source, other, strict=True)) if a != b)
    marks = set()
    matcher = difflib.SequenceMatcher(None, source, other, autojunk=False)
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            marks.update(("x", i) for i in range(i1, i2))
        elif tag == "insert":
            marks.add(("ins", i1))
    return frozenset(marks)


def _scores(tp: int, predicted: int, gold: int) -> dict[str, float]:
    precision, recall, f1 = precision_recall_f1(tp, predicted - tp, gold - tp)
    return {"precision": precision, "recall": recall, "f1": f1}


def sentence_metrics(sources: Sequence[str], targets: Sequence[str], predictions: Sequence[str]) -> dict:
    """Sentence-level detection and correction P/R/F1, for any lengths.

    Returns:
        ``{"sentences", "needing_change", "changed", "detection": {precision, recall, f1},
        "correction": {...}, "false_positive_rate", "unchanged_when_correct"}``; the last two are over the
        sentences whose source was already right (0.0 / 1.0 when there are none).

    Raises:
        ValueError: the three sequences differ in length.
    """
    if not len(sources) == len(targets) == len(predictions):
        raise ValueError(f"got {len(sources)} sources, {len(targets)} targets and {len(predictions)} predictions")
    counts = _sentence_counts(sources, targets, predictions)
    gold, predicted, corrected, detected, clean, false_positives = _totals(counts, range(len(counts)))
    return {
        "sentences": len(sources),
        "needing_change": gold,
        "changed": predicted,
        "detection": _scores(detected, predicted, gold),
        "correction": _scores(corrected, predicted, gold),
        "false_positive_rate": false_positives / clean if clean else 0.0,
        "unchanged_when_correct": 1 - false_positives / clean if clean else 1.0,
    }


def sighan_metrics(sources: Sequence[str], targets: Sequence[str], predictions: Sequence[str]) -> dict:
    """The SIGHAN sentence-level metrics, defined for character substitution only.

    Raises:
        ValueError: a source, target and prediction of one row differ in length (use :func:`sentence_metrics`).
    """
    for row, (source, target, prediction) in enumerate(zip(sources, targets, predictions, strict=True), start=1):
        if not len(source) == len(target) == len(prediction):
            raise ValueError(
                f"row {row}: SIGHAN metrics need equal lengths, got source {len(source)}, target {len(target)}, "
                f"prediction {len(prediction)}; use sentence_metrics for length-changing data"
            )
    return sentence_metrics(sources, targets, predictions)


def metrics_by_kind(rows: Sequence[dict], predictions: Sequence[str]) -> dict[str, dict]:
    """:func:`sentence_metrics` overall and for each error kind of the rows (:func:`kinds_in`: a benchmark's
    pinyin only, spelling only, both, none); the ``none`` group is the correct sentences, where only the
    false-positive rate means much."""
    if len(rows) != len(predictions):
        raise ValueError(f"got {len(rows)} rows but {len(predictions)} predictions")
    report = {"all": sentence_metrics([r["source"] for r in rows], [r["target"] for r in rows], predictions)}
    for kind in kinds_in(rows):
        chosen = [(r, p) for r, p in zip(rows, predictions, strict=True) if r["kind"] == kind]
        if chosen:
            report[kind] = sentence_metrics(
                [r["source"] for r, _ in chosen], [r["target"] for r, _ in chosen], [p for _, p in chosen]
            )
    return report


def bootstrap_correction_f1(
    sources: Sequence[str],
    targets: Sequence[str],
    predictions: Sequence[str],
    baseline: Sequence[str] | None = None,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 13,
) -> dict[str, float]:
    """A percentile bootstrap interval (over sentences) for sentence-level correction F1, or, given a
    ``baseline``'s predictions on the same sentences, for the paired difference ``F1 - F1(baseline)``.

    Returns:
        ``{"estimate", "low", "high"}``.

    Raises:
        ValueError: the sequences differ in length, or there are no sentences.
    """
    return bootstrap_sentence_intervals(sources, targets, predictions, baseline, resamples, level, seed)[
        "correction_f1"
    ]


def _sentence_counts(sources: Sequence[str], targets: Sequence[str], predictions: Sequence[str]):
    """Per sentence (needs a change, changed, corrected, detected): what every sentence-level metric counts."""
    counts = []
    for source, target, prediction in zip(sources, targets, predictions, strict=True):
        needs, changed = target != source, prediction != source
        corrected = needs and prediction == target
        detected = needs and changed and changed_positions(source, prediction) == changed_positions(source, target)
        counts.append((needs, changed, corrected, detected))
    return counts


def _totals(counts, indices) -> tuple[int, int, int, int, int, int]:
    """Over the sentences ``indices`` (repeats count): needing a change, changed, corrected, detected, already
    correct, and already correct but changed."""
    gold = changed = corrected = detected = clean = false_positives = 0
    for index in indices:
        needs, did, right, found = counts[index]
        gold += needs
        changed += did
        corrected += right
        detected += found
        clean += not needs
        false_positives += did and not needs
    return gold, changed, corrected, detected, clean, false_positives


def _statistics(counts, indices) -> dict[str, float]:
    gold, changed, corrected, detected, clean, false_positives = _totals(counts, indices)
    return {
        "correction_f1": precision_recall_f1(corrected, changed - corrected, gold - corrected)[2],
        "detection_f1": precision_recall_f1(detected, changed - detected, gold - detected)[2],
        "correct_changed": false_positives / clean if clean else 0.0,
    }


SENTENCE_STATISTICS = ("correction_f1", "detection_f1", "correct_changed")


def bootstrap_sentence_intervals(
    sources: Sequence[str],
    targets: Sequence[str],
    predictions: Sequence[str],
    baseline: Sequence[str] | None = None,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 13,
) -> dict[str, dict[str, float]]:
    """Percentile bootstrap intervals (over sentences, the same resamples for each) of sentence-level correction
    F1, detection F1 and the share of correct sentences changed; given a ``baseline``'s predictions on the same
    sentences, of the paired differences ``mine - baseline``.

    Returns:
        ``{"correction_f1" | "detection_f1" | "correct_changed": {"estimate", "low", "high"}}``.

    Raises:
        ValueError: the sequences differ in length, or there are no sentences.
    """
    if not sources:
        raise ValueError("no sentences to resample")
    counts = _sentence_counts(sources, targets, predictions)
    other = _sentence_counts(sources, targets, baseline) if baseline is not None else None

    def statistics(indices) -> dict[str, float]:
        mine = _statistics(counts, indices)
        if other is None:
            return mine
        theirs = _statistics(other, indices)
        return {name: mine[name] - theirs[name] for name in SENTENCE_STATISTICS}

    return bootstrap_intervals(len(counts), statistics, resamples, level, seed)
