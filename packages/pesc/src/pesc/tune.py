"""Choosing the default checker's spelling threshold on dev data: the highest correction F1 among the
thresholds that keep at least ``min_unchanged`` of the correct sentences unchanged (precision first).

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


def tune_spelling_threshold(
    rows: Sequence[dict],
    base: CheckerConfig | None = None,
    grid: Sequence[float] = DEFAULT_GRID,
    min_unchanged: float = 0.985,
    lexicon=None,
    lm="auto",
) -> tuple[CheckerConfig, list[dict]]:
    """Evaluates every threshold of ``grid`` on ``rows``.

    Args:
        lm: the language model the threshold is tuned for (see :class:`pesc.SpellChecker`).

    Returns:
        ``(best config, [{"threshold", "correction_f1", "unchanged_when_correct", ...}, ...])``, where
        ``unchanged_when_correct`` is over the rows' targets and their already-correct sources. When no threshold
        keeps enough correct sentences unchanged, the strictest one is chosen.
    """
    from pesc.checker import SpellChecker

    base = base or CheckerConfig()
    first = SpellChecker(base, lexicon=lexicon, lm=lm)
    lexicon, lm = first.lexicon, first.lm  # loaded once for the whole grid
    sources = [r["source"] for r in rows]
    targets = [r["target"] for r in rows]
    correct = sorted(set(targets))  # an already-correct source is its own target
    trials = []
    for threshold in sorted(grid):
        checker = SpellChecker(dataclasses.replace(base, spelling_threshold=threshold), lexicon=lexicon, lm=lm)
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
        logger.info("spelling threshold %.1f: %s", threshold, trial)
        trials.append(trial)
    admissible = [t for t in trials if t["unchanged_when_correct"] >= min_unchanged]
    best = max(admissible, key=lambda t: t["correction_f1"]) if admissible else trials[-1]
    return dataclasses.replace(base, spelling_threshold=best["threshold"]), trials
