"""Training the learned misspelling decision (``pesc train-ranker``): candidates from learner-error pairs and
from confusion-set errors injected into clean sentences, labelled by the targets; a gradient-boosted tree
ensemble (scikit-learn, the ``pesc[ranker]`` extra) fitted on them and exported as a :class:`pesc.ranker.Ranker`;
its probability threshold chosen on dev data under the checker's precision rule.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from lmcommon.errors import DataError
from lmcommon.seed import keyed_random
from pesc.benchmark import iter_tsv_pairs
from pesc.candidate_features import FEATURES, PairStatistics
from pesc.detect import HAN
from pesc.inject import InjectionConfig, misspell
from pesc.ranker import MAX_DEPTH, Ranker, Tree

logger = logging.getLogger(__name__)


@dataclass
class RankerTrainingConfig:
    """Settings of ``pesc train-ranker``; each is a flag of the command."""

    trees: int = field(default=150, metadata={"help": "boosting stages (trees) of the ensemble"})
    depth: int = field(default=3, metadata={"help": "depth of each tree"})
    learning_rate: float = field(default=0.1, metadata={"help": "shrinkage of each tree's output"})
    subsample: float = field(default=0.8, metadata={"help": "share of the candidates each tree is fitted on"})
    injected_rate: float = field(
        default=0.5, metadata={"help": "share of the clean sentences given 1-2 confusion-set misspellings"}
    )
    min_unchanged: float = field(
        default=0.985, metadata={"help": "share of correct dev sentences the chosen threshold must leave unchanged"}
    )
    seed: int = field(default=13, metadata={"help": "seed of the injected errors and of the ensemble"})

    def __post_init__(self) -> None:
        for name in ("trees", "depth"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.depth > MAX_DEPTH:
            raise ValueError(f"depth must be <= {MAX_DEPTH} (the deepest tree a ranker file holds), got {self.depth}")
        for name in ("learning_rate", "subsample", "min_unchanged"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if not 0.0 <= self.injected_rate <= 1.0:
            raise ValueError(f"injected_rate must be in [0, 1], got {self.injected_rate}")


def read_training_pairs(path: str, skip_unequal: bool = False) -> list[tuple[str, str]]:
    """Misspelling pairs from a TSV file (``source<TAB>target`` or ``n_errors<TAB>source<TAB>target``).

    Raises:
        DataError: a line without two or three columns, a pair whose source and target differ in length (unless
            ``skip_unequal``), or a file without a single pair; the file and the line are named.
    """
    pairs = []
    for number, source, target in iter_tsv_pairs(path):
        if len(source) != len(target):
            if skip_unequal:
                logger.warning("%s:%d: source and target differ in length; skipped", path, number)
                continue
            raise DataError(
                f"source has {len(source)} characters, target {len(target)}: a misspelling pair replaces characters "
                "one for one (--skip-unequal leaves such lines out)",
                path=path,
                line=number,
            )
        pairs.append((source, target))
    if not pairs:
        raise DataError("no misspelling pairs (expected lines of source<TAB>target)", path=path)
    return pairs


def inject_misspellings(sentences: Iterable[str], rate: float, seed: int) -> list[tuple[str, str]]:
    """``(source, sentence)`` pairs: a share ``rate`` of the sentences get 1-2 confusion-set misspellings (drawn
    per sentence, so a sentence's errors do not depend on the others), the rest stay correct."""
    config = InjectionConfig(max_misspellings=2)
    pairs = []
    for sentence in sentences:
        rng = keyed_random(seed, sentence)
        source = list(sentence)
        if rng.random() < rate:
            positions = [i for i, ch in enumerate(sentence) if HAN.match(ch)]
            for i in rng.sample(positions, min(len(positions), rng.randint(1, 2))):
                replaced = misspell(sentence[i], rng, config)
                if replaced is not None:
                    source[i] = replaced[0]
        pairs.append(("".join(source), sentence))
    return pairs


def correction_counts(pairs: Iterable[tuple[str, str]]) -> PairStatistics:
    """How often each original -> replacement pair is a correction in ``pairs``."""
    statistics = PairStatistics()
    for source, target in pairs:
        for original, replacement in zip(source, target, strict=True):
            if original != replacement:
                statistics.add(original, replacement)
    return statistics


def collect_examples(
    corrector, pairs: Sequence[tuple[str, str]], statistics: PairStatistics, own_counts: bool
) -> tuple[list[list[float]], list[int], int]:
    """Feature rows and labels of every candidate the checker weighs in the pairs' sources.

    Args:
        corrector: a :class:`pesc.misspelling.MisspellingCorrector` whose ``statistics`` is ``statistics``.
        own_counts: the pairs' corrections are inside ``statistics``: each sentence's own are taken out while its
            candidates are described, so that the pair feature never sees the answer (leave one out).

    Returns:
        ``(features, labels, errors the candidates cannot reach)``.
    """
    features, labels, unreachable = [], [], 0
    for source, target in pairs:
        own = [(a, b) for a, b in zip(source, target, strict=True) if a != b] if own_counts else []
        for a, b in own:
            statistics.add(a, b, -1)
        found = set()
        for position, candidate, row in corrector.examples(source):
            right = source[position] != target[position] and candidate == target[position]
            features.append(row)
            labels.append(int(right))
            if right:
                found.add(position)
        unreachable += sum(1 for i, (a, b) in enumerate(zip(source, target, strict=True)) if a != b) - len(found)
        for a, b in own:
            statistics.add(a, b, 1)
    return features, labels, unreachable


def fit_ranker(
    features: list[list[float]], labels: list[int], config: RankerTrainingConfig, statistics: PairStatistics
) -> Ranker:
    """Fits scikit-learn's gradient boosting on the candidates and exports the trees (threshold 0.5 until
    :func:`choose_threshold` picks one).

    Raises:
        ImportError: scikit-learn is not installed (the message says how to install it).
        ValueError: the candidates hold a single class.
    """
    try:
        import numpy as np
        from sklearn.ensemble import GradientBoostingClassifier
    except ImportError as error:
        raise ImportError(f"pesc train-ranker needs scikit-learn: pip install 'pesc[ranker]' ({error})") from None
    if len(set(labels)) < 2:
        raise ValueError("the training candidates hold a single class; give pairs with misspellings")
    x, y = np.asarray(features, dtype=np.float64), np.asarray(labels)
    model = GradientBoostingClassifier(
        n_estimators=config.trees,
        max_depth=config.depth,
        learning_rate=config.learning_rate,
        subsample=config.subsample,
        random_state=config.seed,
    )
    model.fit(x, y)
    prior = float(model.init_.class_prior_[1])
    trees = []
    for (estimator,) in model.estimators_:
        tree = estimator.tree_
        trees.append(
            Tree(
                feature=tuple(int(f) for f in tree.feature),
                threshold=tuple(float(t) for t in tree.threshold),
                left=tuple(int(c) for c in tree.children_left),
                right=tuple(int(c) for c in tree.children_right),
                value=tuple(float(v) for v in tree.value[:, 0, 0]),
            )
        )
    ranker = Ranker(
        features=FEATURES,
        init=math.log(prior / (1.0 - prior)),
        learning_rate=config.learning_rate,
        trees=tuple(trees),
        threshold=0.5,
        pair_counts=dict(sorted((k, v) for k, v in statistics.pairs.items() if v > 0)),
        provenance={},
    )
    # the exported trees must answer as scikit-learn does (float32 inputs there, float64 here: tiny differences)
    sample = x[:: max(1, len(x) // 2000)]
    expected = model.predict_proba(sample)[:, 1]
    worst = max(abs(ranker.probability(row) - p) for row, p in zip(sample.tolist(), expected, strict=True))
    if worst > 1e-4:
        raise RuntimeError(f"the exported ranker differs from scikit-learn's by {worst:.2e}")
    return ranker


def train_ranker(
    human_pairs: Sequence[tuple[str, str]],
    clean_sentences: Sequence[str],
    dev_rows: Sequence[dict],
    config: RankerTrainingConfig,
    exclude: set[str] = frozenset(),
    lm="auto",
    grid: Sequence[float] | None = None,
) -> tuple[Ranker, dict]:
    """The whole recipe: candidates from the human pairs (their error-free sentences join the clean ones) and from
    misspellings injected into the clean sentences, the ensemble fitted on them, the threshold chosen on dev.

    Args:
        exclude: target sentences never trained on (the evaluation splits), wherever they appear.
        grid: probability thresholds tried on dev (default: :data:`pesc.tune.RANKER_GRID`).

    Returns:
        ``(ranker, report)``: the report counts pairs, candidates and errors, and lists the dev trials.
    """
    import dataclasses

    from tqdm import tqdm

    from pesc.checker import SpellChecker
    from pesc.config import CheckerConfig
    from pesc.misspelling import MisspellingCorrector
    from pesc.tune import RANKER_GRID, tune_threshold

    checker = SpellChecker(CheckerConfig(decision="threshold"), lm=lm).load()
    kept = [(s, t) for s, t in human_pairs if t not in exclude]
    human = [(s, t) for s, t in kept if s != t]
    clean = sorted({t for s, t in kept if s == t} | {s for s in clean_sentences if s not in exclude})
    injected = inject_misspellings(clean, config.injected_rate, config.seed)
    statistics = correction_counts(human)
    corrector = MisspellingCorrector(
        checker.lexicon, checker.lm, checker.config, 0.0, checker._character_model, statistics=statistics
    )
    x_human, y_human, missed_human = collect_examples(
        corrector, tqdm(human, desc="human pairs", unit="pair"), statistics, own_counts=True
    )
    # every target is correct text too: its candidates are the negatives the checker meets most (a correct
    # sentence must come back unchanged), so each human pair is described a second time from its target
    x_targets, y_targets, _ = collect_examples(
        corrector, tqdm([(t, t) for _, t in human], desc="targets", unit="sentence"), statistics, own_counts=False
    )
    x_injected, y_injected, missed_injected = collect_examples(
        corrector, tqdm(injected, desc="injected pairs", unit="pair"), statistics, own_counts=False
    )
    x_injected, y_injected = x_targets + x_injected, y_targets + y_injected
    errors = sum(a != b for pairs in (human, injected) for s, t in pairs for a, b in zip(s, t, strict=True))
    logger.info("fitting %d trees on %d candidates", config.trees, len(x_human) + len(x_injected))
    ranker = fit_ranker(x_human + x_injected, y_human + y_injected, config, statistics)
    tuned, trials = tune_threshold(
        dev_rows,
        "ranker_threshold",
        CheckerConfig(),
        grid or RANKER_GRID,
        config.min_unchanged,
        lexicon=checker.lexicon,
        lm=checker.lm,
        ranker=ranker,
    )
    report = {
        "human_pairs": len(human),
        "injected_pairs": sum(s != t for s, t in injected),
        "clean_sentences": sum(s == t for s, t in injected),
        "excluded_pairs": len(human_pairs) - len(kept),
        "candidates": len(x_human) + len(x_injected),
        "positive_candidates": sum(y_human) + sum(y_injected),
        "errors": errors,
        "errors_without_the_right_candidate": missed_human + missed_injected,
        "language_model": checker.lm.name,
        "threshold": tuned.ranker_threshold,
        "dev_trials": trials,
    }
    return dataclasses.replace(ranker, threshold=tuned.ranker_threshold), report
