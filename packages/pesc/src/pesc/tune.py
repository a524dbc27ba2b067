"""Choosing the default checker's decision threshold on dev data (the learned decision's probability, or the
threshold path's gain): the highest correction F1 among the thresholds that keep at least ``min_unchanged`` of
the correct sentences unchanged (precision first).

The correct sentences are every row's target and the source of every row that needs no change: each target is
correct text too, and a thousand of them measure the false-alarm rate far more finely than the hundred or so
rows a split has of kind "none" (where one sentence moves the rate by almost a point)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from pesc.config import CheckerConfig
from pesc.evaluate import run_checker
from pesc.metrics import sentence_metrics

logger = logging.getLogger(__name__)
DEFAULT_GRID = (8.0, 10.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 20.0)
RANKER_GRID = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)


def tune_spelling_threshold(
    rows: Sequence[dict],
    base: CheckerConfig | None = None,
    grid: Sequence[float] = DEFAULT_GRID,
    min_unchanged: float = 0.985,
    lexicon=None,
    lm="auto",
) -> tuple[CheckerConfig, list[dict]]:
    """Evaluates every gain threshold of ``grid`` on ``rows`` for the threshold path (``decision="threshold"``).

    Args:
        lm: the language model the threshold is tuned for (see :class:`pesc.SpellChecker`).

    Returns:
        ``(best config, [{"threshold", "correction_f1", "unchanged_when_correct", ...}, ...])``, where
        ``unchanged_when_correct`` is over the rows' targets and their already-correct sources. When no threshold
        keeps enough correct sentences unchanged, the strictest one is chosen.
    """
    base = dataclasses.replace(base or CheckerConfig(), decision="threshold")
    return tune_threshold(rows, "spelling_threshold", base, grid, min_unchanged, lexicon=lexicon, lm=lm)


def tune_ranker_threshold(
    rows: Sequence[dict],
    base: CheckerConfig | None = None,
    grid: Sequence[float] = RANKER_GRID,
    min_unchanged: float = 0.985,
    lexicon=None,
    lm="auto",
    ranker=None,
) -> tuple[CheckerConfig, list[dict]]:
    """The learned decision's probability threshold chosen on ``rows`` for a ranker already trained (the one
    ``base`` names, else the shipped one): what ``pesc train-ranker`` does after fitting, without re-fitting.
    Returns what :func:`tune_spelling_threshold` returns."""
    base = dataclasses.replace(base or CheckerConfig(), decision="ranker")
    return tune_threshold(rows, "ranker_threshold", base, grid, min_unchanged, lexicon=lexicon, lm=lm, ranker=ranker)


def tune_threshold(
    rows: Sequence[dict],
    name: str,
    base: CheckerConfig,
    grid: Sequence[float],
    min_unchanged: float = 0.985,
    lexicon=None,
    lm="auto",
    ranker=None,
) -> tuple[CheckerConfig, list[dict]]:
    """Evaluates every value of ``grid`` for the config field ``name`` (``spelling_threshold`` or
    ``ranker_threshold``) on ``rows``; see :func:`tune_spelling_threshold` for what is returned.

    Args:
        ranker: a :class:`pesc.ranker.Ranker` to tune (default: the one ``base`` names).
    """
    from pesc.checker import SpellChecker

    first = SpellChecker(base, lexicon=lexicon, lm=lm, ranker=ranker)
    lexicon, lm = first.lexicon, first.lm  # loaded once for the whole grid
    sources = [r["source"] for r in rows]
    targets = [r["target"] for r in rows]
    correct = sorted(set(targets))  # an already-correct source is its own target
    trials = []
    for threshold in sorted(grid):
        config = dataclasses.replace(base, **{name: threshold})
        checker = SpellChecker(config, lexicon=lexicon, lm=lm, ranker=ranker)
        predictions = run_checker(checker, rows)
        metrics = sentence_metrics(sources, targets, predictions)
        # the rows' outputs already answer for the correct sentences that are also sources
        answered = dict(zip(sources, predictions, strict=True))
        outputs = [answered[text] if text in answered else checker.correct(text).text for text in correct]
        unchanged = sum(output == text for output, text in zip(outputs, correct, strict=True))
        kept = unchanged / len(correct) if correct else 1.0
        trial = {
            "threshold": threshold,
            "correction_f1": metrics["correction"]["f1"],
            "detection_f1": metrics["detection"]["f1"],
            "unchanged_when_correct": kept,
        }
        logger.info("%s %.2f: %s", name, threshold, trial)
        trials.append(trial)
    admissible = [t for t in trials if t["unchanged_when_correct"] >= min_unchanged]
    best = max(admissible, key=lambda t: t["correction_f1"]) if admissible else trials[-1]
    return dataclasses.replace(base, **{name: best["threshold"]}), trials
