"""Training a hierarchical classifier on real (and optionally augmented) documents and scoring it."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from htcgen.classify import HierarchyClassifier
from htcgen.metrics import hierarchical_f1
from htcgen.taxonomy import Taxonomy
from htcgen.tfidf import FlatLevelClassifier, TfidfHierarchyClassifier
from lmcommon.metrics import bootstrap_interval, multilabel_f1

CLASSIFIERS = ("tfidf", "encoder", "flat-svm", "flat-lr")


def make_classifier(name: str, taxonomy: Taxonomy, seed: int = 0, **options: Any) -> HierarchyClassifier:
    """``"tfidf"`` (TF-IDF + a class-balanced linear SVM per level, consistent paths), ``"encoder"`` (fine-tuned
    MiniLM by default; ``options`` go to :class:`htcgen.encoder.EncoderConfig`, e.g. ``model=...``,
    ``epochs=...``), or the flat baselines ``"flat-svm"`` / ``"flat-lr"`` (argmax per level, no hierarchy)."""
    if name == "tfidf":
        return TfidfHierarchyClassifier(taxonomy, **options)
    if name in ("flat-svm", "flat-lr"):
        return FlatLevelClassifier(taxonomy, model=name.removeprefix("flat-"), **options)
    if name == "encoder":
        from htcgen.encoder import EncoderConfig, EncoderHierarchyClassifier

        return EncoderHierarchyClassifier(taxonomy, EncoderConfig(seed=seed, **options))
    raise ValueError(f"unknown classifier {name!r}; expected one of {CLASSIFIERS}")


def mix_augmented(real: Sequence[dict], augmented: Sequence[dict], ratio: float, seed: int = 0) -> list[dict]:
    """The real documents plus ``ratio * len(real)`` augmented ones drawn without replacement (all of them when
    there are fewer)."""
    if ratio < 0:
        raise ValueError(f"ratio must be >= 0, got {ratio}")
    count = min(len(augmented), round(ratio * len(real)))
    return [*real, *random.Random(seed).sample(list(augmented), count)]


def score_classifier(model: HierarchyClassifier, test: Sequence[dict], taxonomy: Taxonomy) -> dict[str, Any]:
    """:func:`htcgen.metrics.hierarchical_f1` of ``model``'s paths on ``test``, 95% bootstrap intervals (over test
    documents) of micro- and macro-F1, and the share of test documents given the most frequent predicted path
    (near 1: the model answers the same for everything)."""
    predicted = model.predict([d["text"] for d in test])
    gold = [d["labels"] for d in test]
    metrics = hierarchical_f1(gold, predicted, taxonomy)
    if test:
        for name in ("micro_f1", "macro_f1"):
            interval = bootstrap_interval(
                len(test),
                lambda rows, name=name: multilabel_f1([gold[i] for i in rows], [predicted[i] for i in rows])[name],
            )
            metrics[f"{name}_interval"] = [interval["low"], interval["high"]]
    counts = Counter(tuple(path) for path in predicted)
    metrics["most_frequent_path_share"] = max(counts.values()) / len(test) if test else 0.0
    metrics["test"] = len(test)
    return metrics


def evaluate_classifier(
    classifier: str,
    train: Sequence[dict],
    test: Sequence[dict],
    taxonomy: Taxonomy,
    *,
    augment: Sequence[dict] = (),
    ratio: float = 1.0,
    seed: int = 0,
    dev: Sequence[dict] = (),
    save: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Fits ``classifier`` on ``train`` (+ augmented documents at ``ratio``) and scores it on ``test``.

    Args:
        dev: documents the encoder is scored on while it trains (the best weights are kept); other classifiers
            ignore them.
        save: a folder to write the trained encoder classifier to.

    Returns:
        :func:`score_classifier`'s result plus the document counts and the fit time.
    """
    documents = mix_augmented(train, augment, ratio, seed) if augment else list(train)
    model = make_classifier(classifier, taxonomy, seed=seed, **options)
    started = time.perf_counter()
    model.fit(documents, dev=dev)
    fit_time = time.perf_counter() - started
    if save:
        if classifier != "encoder":
            raise ValueError(f"only the encoder classifier can be saved, not {classifier!r}")
        model.save_pretrained(save)
    return {
        **score_classifier(model, test, taxonomy),
        "classifier": classifier,
        "train_real": len(train),
        "train_augmented": len(documents) - len(train),
        "fit_time_s": fit_time,
    }
