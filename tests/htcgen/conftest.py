"""Shared fixtures of the htcgen tests."""

from __future__ import annotations

import pytest

from htcgen.prompts import training_pairs

DOCUMENTS = [{"text": "the striker scored a goal", "labels": ["Sports", "Football"]}] * 9 + [
    {"text": "the racket hit an ace", "labels": ["Sports", "Tennis"]}
]
PHRASES = {"Football": {"own": [["striker", 1.0], ["goal", 0.5]]}, "Tennis": {"own": [["racket", 1.0], ["ace", 0.4]]}}


@pytest.fixture
def tiny(chat_tokenizer, tiny_llama):
    """A tiny Llama, a tokenizer over the pairs' words, and the training pairs."""
    pairs = training_pairs(DOCUMENTS, PHRASES, seed=0)
    tokenizer = chat_tokenizer(sorted({w for p in pairs for w in (p["prompt"] + " " + p["response"]).split()}))
    return tiny_llama(len(tokenizer)), tokenizer, pairs
