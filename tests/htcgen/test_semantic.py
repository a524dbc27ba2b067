from __future__ import annotations

import pytest
import torch

from htcgen.semantic import encoder_similarity, label_embeddings, label_texts
from htcgen.taxonomy import Taxonomy

TAXONOMY = Taxonomy({"Root": ["Sports", "Biology"], "Sports": ["Football"], "Biology": ["Fungi"]})


def test_label_texts_are_paths_with_descriptions():
    texts = label_texts(TAXONOMY, {"Fungi": "mushrooms, yeasts and moulds"})
    assert texts["Football"] == "Sports > Football"
    assert texts["Fungi"] == "Biology > Fungi: mushrooms, yeasts and moulds"


@pytest.mark.integration
def test_encoder_embeddings_and_phrase_similarity():
    from lmcommon.models import load_encoder

    model, tokenizer = load_encoder("default", device="cpu")
    labels, vectors = label_embeddings(TAXONOMY, model, tokenizer)
    assert labels == TAXONOMY.labels and vectors.shape == (4, model.config.hidden_size)
    torch.testing.assert_close(vectors.norm(dim=-1), torch.ones(4))
    similarity = encoder_similarity(TAXONOMY, model, tokenizer)
    mushroom, goal = similarity(["edible mushroom", "penalty goal"], "Fungi")
    assert mushroom > goal
