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


# a word: letters and digits, possibly hyphenated; a clause: words with nothing but spaces between them
_WORD = r"[^\W_]+(?:-[^\W_]+)*"
_CLAUSE = re.compile(rf"{_WORD}(?:\s+{_WORD})*")


def _clauses(text: str) -> list[str]:
    """The clauses of ``text``, lower-cased, each as its words joined by single spaces and padded with one."""
    return [f" {' '.join(match.group().split())} " for match in _CLAUSE.finditer(text.lower())]


def phrases_in(text: str, phrases: Sequence[str]) -> list[str]:
    """The ``phrases`` that occur in ``text`` as whole words in a row, ignoring case and the width of the spaces;
    like the miner, a phrase does not run across punctuation. The text is split into clauses once for all."""
    clauses = _clauses(text)
    return [p for p in phrases if any(f" {' '.join(p.lower().split())} " in clause for clause in clauses)]


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` (see :func:`phrases_in`)."""
    return bool(phrases_in(text, [phrase]))


def literal_ngrams(text: str, max_ngram: int) -> list[str]:
    """The 1- to ``max_ngram``-word sequences of ``text`` (lower-cased) that neither start nor end with an English
    stop word, e.g. "end of the war" but never "end war": each phrase is the text's own words in order, so a
    generator can be asked to use it verbatim and the coverage check can find it. Phrases do not run across
    punctuation, have no numbers and do not start or end with a single letter."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    def can_edge(word: str) -> bool:
        return len(word) > 1 and word not in ENGLISH_STOP_WORDS

    grams = []
    for clause in _clauses(text):
        words = clause.split()
        for n in range(1, max_ngram + 1):
            for start in range(len(words) - n + 1):
                gram = words[start : start + n]
                if can_edge(gram[0]) and can_edge(gram[-1]) and not any(c.isdigit() for c in "".join(gram)):
                    grams.append(" ".join(gram))
    return grams


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

    vectorizer = CountVectorizer(analyzer=lambda text: literal_ngrams(text, config.max_ngram), binary=True)
    matrix = vectorizer.fit_transform(texts)
    return vectorizer.get_feature_names_out(), matrix


def _contenders(base: dict[int, float], config: PhraseConfig) -> list[int]:
    """The phrases that can still reach the top k once similarity is added: similarity multiplies a score by a
    factor in [1, 1 + similarity_weight], so a phrase whose best case stays below the k-th best base score loses
    to k phrases whatever the similarities. Leaving those out spares the encoder most phrases (1.4M -> far fewer
    on HWV with ``min_documents=1``) without changing the result."""
    if len(base) <= config.top_k:
        return list(base)
    kth_best = sorted(base.values(), reverse=True)[config.top_k - 1]
    return [p for p, score in base.items() if score * (1 + config.similarity_weight) >= kth_best]


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
            base = {p: float(shares[i][p] * distinct[p]) for p in keep}
            if similarity is not None:
                keep = _contenders(base, config)
            phrases = [str(vocabulary[p]) for p in keep]
            similarities = similarity(phrases, child) if similarity and phrases else [0.0] * len(phrases)
            scored = [
                (phrase, base[p] * (1 + config.similarity_weight * max(sim, 0.0)))
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
