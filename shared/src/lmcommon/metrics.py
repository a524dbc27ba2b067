"""Metrics used by more than one method package: P/R/F1 from counts, multi-label F1, bootstrap intervals, answer
matching."""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence


def precision_recall_f1(tp: int | float, fp: int | float, fn: int | float) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts; each is 0.0 where its denominator is 0.

    Raises:
        ValueError: a count is negative.
    """
    for name, value in (("tp", tp), ("fp", fp), ("fn", fn)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def multilabel_f1(
    y_true: Sequence[Iterable[Hashable]],
    y_pred: Sequence[Iterable[Hashable]],
    labels: Collection[Hashable] | None = None,
) -> dict[str, float]:
    """Micro- and macro-averaged F1 over sets of labels, one set per example.

    Micro-F1 pools the true/false positives and false negatives of every label; macro-F1 averages the
    per-label F1 over ``labels`` (default: every label seen in ``y_true`` or ``y_pred``), a label with no
    support and no prediction counting 0, as scikit-learn does with ``zero_division=0``.

    Args:
        y_true: gold label sets.
        y_pred: predicted label sets, aligned with ``y_true``.
        labels: the label universe to average over.

    Returns:
        ``{"micro_f1": float, "macro_f1": float}``.

    Raises:
        ValueError: ``y_true`` and ``y_pred`` differ in length.
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} examples but y_pred has {len(y_pred)}")
    true_sets = [set(labels_) for labels_ in y_true]
    pred_sets = [set(labels_) for labels_ in y_pred]
    universe = set(labels) if labels is not None else set().union(*true_sets, *pred_sets)
    counts = {label: [0, 0, 0] for label in universe}  # label -> [tp, fp, fn]
    for gold, pred in zip(true_sets, pred_sets, strict=True):
        for label in gold & pred:
            if label in counts:
                counts[label][0] += 1
        for label in pred - gold:
            if label in counts:
                counts[label][1] += 1
        for label in gold - pred:
            if label in counts:
                counts[label][2] += 1
    if not counts:
        return {"micro_f1": 0.0, "macro_f1": 0.0}
    total_tp = sum(c[0] for c in counts.values())
    total_fp = sum(c[1] for c in counts.values())
    total_fn = sum(c[2] for c in counts.values())
    micro = precision_recall_f1(total_tp, total_fp, total_fn)[2]
    macro = sum(precision_recall_f1(*c)[2] for c in counts.values()) / len(counts)
    return {"micro_f1": micro, "macro_f1": macro}


def bootstrap_interval(
    count: int,
    statistic: Callable[[Sequence[int]], float],
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 13,
) -> dict[str, float]:
    """A percentile bootstrap interval for a statistic of ``count`` items (sentences, documents, questions).

    Args:
        count: how many items there are.
        statistic: maps a list of item indices (with repeats) to a number; ``range(count)`` gives the estimate. A
            paired difference of two systems is one statistic over the same indices.
        resamples: bootstrap draws.
        level: the interval's coverage.
        seed: the draws' seed.

    Returns:
        ``{"estimate", "low", "high"}``.

    Raises:
        ValueError: ``count`` is 0, or ``level`` is not in (0, 1).
    """
    return bootstrap_intervals(count, lambda indices: {"value": statistic(indices)}, resamples, level, seed)["value"]


def bootstrap_intervals(
    count: int,
    statistics: Callable[[Sequence[int]], dict[str, float]],
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 13,
) -> dict[str, dict[str, float]]:
    """:func:`bootstrap_interval` for several statistics of the same items at once: ``statistics`` maps a
    resample to ``{name: value}``, so what they share (counting the items) is done once per resample. The
    resamples are those :func:`bootstrap_interval` draws with the same seed.

    Returns:
        ``{name: {"estimate", "low", "high"}}``.

    Raises:
        ValueError: ``count`` is 0, or ``level`` is not in (0, 1).
    """
    import random

    if count < 1:
        raise ValueError("no items to resample")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = random.Random(seed)
    draws = [statistics([rng.randrange(count) for _ in range(count)]) for _ in range(resamples)]
    tail = (1 - level) / 2
    intervals = {}
    for name, estimate in statistics(range(count)).items():
        values = sorted(draw[name] for draw in draws)
        intervals[name] = {
            "estimate": estimate,
            "low": values[int(tail * (resamples - 1))],
            "high": values[round((1 - tail) * (resamples - 1))],
        }
    return intervals


_WHITESPACE = re.compile(r"\s+")
_EDGE_PUNCTUATION = string.punctuation + "。，、；：！？「」『』（）《》“”‘’"


def normalize_answer(text: str) -> str:
    """Case-folds, collapses whitespace and strips punctuation at both ends (``" Yes."`` -> ``"yes"``)."""
    return _WHITESPACE.sub(" ", text).strip().strip(_EDGE_PUNCTUATION).strip().casefold()


def exact_match(prediction: str, reference: str) -> bool:
    """True when the two texts are equal after :func:`normalize_answer`."""
    return normalize_answer(prediction) == normalize_answer(reference)


# A number is either thousands-grouped with commas (1,234,567.5) or plain digits (1234567.5). A number may
# not start right after a digit or a dot, so the minus in "3-5" is a dash and the answer is 5.
_NUMBER = re.compile(r"(?<![\d.])-?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?")


def last_number(text: str) -> float | None:
    """The last number in a text as a float (commas removed), or None when there is none."""
    matches = _NUMBER.findall(text)
    if not matches:
        return None
    return float(matches[-1].replace(",", ""))


def numeric_match(prediction: str, reference: str | float, rel_tol: float = 1e-6) -> bool:
    """True when the last number in ``prediction`` equals the reference number.

    ``reference`` is a number or a text whose last number is the answer (a GSM8K answer ending in
    ``#### 18`` works as is). ``"1,234"`` equals ``1234`` and ``"18.0"`` equals ``"18"``.
    A prediction with no number never matches.
    """
    predicted = last_number(prediction)
    expected = reference if isinstance(reference, (int, float)) else last_number(reference)
    if predicted is None or expected is None:
        return False
    return math.isclose(predicted, float(expected), rel_tol=rel_tol, abs_tol=rel_tol)
