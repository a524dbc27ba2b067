"""The generator comparison: for label paths of held-out documents, samples from the fine-tuned generator (path +
phrases, and the path only) and from the same base model prompted without fine-tuning, judged by a TF-IDF
classifier trained on the real training documents, next to the held-out documents themselves.

Several samples per path make the diversity that phrases are for measurable: with the path alone, the samples of
one path can only differ by chance; with a fresh phrase subset each, they are asked to differ.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from htcgen.data import truncate_labels
from htcgen.generator import GeneratorSettings, generate_to_file
from htcgen.prompts import build_prompt
from htcgen.quality import quality_report, within_path_diversity
from htcgen.taxonomy import Taxonomy
from lmcommon.data import write_json

# name -> (prompt mode, whether the fine-tuned adapter is used)
GENERATORS = {
    "fine-tuned": ("full", True),
    "fine-tuned-path-only": ("path", True),
    "prompted": ("full", False),
}
REAL = "real held-out documents"


@dataclass(frozen=True)
class ComparisonConfig:
    """Which held-out paths are sampled, how often, and how the judge decides."""

    paths: int = 80
    samples_per_path: int = 3
    judge_depth: int = 2  # the judge scores the first levels of each path; a deeper one is rarely right on real text
    consistency_threshold: float = 0.0  # 0: the judge need only rank the path's label first at every level
    seed: int = 0

    def __post_init__(self) -> None:
        if self.paths < 1 or self.samples_per_path < 1 or self.judge_depth < 1:
            raise ValueError(
                f"paths, samples_per_path and judge_depth must be >= 1, got {self.paths}, "
                f"{self.samples_per_path}, {self.judge_depth}"
            )


def held_out_targets(documents: Sequence[dict], count: int, seed: int) -> list[dict]:
    """One held-out document for each of ``count`` distinct label paths drawn at random (all when fewer)."""
    by_path: dict[tuple[str, ...], dict] = {}
    for document in documents:
        by_path.setdefault(tuple(document["labels"]), document)
    paths = sorted(by_path)
    chosen = random.Random(seed).sample(paths, min(count, len(paths)))
    return [by_path[path] for path in chosen]


def comparison_requests(
    targets: Sequence[dict], phrases: dict, mode: str, samples_per_path: int, max_phrases: int, seed: int
) -> list[dict]:
    """``samples_per_path`` requests per target path; in "full" mode each gets its own random subset (1 to
    ``max_phrases``) of the phrases mined for the labels on the path."""
    rng = random.Random(seed)
    requests = []
    for document in targets:
        path = document["labels"]
        pool = list(dict.fromkeys(p for label in path for p, _ in phrases.get(label, {}).get("own", [])))
        for _ in range(samples_per_path):
            chosen = rng.sample(pool, rng.randint(1, min(max_phrases, len(pool)))) if pool and mode == "full" else []
            requests.append({"labels": list(path), "phrases": chosen, "prompt": build_prompt(path, chosen, mode)})
    return requests


def judged_quality(samples: Sequence[dict], judge, depth: int, threshold: float) -> dict[str, Any]:
    """The quality report (labels cut to the judge's ``depth``), the judge's mean probability of each sample's
    weakest path label, diversity among the samples of one path, and the mean length in words."""
    judged = truncate_labels(samples, depth)
    report = quality_report(judged, judge, threshold)
    probabilities = judge.path_probabilities([s["text"] for s in judged], [s["labels"] for s in judged])
    report["mean_path_probability"] = statistics.mean(min(p) for p in probabilities)
    report.update(within_path_diversity(samples))
    report["mean_words"] = statistics.mean(len(s["text"].split()) for s in samples)
    return report


def compare_generators(
    folder: str | Path,
    train: Sequence[dict],
    test: Sequence[dict],
    taxonomy: Taxonomy,
    phrases: dict,
    adapter: str | Path,
    settings: GeneratorSettings,
    config: ComparisonConfig,
) -> dict[str, Any]:
    """Samples each generator of :data:`GENERATORS` for held-out paths into ``folder`` (reused when there) and
    returns their measures, and the held-out documents' own, written to ``folder/comparison.json``."""
    from htcgen.classify import TfidfHierarchyClassifier

    folder = Path(folder)
    depth = config.judge_depth
    judge = TfidfHierarchyClassifier(taxonomy.truncate(depth)).fit(truncate_labels(train, depth))
    targets = held_out_targets(test, config.paths, config.seed)
    results: dict[str, Any] = {}
    for name, (mode, tuned) in GENERATORS.items():
        requests = comparison_requests(
            targets, phrases, mode, config.samples_per_path, settings.max_phrases, config.seed
        )
        samples = generate_to_file(
            folder / f"generated-comparison-{name}.jsonl", requests, settings, adapter if tuned else None, config.seed
        )
        results[name] = judged_quality(samples, judge, depth, config.consistency_threshold)
    results[REAL] = judged_quality([{**d, "phrases": []} for d in targets], judge, depth, config.consistency_threshold)
    results["setup"] = {
        "judge": "tfidf",
        "judge_train_documents": len(train),
        "judge_depth": depth,
        "threshold": config.consistency_threshold,
        "paths": len(targets),
        "samples_per_path": config.samples_per_path,
    }
    write_json(folder / "comparison.json", results)
    return results
