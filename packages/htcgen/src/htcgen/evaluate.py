"""Training a hierarchical classifier on real (and optionally augmented) documents and scoring it."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from htcgen.classify import HierarchyClassifier, TfidfHierarchyClassifier
from htcgen.metrics import hierarchical_f1
from htcgen.taxonomy import Taxonomy

CLASSIFIERS = ("tfidf", "encoder")


def make_classifier(name: str, taxonomy: Taxonomy, seed: int = 0, **options: Any) -> HierarchyClassifier:
    """``"tfidf"`` (TF-IDF + one-vs-rest logistic regression) or ``"encoder"`` (fine-tuned MiniLM by default;
    ``options`` go to :class:`htcgen.encoder.EncoderConfig`, e.g. ``model=...``, ``epochs=...``)."""
    if name == "tfidf":
        return TfidfHierarchyClassifier(taxonomy, **options)
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


def evaluate_classifier(
    classifier: str,
    train: Sequence[dict],
    test: Sequence[dict],
    taxonomy: Taxonomy,
    *,
    augment: Sequence[dict] = (),
    ratio: float = 1.0,
    seed: int = 0,
    threshold: float = 0.5,
    **options: Any,
) -> dict[str, Any]:
    """Fits ``classifier`` on ``train`` (+ augmented documents at ``ratio``) and scores it on ``test``.

    Returns:
        :func:`htcgen.metrics.hierarchical_f1`'s result plus the document counts and the fit time.
    """
    documents = mix_augmented(train, augment, ratio, seed) if augment else list(train)
    model = make_classifier(classifier, taxonomy, seed=seed, **options)
    started = time.perf_counter()
    model.fit(documents)
    fit_time = time.perf_counter() - started
    predicted = model.predict([d["text"] for d in test], threshold=threshold)
    metrics = hierarchical_f1([d["labels"] for d in test], predicted, taxonomy)
    return {
        **metrics,
        "classifier": classifier,
        "train_real": len(train),
        "train_augmented": len(documents) - len(train),
        "test": len(test),
        "fit_time_s": fit_time,
    }
