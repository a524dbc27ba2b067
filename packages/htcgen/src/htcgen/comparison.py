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

from htcgen.data import group_by_path, truncate_labels
from htcgen.generator import GeneratorSettings, generate_to_file, generation_request
from htcgen.quality import distinct_n, quality_report, within_path_diversity
from htcgen.taxonomy import Taxonomy
from lmcommon.data import write_json

# name -> (prompt mode, whether the fine-tuned adapter is used)
GENERATORS = {
    "fine-tuned": ("full", True),
    "fine-tuned-path-only": ("path", True),
    "prompted": ("full", False),
}
REAL = "real held-out documents"
FIRST_WORDS = 40  # samples are cut to this many words for the length-controlled distinct-2


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
    by_path = group_by_path(documents)
    paths = sorted(by_path)
    chosen = random.Random(seed).sample(paths, min(count, len(paths)))
    return [by_path[path][0] for path in chosen]


def comparison_requests(
    targets: Sequence[dict],
    phrases: dict,
    mode: str,
    samples_per_path: int,
    max_phrases: int,
    seed: int,
    phrase_labels: int | None = None,
    taxonomy: Taxonomy | None = None,
    contrast_siblings: int = 0,
) -> list[dict]:
    """``samples_per_path`` requests per target path (:func:`htcgen.generator.generation_request`): with phrases,
    each gets its own random subset (and with ``contrast_siblings``, its own siblings named)."""
    rng = random.Random(seed)
    return [
        generation_request(
            document["labels"], phrases, mode, max_phrases, rng, phrase_labels, taxonomy, contrast_siblings
        )
        for document in targets
        for _ in range(samples_per_path)
    ]


def judged_quality(samples: Sequence[dict], judge, depth: int, threshold: float) -> tuple[dict[str, Any], list[dict]]:
    """The quality report (labels cut to the judge's ``depth``), the judge's mean probability of each sample's
    weakest path label, diversity among the samples of one path and the mean length in words; and the samples
    with the judge's verdict (``consistent``) and that probability (``path_probability``) on each."""
    judged = truncate_labels(samples, depth)
    texts, paths = [s["text"] for s in judged], [s["labels"] for s in judged]
    report = quality_report(judged)
    verdicts = judge.agrees(texts, paths, threshold)
    weakest = [min(p) for p in judge.path_probabilities(texts, paths)]
    report["label_consistency"] = sum(verdicts) / len(verdicts)
    report["mean_path_probability"] = statistics.mean(weakest)
    report.update(within_path_diversity(samples))
    report["mean_words"] = statistics.mean(len(s["text"].split()) for s in samples)
    scored = [
        {**s, "consistent": v, "path_probability": p} for s, v, p in zip(samples, verdicts, weakest, strict=True)
    ]
    return report, scored


def _paired_groups(first: Sequence[dict], second: Sequence[dict]):
    """The label paths both sample sets have (sorted), and each set's samples by path."""
    first_groups, second_groups = group_by_path(first), group_by_path(second)
    paths = sorted(set(first_groups) & set(second_groups))
    if not paths:
        raise ValueError("the two sample sets share no label path")
    return paths, first_groups, second_groups


def bootstrap_difference(
    first: Sequence[dict], second: Sequence[dict], measure, resamples: int = 1000, seed: int = 0
) -> dict[str, float]:
    """``measure(first) - measure(second)`` with a 95% interval from a paired bootstrap over label paths: each
    resample draws paths with replacement and takes every sample of each drawn path from both sets.

    ``measure`` maps a list of samples to a number; samples are matched by ``tuple(sample["labels"])``.
    """
    paths, first_groups, second_groups = _paired_groups(first, second)
    rng = random.Random(seed)
    differences = []
    for _ in range(resamples):
        drawn = rng.choices(paths, k=len(paths))
        differences.append(
            measure([s for p in drawn for s in first_groups[p]])
            - measure([s for p in drawn for s in second_groups[p]])
        )
    differences.sort()
    return {
        "difference": measure(first) - measure(second),
        "low": differences[int(0.025 * resamples)],
        "high": differences[int(0.975 * resamples) - 1],
    }


def permutation_test(
    first: Sequence[dict], second: Sequence[dict], measure, resamples: int = 1000, seed: int = 0
) -> dict[str, float]:
    """``measure(first) - measure(second)`` and the one-sided p-value of a paired permutation test over label
    paths: under "no difference", the two sets' samples of a path are exchangeable, so each resample swaps them on
    a random half of the paths; p is the share of resamples whose difference reaches the observed one.

    Meant for set-level measures such as distinct-n, where a bootstrap would mislead: drawing paths with
    replacement repeats their samples, which lowers distinct-n itself and pulls the interval toward 0.
    Samples are matched by ``tuple(sample["labels"])``; paths in one set only are left out.
    """
    paths, first_groups, second_groups = _paired_groups(first, second)
    observed = measure([s for p in paths for s in first_groups[p]]) - measure(
        [s for p in paths for s in second_groups[p]]
    )
    rng = random.Random(seed)
    reached = 0
    for _ in range(resamples):
        swapped = [rng.random() < 0.5 for _ in paths]
        left = [
            s for p, swap in zip(paths, swapped, strict=True) for s in (second_groups if swap else first_groups)[p]
        ]
        right = [
            s for p, swap in zip(paths, swapped, strict=True) for s in (first_groups if swap else second_groups)[p]
        ]
        reached += measure(left) - measure(right) >= observed - 1e-12
    return {"difference": observed, "p_value": (reached + 1) / (resamples + 1)}


def _consistency(samples: Sequence[dict]) -> float:
    return sum(s["consistent"] for s in samples) / len(samples)


def _path_probability(samples: Sequence[dict]) -> float:
    return statistics.mean(s["path_probability"] for s in samples)


def _distinct_2(samples: Sequence[dict]) -> float:
    return distinct_n([s["text"] for s in samples], 2)


def _self_similarity_within_path(samples: Sequence[dict]) -> float:
    return within_path_diversity(samples)["self_similarity_within_path"]


def _distinct_2_of_first_words(samples: Sequence[dict]) -> float:
    # distinct-n rises as texts get shorter: cutting every sample to the same length keeps length out of it
    return distinct_n([" ".join(s["text"].split()[:FIRST_WORDS]) for s in samples], 2)


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
    from htcgen.tfidf import TfidfHierarchyClassifier

    folder = Path(folder)
    depth = config.judge_depth
    judge = TfidfHierarchyClassifier(taxonomy.truncate(depth)).fit(truncate_labels(train, depth))
    targets = held_out_targets(test, config.paths, config.seed)
    results: dict[str, Any] = {}
    judged: dict[str, list[dict]] = {}
    for name, (mode, tuned) in GENERATORS.items():
        requests = comparison_requests(
            targets,
            phrases,
            mode,
            config.samples_per_path,
            settings.max_phrases,
            config.seed,
            settings.phrase_labels,
            taxonomy,
            settings.contrast_siblings,  # both generators get the prompts the tuned one was trained on
        )
        samples = generate_to_file(
            folder / f"generated-comparison-{name}.jsonl", requests, settings, adapter if tuned else None, config.seed
        )
        results[name], judged[name] = judged_quality(samples, judge, depth, config.consistency_threshold)
    real = [{**d, "phrases": []} for d in targets]
    results[REAL], _ = judged_quality(real, judge, depth, config.consistency_threshold)
    # the two claims: fine-tuning makes samples more label-consistent than prompting (95% intervals), and phrases
    # make them more diverse than the path alone (permutation tests, see permutation_test for why not a bootstrap)
    results["differences"] = {
        "label_consistency: fine-tuned - prompted": bootstrap_difference(
            judged["fine-tuned"], judged["prompted"], _consistency, seed=config.seed
        ),
        "mean_path_probability: fine-tuned - prompted": bootstrap_difference(
            judged["fine-tuned"], judged["prompted"], _path_probability, seed=config.seed
        ),
    }
    results["tests"] = {
        "distinct_2: fine-tuned - fine-tuned-path-only": permutation_test(
            judged["fine-tuned"], judged["fine-tuned-path-only"], _distinct_2, seed=config.seed
        ),
        f"distinct_2 of the first {FIRST_WORDS} words: fine-tuned - fine-tuned-path-only": permutation_test(
            judged["fine-tuned"], judged["fine-tuned-path-only"], _distinct_2_of_first_words, seed=config.seed
        ),
        # lower is more diverse, hence path-only first: a positive difference favours the phrases
        "self_similarity_within_path: fine-tuned-path-only - fine-tuned": permutation_test(
            judged["fine-tuned-path-only"], judged["fine-tuned"], _self_similarity_within_path, seed=config.seed
        ),
    }
    results["setup"] = {
        "judge": "tfidf",
        "judge_train_documents": len(train),
        "judge_depth": depth,
        "threshold": config.consistency_threshold,
        "paths": len(targets),
        "samples_per_path": config.samples_per_path,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "max_new_tokens": settings.max_new_tokens,
        "max_phrases": settings.max_phrases,
        "phrase_labels": settings.phrase_labels,
    }
    write_json(folder / "comparison.json", results)
    return results
