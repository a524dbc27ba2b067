"""Filters for generated documents: label consistency with a classifier trained on real data, near-duplicate
removal against real and generated text, and length bounds. Each reports how many it dropped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

SELECTIONS = ("top1", "share")  # how the judge chooses among the generated documents (see apply_filters)


@dataclass
class FilterReport:
    """How many samples went in, how many each filter dropped, how many came out."""

    received: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    kept: int = 0


def length_filter(samples: Sequence[dict], min_words: int = 20, max_words: int = 400) -> list[dict]:
    """Keeps samples whose text has between ``min_words`` and ``max_words`` words."""
    if min_words < 0 or max_words < min_words:
        raise ValueError(f"need 0 <= min_words <= max_words, got {min_words} and {max_words}")
    return [s for s in samples if min_words <= len(s["text"].split()) <= max_words]


def consistency_filter(samples: Sequence[dict], classifier, threshold: float = 0.5) -> list[dict]:
    """Keeps a sample only if the classifier agrees with its whole target path (see
    :meth:`htcgen.classify.HierarchyClassifier.agrees`: the path's label ranks first among its siblings at every
    level, with at least ``threshold``)."""
    if not samples:
        return []
    verdicts = classifier.agrees([s["text"] for s in samples], [s["labels"] for s in samples], threshold)
    return [s for s, keep in zip(samples, verdicts, strict=True) if keep]


def duplicate_filter(samples: Sequence[dict], references: Sequence[str] = (), threshold: float = 0.8) -> list[dict]:
    """Drops samples whose TF-IDF cosine similarity to a reference text or to an earlier kept sample reaches
    ``threshold`` (word uni- and bigrams)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not samples:
        return []
    texts = [s["text"] for s in samples]
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit([*references, *texts])
    generated = vectorizer.transform(texts)
    too_close = set()
    if references:
        against_real = (generated @ vectorizer.transform(list(references)).T).max(axis=1).toarray().ravel()
        too_close = {i for i, value in enumerate(against_real) if value >= threshold}
    similarity = (generated @ generated.T).tocsr()
    kept: list[int] = []
    for i in range(len(samples)):
        if i in too_close:
            continue
        row = similarity.getrow(i)
        if any(row[0, j] >= threshold for j in kept):
            continue
        kept.append(i)
    return [samples[i] for i in kept]


def apply_filters(
    samples: Sequence[dict],
    *,
    classifier=None,
    references: Sequence[str] = (),
    consistency_threshold: float = 0.5,
    duplicate_threshold: float = 0.8,
    min_words: int = 20,
    max_words: int = 400,
    selection: str = "top1",
    keep_share: float = 0.5,
) -> tuple[list[dict], FilterReport]:
    """Length bounds, then near-duplicates, then, when a classifier (the judge) is given, its selection:
    ``"top1"`` keeps the samples whose requested path it ranks first (:func:`consistency_filter`), ``"share"``
    keeps the ``keep_share`` of each path's samples it finds most probable for that path
    (:func:`htcgen.selection.select_by_judge`)."""
    if selection not in SELECTIONS:
        raise ValueError(f"unknown selection {selection!r}; expected one of {SELECTIONS}")
    report = FilterReport(received=len(samples))
    current = list(samples)
    steps = [
        ("length", lambda s: length_filter(s, min_words, max_words)),
        ("near_duplicate", lambda s: duplicate_filter(s, references, duplicate_threshold)),
    ]
    if classifier is not None and selection == "top1":
        steps.append(("label_consistency", lambda s: consistency_filter(s, classifier, consistency_threshold)))
    if classifier is not None and selection == "share":
        from htcgen.selection import select_by_judge

        steps.append(("judge_selection", lambda s: select_by_judge(s, classifier, keep_share)))
    for name, step in steps:
        before = len(current)
        current = step(current)
        report.dropped[name] = before - len(current)
    report.kept = len(current)
    return current, report
