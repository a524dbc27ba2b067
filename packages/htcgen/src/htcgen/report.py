"""The low-resource experiment's table as Markdown."""

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
    """One row per (depth, k, classifier, method): micro- and macro-F1 as mean ± std over seeds, in %."""
    lines = [
        "| depth | k | classifier | method | micro-F1 | macro-F1 | augmented docs | seeds |",
        "|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for row in results["summary"]:
        lines.append(
            f"| {row['depth']} | {row['k']} | {row['classifier']} | {METHOD_NAMES.get(row['method'], row['method'])} "
            f"| {100 * row['micro_f1']:.1f} ± {100 * row['micro_f1_std']:.1f} "
            f"| {100 * row['macro_f1']:.1f} ± {100 * row['macro_f1_std']:.1f} "
            f"| {row['train_augmented']:.0f} | {row['seeds']} |"
        )
    comparison = results.get("generator_comparison")
    if comparison:
        lines += [
            "",
            "Generator comparison on held-out documents' label paths (judge: TF-IDF classifier trained on all real "
            "training documents):",
            "",
            "| generator | label consistency | mean path probability | distinct-1 | distinct-2 "
            "| self-similarity | phrase coverage |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, report in comparison.items():
            if name == "judge":
                continue
            lines.append(
                f"| {name} | {100 * report['label_consistency']:.1f} | {report['mean_path_probability']:.3f} "
                f"| {report['distinct_1']:.3f} | {report['distinct_2']:.3f} | {report['self_similarity']:.3f} "
                f"| {100 * report['phrase_coverage']:.1f} |"
            )
    lines += ["", f"Run time {results['wall_time_s'] / 60:.1f} min."]
    return "\n".join(lines) + "\n"
