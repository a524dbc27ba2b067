"""Shared fixtures of the htcgen tests."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

from htcgen.experiment import ExperimentConfig
from htcgen.generator import GeneratorSettings
from htcgen.prompts import build_prompt, training_pairs
from htcgen.taxonomy import Taxonomy

DOCUMENTS = [{"text": "the striker scored a goal", "labels": ["Sports", "Football"]}] * 9 + [
    {"text": "the racket hit an ace", "labels": ["Sports", "Tennis"]}
]
PHRASES = {"Football": {"own": [["striker", 1.0], ["goal", 0.5]]}, "Tennis": {"own": [["racket", 1.0], ["ace", 0.4]]}}


TAXONOMY = Taxonomy(
    {"Root": ["Sports", "Science"], "Sports": ["Football", "Tennis"], "Science": ["Physics", "Biology"]}
)
TOPICS = {
    ("Sports", "Football"): "striker goal penalty goalkeeper club league pitch header corner",
    ("Sports", "Tennis"): "racket serve ace volley court grass clay set tiebreak",
    ("Science", "Physics"): "quantum particle energy mass atom force gravity photon",
    ("Science", "Biology"): "cell gene protein organism species evolution enzyme tissue",
}


def topic_documents(per_path=12):
    documents = []
    for path, words in TOPICS.items():
        vocabulary = words.split()
        for i in range(per_path):
            text = " ".join(vocabulary[(i + j) % len(vocabulary)] for j in range(25))
            documents.append({"id": f"{path[-1]}-{i}", "text": text, "labels": list(path)})
    return documents


@pytest.fixture
def tiny(chat_tokenizer, tiny_llama):
    """A tiny Llama, a tokenizer over the pairs' words, and the training pairs."""
    pairs = training_pairs(DOCUMENTS, PHRASES, seed=0)
    tokenizer = chat_tokenizer(sorted({w for p in pairs for w in (p["prompt"] + " " + p["response"]).split()}))
    return tiny_llama(len(tokenizer)), tokenizer, pairs


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A two-layer BERT with a word vocabulary over the toy documents, saved as a checkpoint folder."""
    folder = tmp_path_factory.mktemp("bert")
    words = sorted({w for d in topic_documents() for w in d["text"].split()})
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    tokenizer = BertTokenizerFast(vocab={word: i for i, word in enumerate(vocabulary)})
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    return str(folder)


@pytest.fixture
def generator_folder(tmp_path, chat_tokenizer, tiny_llama):
    """A tiny Llama and a tokenizer over the topic documents' and the prompts' words, saved as a folder."""
    words = {w for d in topic_documents() for w in d["text"].split()}
    for path in TOPICS:
        words |= set(build_prompt(list(path), ["goal"], "full").split())
    tokenizer = chat_tokenizer(sorted(words))
    folder = tmp_path / "generator-base"
    tiny_llama(len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def tiny_experiment_config(generator_folder, tiny_bert, **fields):
    """One cell (depth 2, k = 2, seed 0), no augmentation and the full method, TF-IDF, on the tiny models; ``fields``
    override any of it."""
    settings = {
        "depths": (2,),
        "ks": (2,),
        "seeds": (0,),
        "methods": ("none", "full"),
        "classifiers": ("tfidf",),
        "min_words": 1,
        "encoder_model": tiny_bert,
        "encoder_epochs": 2,
        "phrase_encoder": None,
        "generator": GeneratorSettings(
            model=generator_folder,
            epochs=1,
            batch_size=4,
            max_length=48,
            lead_words=6,
            max_new_tokens=12,
            generation_batch_size=4,
        ),
    }
    return ExperimentConfig(**{**settings, **fields})
