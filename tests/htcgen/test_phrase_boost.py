"""Decoding that raises the prompted phrases: the processor's rule by hand, then on a tiny model."""

from __future__ import annotations

import pytest
import torch

from htcgen.generator import generate_documents, plan_samples
from htcgen.phrase_boost import PhraseBoostLogitsProcessor, phrase_token_ids
from htcgen.quality import phrase_coverage

from .conftest import DOCUMENTS, PHRASES

PROMPT = [9, 9, 9]  # three prompt tokens; what follows is generated


def _raised(phrases, generated, vocabulary=12, boost=2.0):
    processor = PhraseBoostLogitsProcessor([phrases], prompt_length=len(PROMPT), boost=boost)
    scores = torch.zeros(1, vocabulary)
    out = processor(torch.tensor([PROMPT + generated]), scores)
    return {token for token in range(vocabulary) if out[0, token] == boost}


def test_the_next_token_of_every_unwritten_phrase_is_raised():
    phrases = [[1, 2, 3], [4], [5, 6]]
    assert _raised(phrases, []) == {1, 4, 5}  # each phrase's first token
    assert _raised(phrases, [7, 1]) == {2, 4, 5}  # "1" begun: its next token instead of its first
    assert _raised(phrases, [1, 2]) == {3, 4, 5}
    assert _raised(phrases, [1, 2, 3, 4]) == {5}  # written in full: raised no more
    assert _raised(phrases, [5, 7]) == {1, 4, 5}  # a broken start counts for nothing
    # a phrase in the prompt is not written by the reply: it is still raised
    processor = PhraseBoostLogitsProcessor([[[9]]], prompt_length=3, boost=1.0)
    assert processor(torch.tensor([PROMPT]), torch.zeros(1, 12))[0, 9] == 1.0


def test_each_row_raises_its_own_phrases_and_bad_arguments_are_refused():
    processor = PhraseBoostLogitsProcessor([[[1]], [[2], []]], prompt_length=1, boost=3.0)
    out = processor(torch.tensor([[0], [0]]), torch.zeros(2, 4))
    assert out.tolist() == [[0.0, 3.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0]]
    with pytest.raises(ValueError, match="for 2 rows, the batch has 1"):
        processor(torch.tensor([[0]]), torch.zeros(1, 4))
    with pytest.raises(ValueError, match="boost"):
        PhraseBoostLogitsProcessor([[[1]]], prompt_length=1, boost=0.0)


def test_the_boost_raises_the_phrase_tokens_probability_on_a_tiny_model(tiny):
    model, tokenizer, _ = tiny
    model.eval()
    phrase = phrase_token_ids(tokenizer, ["racket"])
    assert phrase == [tokenizer(" racket", add_special_tokens=False)["input_ids"]]
    input_ids = tokenizer("the striker", return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids).logits[:, -1]
    processor = PhraseBoostLogitsProcessor([phrase], prompt_length=input_ids.shape[1], boost=3.0)
    before = logits.softmax(-1)[0, phrase[0][0]]
    after = processor(input_ids, logits.clone()).softmax(-1)[0, phrase[0][0]]
    assert after > 5 * before  # e^3 ~ 20 times the odds
    # in sampling: with a strong boost every document writes one of its phrases; without, the untrained model
    # rarely does
    requests = plan_samples(DOCUMENTS, PHRASES, 8, seed=0)
    torch.manual_seed(0)
    plain = generate_documents(model, tokenizer, requests, max_new_tokens=6, batch_size=4)
    torch.manual_seed(0)
    boosted = generate_documents(model, tokenizer, requests, max_new_tokens=6, batch_size=4, phrase_boost=50.0)
    assert phrase_coverage(boosted) > phrase_coverage(plain)
    assert all(any(p in s["text"].split() for p in s["phrases"]) for s in boosted)
