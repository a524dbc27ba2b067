"""Choosing the default checker's spelling threshold on dev data: the highest correction F1 among the
thresholds that keep at least ``min_unchanged`` of the already-correct sentences unchanged (precision first)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from pesc.config import CheckerConfig
from pesc.evaluate import run_checker
from pesc.metrics import sentence_metrics

logger = logging.getLogger(__name__)
DEFAULT_GRID = (6.0, 8.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 18.0)


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
        ``(best config, [{"threshold", "correction_f1", "unchanged_when_correct", ...}, ...])``. When no
        threshold keeps enough correct sentences unchanged, the strictest one is chosen.
    """
    from pesc.checker import SpellChecker

    base = base or CheckerConfig()
    first = SpellChecker(base, lexicon=lexicon, lm=lm)
    lexicon, lm = first.lexicon, first.lm  # loaded once for the whole grid
    sources = [r["source"] for r in rows]
    targets = [r["target"] for r in rows]
    trials = []
    for threshold in sorted(grid):
        config = dataclasses.replace(base, spelling_threshold=threshold)
        predictions = run_checker(SpellChecker(config, lexicon=lexicon, lm=lm), rows)
        metrics = sentence_metrics(sources, targets, predictions)
        trial = {
            "threshold": threshold,
            "correction_f1": metrics["correction"]["f1"],
            "detection_f1": metrics["detection"]["f1"],
            "unchanged_when_correct": metrics["unchanged_when_correct"],
        }
        logger.info("spelling threshold %.1f: %s", threshold, trial)
        trials.append(trial)
    admissible = [t for t in trials if t["unchanged_when_correct"] >= min_unchanged]
    best = max(admissible, key=lambda t: t["correction_f1"]) if admissible else trials[-1]
    return dataclasses.replace(base, spelling_threshold=best["threshold"]), trials
