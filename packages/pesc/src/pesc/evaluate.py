"""Running a checker over benchmark rows and formatting the metrics."""

from __future__ import annotations

import time
from collections.abc import Sequence

from pesc.metrics import bootstrap_correction_f1, kinds_in, metrics_by_kind


def run_checker(
    checker, rows: Sequence[dict], batch_size: int = 64, progress: bool = False, jobs: int = 1
) -> list[str]:
    """The checker's corrected text for every row's source, in order (``jobs`` processes for the default
    checker)."""
    sources = [row["source"] for row in rows]
    if jobs > 1:
        return [c.text for c in checker.correct_batch(sources, jobs=jobs)]
    iterator = range(0, len(sources), batch_size)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc="correcting", unit="batch")
    predictions = []
    for start in iterator:
        predictions.extend(c.text for c in checker.correct_batch(sources[start : start + batch_size]))
    return predictions


def timed_run(checker, rows: Sequence[dict], progress: bool = False, jobs: int = 1) -> tuple[list[str], float]:
    """:func:`run_checker` and its sentences per second, counted once the checker's models are loaded."""
    if hasattr(checker, "load"):
        checker.load()  # the lexicon and the models load before the clock starts
    else:
        checker.correct("预热gaoxing")  # a checker without load() loads on first use
    started = time.perf_counter()
    predictions = run_checker(checker, rows, progress=progress, jobs=jobs)
    seconds = time.perf_counter() - started
    return predictions, len(rows) / seconds if seconds else 0.0


def evaluate_checker(checker, rows: Sequence[dict], progress: bool = False, jobs: int = 1) -> dict:
    """Metrics by error kind and by subset, and the checker's throughput once its models are loaded."""
    predictions, speed = timed_run(checker, rows, progress=progress, jobs=jobs)
    report = {"by_kind": metrics_by_kind(rows, predictions)}
    for subset in sorted({row["subset"] for row in rows}):
        chosen = [(r, p) for r, p in zip(rows, predictions, strict=True) if r["subset"] == subset]
        report[f"subset_{subset}"] = metrics_by_kind([r for r, _ in chosen], [p for _, p in chosen])["all"]
    report["sentences_per_second"] = speed
    return report, predictions


def format_table(by_kind: dict[str, dict]) -> str:
    """A Markdown table: one row per error kind, detection and correction P/R/F1, unchanged-when-correct."""
    lines = [
        "| kind | sentences | det. P | det. R | det. F1 | cor. P | cor. R | cor. F1 | correct text kept |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in by_kind:  # "all", then the kinds in metrics_by_kind's order
        m = by_kind[kind]
        d, c = m["detection"], m["correction"]
        kept = f"{m['unchanged_when_correct']:.1%}" if m["sentences"] > m["needing_change"] else "–"
        if kind == "none":
            lines.append(f"| none (already correct) | {m['sentences']} | – | – | – | – | – | – | {kept} |")
            continue
        lines.append(
            f"| {kind} | {m['sentences']} | {d['precision']:.3f} | {d['recall']:.3f} | {d['f1']:.3f} | "
            f"{c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {kept} |"
        )
    return "\n".join(lines)


def correction_intervals(rows: Sequence[dict], predictions: Sequence[str], baseline: Sequence[str] | None = None):
    """Bootstrap intervals of correction F1 for every error kind (and overall): of the checker's F1, or of its
    difference from a ``baseline``'s predictions on the same rows."""
    groups = {"all": list(range(len(rows)))}
    for kind in kinds_in(rows):
        chosen = [i for i, row in enumerate(rows) if row["kind"] == kind]
        if chosen and kind != "none":
            groups[kind] = chosen
    intervals = {}
    for kind, chosen in groups.items():
        intervals[kind] = bootstrap_correction_f1(
            [rows[i]["source"] for i in chosen],
            [rows[i]["target"] for i in chosen],
            [predictions[i] for i in chosen],
            baseline=[baseline[i] for i in chosen] if baseline is not None else None,
        )
    return intervals


def format_interval(interval: dict[str, float], separator: str = " ") -> str:
    """``+estimate [+low, +high]`` of a :func:`pesc.metrics.bootstrap_correction_f1` result."""
    return f"{interval['estimate']:+.3f}{separator}[{interval['low']:+.3f}, {interval['high']:+.3f}]"


def format_intervals(intervals: dict[str, dict], title: str) -> str:
    """A Markdown table of correction-F1 intervals by error kind."""
    lines = [f"| kind | {title} | 95% interval |", "|---|---|---|"]
    for kind, interval in intervals.items():
        lines.append(f"| {kind} | {format_interval(interval, ' | ')} |")
    return "\n".join(lines)


SENTENCE_STATISTIC_TITLES = {
    "correction_f1": "correction F1",
    "detection_f1": "detection F1",
    "correct_changed": "correct sentences changed",
}


def format_sentence_intervals(intervals: dict[str, dict], baseline: str | None = None) -> str:
    """A Markdown table of :func:`pesc.metrics.bootstrap_sentence_intervals`: each statistic with its 95% interval,
    or, against ``baseline``, the paired difference."""
    heading = "estimate" if baseline is None else f"minus {baseline}'s (paired)"
    lines = [f"| statistic | {heading} | 95% interval |", "|---|---|---|"]
    for name, interval in intervals.items():
        lines.append(f"| {SENTENCE_STATISTIC_TITLES[name]} | {format_interval(interval, ' | ')} |")
    return "\n".join(lines)
