"""Paired differences between augmentation methods over seeds: each method against no augmentation and against
EDA, seed by seed (the same cell, real documents and test split), with a 95% interval over the seeds.

A seed changes which real documents a cell samples, so methods are compared within a seed and the spread of those
differences, not of the raw scores, says whether a gain is real."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

BASELINES = ("none", "eda")


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float] | None:
    """Student's t interval for the mean of ``values`` (None with fewer than two)."""
    if len(values) < 2:
        return None
    from scipy.stats import t

    mean = statistics.mean(values)
    half = t.ppf(0.5 + level / 2, len(values) - 1) * statistics.stdev(values) / len(values) ** 0.5
    return mean - half, mean + half


def paired_differences(rows: Sequence[dict[str, Any]], metric: str = "micro_f1") -> list[dict[str, Any]]:
    """For every (depth, k, classifier), every method minus each baseline it is not (:data:`BASELINES`), over the
    seeds both were run with.

    Returns:
        ``[{"depth", "k", "classifier", "method", "baseline", "per_seed": {seed: difference}, "mean", "low",
        "high"}]`` (``low``/``high`` None with one seed).
    """
    scores: dict[tuple, dict[str, dict[int, float]]] = {}
    for row in rows:
        group = scores.setdefault((row["depth"], row["k"], row["classifier"]), {})
        group.setdefault(row["method"], {})[row["seed"]] = row[metric]
    paired = []
    for (depth, k, classifier), methods in scores.items():
        for baseline in BASELINES:
            if baseline not in methods:
                continue
            for method, by_seed in methods.items():
                if method in (baseline, "none"):
                    continue  # nothing is compared with itself, and "none" is the floor, not a method
                seeds = sorted(set(by_seed) & set(methods[baseline]))
                if not seeds:
                    continue
                per_seed = {seed: by_seed[seed] - methods[baseline][seed] for seed in seeds}
                interval = t_interval(list(per_seed.values()))
                paired.append(
                    {
                        "depth": depth,
                        "k": k,
                        "classifier": classifier,
                        "method": method,
                        "baseline": baseline,
                        "per_seed": per_seed,
                        "mean": statistics.mean(per_seed.values()),
                        "low": interval[0] if interval else None,
                        "high": interval[1] if interval else None,
                    }
                )
    return paired
