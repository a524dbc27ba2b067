"""Phrase-level label information: uni- to tri-gram phrases mined for every label, scored for how often they
occur in the label's documents, how much more often than in its siblings' documents, and how close they are to
the label's name; the top k kept, a phrase given to at most one sibling, children inheriting their ancestors'
phrases."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy

from htcgen.taxonomy import Taxonomy

# phrase, label -> similarity in [-1, 1] (default: none, every similarity 0)
Similarity = Callable[[list[str], str], list[float]]


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` as whole words, ignoring case."""
    return re.search(rf"\b{re.escape(phrase.lower())}\b", text.lower()) is not None


@dataclass
class PhraseConfig:
    """Knobs of the phrase miner."""

    top_k: int = 20
    max_ngram: int = 3
    min_documents: int = 2  # a phrase must occur in this many of the label's documents
    similarity_weight: float = 0.5  # how much closeness to the label's name adds to the score

    def __post_init__(self) -> None:
        if self.top_k < 1 or not 1 <= self.max_ngram <= 5 or self.min_documents < 1:
            raise ValueError("top_k and min_documents must be >= 1 and max_ngram in [1, 5]")
        if self.similarity_weight < 0:
            raise ValueError(f"similarity_weight must be >= 0, got {self.similarity_weight}")


def _document_frequencies(texts: Sequence[str], config: PhraseConfig):
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(
        ngram_range=(1, config.max_ngram),
        stop_words="english",
        binary=True,
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z-]+\b",
    )
    matrix = vectorizer.fit_transform(texts)
    return vectorizer.get_feature_names_out(), matrix


def mine_phrases(
    documents: Sequence[dict],
    taxonomy: Taxonomy,
    config: PhraseConfig | None = None,
    similarity: Similarity | None = None,
) -> dict[str, dict[str, list[tuple[str, float]]]]:
    """Mines phrases for every label that has documents.

    Args:
        documents: ``{"text", "labels"}`` with one label path each.
        taxonomy: the hierarchy (siblings come from it).
        config: top-k, n-gram range and weights.
        similarity: scores phrases against a label's name (e.g. cosine of encoder embeddings); default none.

    Returns:
        ``{label: {"own": [(phrase, score), ...], "inherited": [(phrase, score), ...]}}``, best first; a label's
        inherited phrases are its ancestors' own phrases.
    """
    config = config or PhraseConfig()
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, document in enumerate(documents):
        for label in document["labels"]:
            by_label[label].append(index)
    texts = [d["text"] for d in documents]
    vocabulary, matrix = _document_frequencies(texts, config)
    matrix = matrix.tocsr()

    own: dict[str, list[tuple[str, float]]] = {}
    parents = {taxonomy.root, *(label for label in taxonomy.labels if not taxonomy.is_leaf(label))}
    for parent in parents:
        group = [c for c in taxonomy.children_of(parent) if by_label.get(c)]
        # share of each sibling's documents that contain each phrase: (siblings, phrases)
        counts = [matrix[by_label[child]].sum(axis=0).A1 for child in group]
        shares = [count / len(by_label[child]) for count, child in zip(counts, group, strict=True)]
        for i, child in enumerate(group):
            rivals = [shares[j] for j in range(len(group)) if j != i]
            # distinctiveness: how much more often than in the most frequent sibling. Only one sibling can be
            # strictly ahead of all the others, so a phrase is kept by at most one sibling.
            distinct = shares[i] - (numpy.max(rivals, axis=0) if rivals else 0.0)
            keep = [p for p in numpy.flatnonzero(counts[i] >= config.min_documents) if distinct[p] > 0]
            phrases = [str(vocabulary[p]) for p in keep]
            similarities = similarity(phrases, child) if similarity and phrases else [0.0] * len(phrases)
            scored = [
                (phrase, float(shares[i][p] * distinct[p] * (1 + config.similarity_weight * max(sim, 0.0))))
                for p, phrase, sim in zip(keep, phrases, similarities, strict=True)
            ]
            own[child] = sorted(scored, key=lambda item: (-item[1], item[0]))[: config.top_k]
    return {
        label: {
            "own": own.get(label, []),
            "inherited": [pair for a in taxonomy.ancestors(label) for pair in own.get(a, [])],
        }
        for label in taxonomy.labels
    }
