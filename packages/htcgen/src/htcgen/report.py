"""The low-resource experiment's table and the generator comparison as Markdown."""

from __future__ import annotations

from typing import Any

METHOD_NAMES = {
    "none": "no augmentation",
    "eda": "EDA",
    "path": "generated: semantic-level only",
    "phrases": "generated: phrase-level only",
    "full": "generated: semantic + phrase (full)",
}


def results_markdown(results: dict[str, Any]) -> str:
    """One row per (depth, k, classifier, method): micro- and macro-F1 as mean ± std over seeds, in %, and the
    largest share of test documents that one run gave its most frequent path."""
    lines = [
        "| depth | k | classifier | method | micro-F1 | macro-F1 | augmented docs | seeds | top path % (max) |",
        "|---:|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in results["summary"]:
        lines.append(
            f"| {row['depth']} | {row['k']} | {row['classifier']} | {METHOD_NAMES.get(row['method'], row['method'])} "
            f"| {100 * row['micro_f1']:.1f} ± {100 * row['micro_f1_std']:.1f} "
            f"| {100 * row['macro_f1']:.1f} ± {100 * row['macro_f1_std']:.1f} "
            f"| {row['train_augmented']:.0f} | {row['seeds']} "
            f"| {100 * row.get('most_frequent_path_share_max', 0.0):.0f} |"
        )
    if results.get("paired"):
        lines += ["", paired_markdown(results["paired"]).rstrip("\n")]
    if results.get("oracle"):
        lines += ["", oracle_markdown(results["oracle"]).rstrip("\n")]
    lines += ["", f"Run time {results['wall_time_s'] / 60:.1f} min."]
    return "\n".join(lines) + "\n"


def paired_markdown(rows: list[dict[str, Any]]) -> str:
    """:func:`htcgen.paired.paired_differences` as a table, in micro-F1 points."""
    lines = [
        "Micro-F1 of each method minus the baseline's in the same seed (points), and the mean with its 95% "
        "t-interval over seeds:",
        "",
        "| depth | k | classifier | method | minus | per seed | mean | 95% interval |",
        "|---:|---:|---|---|---|---|---:|---|",
    ]
    for r in rows:
        per_seed = ", ".join(f"{100 * v:+.1f}" for _, v in sorted(r["per_seed"].items()))
        interval = "–" if r["low"] is None else f"[{100 * r['low']:+.1f}, {100 * r['high']:+.1f}]"
        lines.append(
            f"| {r['depth']} | {r['k']} | {r['classifier']} | {METHOD_NAMES.get(r['method'], r['method'])} "
            f"| {METHOD_NAMES.get(r['baseline'], r['baseline'])} | {per_seed} | {100 * r['mean']:+.1f} | {interval} |"
        )
    return "\n".join(lines) + "\n"


def oracle_markdown(rows: list[dict[str, Any]]) -> str:
    """The oracle diagnostic (:func:`htcgen.experiment.oracle_rows`): per cell and generation method, the share of
    generated and of kept documents an encoder trained on every training document labels with the requested
    path, beside that share for the cell's real documents."""

    lines = [
        "Do the generated documents carry their labels? The share whose oracle path equals the requested one, "
        "beside that share for the cell's real documents (% of real):",
        "",
        "| depth | k | seed | method | generated | % of generated | kept | % of kept | % of real |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['depth']} | {r['k']} | {r['seed']} | {METHOD_NAMES.get(r['method'], r['method'])} | {r['generated']} "
        f"| {_cell(r['generated_share'], 100, 1)} | {r['kept']} | {_cell(r['kept_share'], 100, 1)} "
        f"| {_cell(r['real_share'], 100, 1)} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


def _cell(value: float | None, scale: float = 1.0, digits: int = 3) -> str:
    return "n/a" if value is None else f"{scale * value:.{digits}f}"


def comparison_markdown(comparison: dict[str, Any]) -> str:
    """One row per generator (and the real held-out documents) of :func:`htcgen.comparison.compare_generators`."""
    setup = comparison["setup"]
    lines = [
        f"{setup['paths']} held-out label paths, {setup['samples_per_path']} samples each; judge: TF-IDF classifier "
        f"trained on {setup['judge_train_documents']} real documents, scoring the first {setup['judge_depth']} "
        f"levels. Sampling: temperature {setup['temperature']}, top-p {setup['top_p']}, up to "
        f"{setup['max_new_tokens']} new tokens.",
        "",
        "| generator | label consistency % | mean path probability | distinct-2 | distinct-2 within path "
        "| self-similarity within path | phrase coverage % | words |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, report in comparison.items():
        if name in ("setup", "differences", "tests"):
            continue
        lines.append(
            f"| {name} | {_cell(report['label_consistency'], 100, 1)} | {_cell(report['mean_path_probability'])} "
            f"| {_cell(report['distinct_2'])} | {_cell(report['distinct_2_within_path'])} "
            f"| {_cell(report['self_similarity_within_path'])} | {_cell(report['phrase_coverage'], 100, 1)} "
            f"| {report['mean_words']:.0f} |"
        )
    differences = comparison.get("differences", {})
    if differences:
        lines += ["", "Differences, with 95% intervals from a paired bootstrap over the label paths:", ""]
        for name, entry in differences.items():
            lines.append(f"- {name}: {entry['difference']:+.3f} [{entry['low']:+.3f}, {entry['high']:+.3f}]")
    tests = comparison.get("tests", {})
    if tests:
        lines += ["", "One-sided paired permutation tests over the label paths (p: chance of so large a difference):"]
        lines += [""]
        for name, entry in tests.items():
            lines.append(f"- {name}: {entry['difference']:+.3f}, p = {entry['p_value']:.3f}")
    return "\n".join(lines) + "\n"


def _with_interval(metrics: dict[str, Any], name: str) -> str:
    """``74.1 [70.2, 77.9]`` in %, or the value alone where no interval was computed."""
    interval = metrics.get(f"{name}_interval")
    value = f"{100 * metrics[name]:.1f}"
    return f"{value} [{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]" if interval else value


def evaluations_markdown(evaluations: dict[str, dict[str, Any]]) -> str:
    """One row per ``htcgen evaluate`` result (keyed by a name, e.g. its file): micro- and macro-F1 over all nodes
    (with their 95% bootstrap intervals where computed) and per level, in %, and the share of test documents given
    the most frequent path."""
    levels = sorted({int(level) for metrics in evaluations.values() for level in metrics["levels"]})
    header = ["run", "classifier", "micro-F1", "macro-F1", *(f"L{level} micro / macro" for level in levels)]
    lines = ["| " + " | ".join(header) + " | top path % |", "|---|---|" + "---:|" * (len(header) - 1)]
    for name, metrics in evaluations.items():
        per_level = {int(level): value for level, value in metrics["levels"].items()}
        cells = [
            f"{100 * per_level[level]['micro_f1']:.1f} / {100 * per_level[level]['macro_f1']:.1f}"
            if level in per_level
            else "n/a"
            for level in levels
        ]
        lines.append(
            f"| {name} | {metrics['classifier']} | {_with_interval(metrics, 'micro_f1')} "
            f"| {_with_interval(metrics, 'macro_f1')} "
            f"| {' | '.join(cells)} | {100 * metrics.get('most_frequent_path_share', 0.0):.0f} |"
        )
    return "\n".join(lines) + "\n"
