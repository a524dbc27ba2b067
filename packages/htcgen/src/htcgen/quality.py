"""Generation quality: label consistency rate, distinct-n, self-similarity and phrase coverage."""

from __future__ import annotations

from collections.abc import Sequence

from htcgen.data import group_by_path
from htcgen.phrases import phrases_in


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct n-grams over all n-grams of the texts (lower-cased words); 0.0 when there are none."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    grams = [
        tuple(words[i : i + n])
        for text in texts
        for words in [text.lower().split()]
        for i in range(len(words) - n + 1)
    ]
    return len(set(grams)) / len(grams) if grams else 0.0


def self_similarity(texts: Sequence[str]) -> float:
    """Mean TF-IDF cosine similarity over all pairs of texts (lower is more diverse); 0.0 for fewer than two."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if len(texts) < 2:
        return 0.0
    vectors = TfidfVectorizer().fit_transform(texts)
    similarity = (vectors @ vectors.T).toarray()
    n = len(texts)
    return float((similarity.sum() - similarity.trace()) / (n * (n - 1)))


def within_path_diversity(samples: Sequence[dict]) -> dict[str, float | None]:
    """Diversity among the samples that share a label path, averaged over the paths with two or more:
    ``distinct_2_within_path`` (distinct-2 of each path's samples) and ``self_similarity_within_path`` (mean TF-IDF
    cosine of each path's pairs, the vectoriser fitted on all the texts). ``None`` when no path has two samples."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    groups = [[s["text"] for s in group] for group in group_by_path(samples).values() if len(group) > 1]
    if not groups:
        return {"distinct_2_within_path": None, "self_similarity_within_path": None}
    vectoriser = TfidfVectorizer().fit([s["text"] for s in samples])
    distinct, similarity = [], []
    for texts in groups:
        distinct.append(distinct_n(texts, 2))
        vectors = vectoriser.transform(texts)
        pairs = (vectors @ vectors.T).toarray()
        n = len(texts)
        similarity.append(float((pairs.sum() - pairs.trace()) / (n * (n - 1))))
    return {
        "distinct_2_within_path": sum(distinct) / len(distinct),
        "self_similarity_within_path": sum(similarity) / len(similarity),
    }


def phrase_coverage(samples: Sequence[dict]) -> float:
    """Share of the prompted phrases (``sample["phrases"]``) that appear in the generated text."""
    asked = sum(len(sample.get("phrases", [])) for sample in samples)
    found = sum(len(phrases_in(sample["text"], sample.get("phrases", []))) for sample in samples)
    return found / asked if asked else 0.0


def quality_report(samples: Sequence[dict], classifier=None, threshold: float = 0.5) -> dict[str, float]:
    """All four measures; label consistency needs a classifier trained on real data."""
    texts = [s["text"] for s in samples]
    report = {
        "samples": float(len(samples)),
        "distinct_1": distinct_n(texts, 1),
        "distinct_2": distinct_n(texts, 2),
        "self_similarity": self_similarity(texts),
        "phrase_coverage": phrase_coverage(samples),
    }
    if classifier is not None and samples:
        verdicts = classifier.agrees(texts, [s["labels"] for s in samples], threshold)
        report["label_consistency"] = sum(verdicts) / len(samples)
    return report
