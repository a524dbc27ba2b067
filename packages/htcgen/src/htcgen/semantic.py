"""Semantic-level label information: the text of every label's path (with its description where given) and
its encoder embedding; also the phrase-to-label similarity the phrase miner can use."""

from __future__ import annotations

from htcgen.phrases import Similarity
from htcgen.taxonomy import Taxonomy

SEPARATOR = " > "


def label_texts(taxonomy: Taxonomy, descriptions: dict[str, str] | None = None) -> dict[str, str]:
    """``{label: "Biological and health sciences > Organisms > Fungi[: description]"}`` for every label."""
    descriptions = descriptions or {}
    texts = {}
    for label in taxonomy.labels:
        text = SEPARATOR.join(taxonomy.path(label))
        if descriptions.get(label):
            text = f"{text}: {descriptions[label]}"
        texts[label] = text
    return texts


def label_embeddings(taxonomy: Taxonomy, model, tokenizer, descriptions: dict[str, str] | None = None):
    """``(labels, embeddings)``: L2-normalised encoder embeddings of :func:`label_texts`, one row per label."""
    from lmcommon.embeddings import encode_texts

    texts = label_texts(taxonomy, descriptions)
    labels = list(texts)
    return labels, encode_texts(model, tokenizer, [texts[label] for label in labels])


def encoder_similarity(taxonomy: Taxonomy, model, tokenizer) -> Similarity:
    """Cosine similarity between phrases and a label's path text, with the given encoder (e.g. MiniLM)."""
    from lmcommon.embeddings import encode_texts

    labels, vectors = label_embeddings(taxonomy, model, tokenizer)
    row = {label: i for i, label in enumerate(labels)}

    def similarity(phrases: list[str], label: str) -> list[float]:
        phrase_vectors = encode_texts(model, tokenizer, phrases, batch_size=128, max_length=16)
        return (phrase_vectors @ vectors[row[label]]).tolist()

    return similarity
