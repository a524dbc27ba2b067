from __future__ import annotations

import pytest
import torch

from lmcommon.sft import IGNORE_INDEX, ChatCollator, tokenize_example, tokenize_rows


@pytest.fixture
def tokenizer(chat_tokenizer):
    return chat_tokenizer(["hello", "world", "a", "b"])


def test_loss_only_on_the_response(tokenizer):
    example = tokenize_example(tokenizer, "hello a b", "a b a b", max_length=64)
    tokens = tokenizer.convert_ids_to_tokens(example["input_ids"])
    assert tokens == ["user", ":", "hello", "a", "b", "</s>", "assistant", ":", "a", "b", "a", "b", "</s>"]
    labelled = [t for t, label in zip(tokens, example["labels"], strict=True) if label != IGNORE_INDEX]
    assert labelled == ["a", "b", "a", "b", "</s>"]  # the response and its end of turn, nothing of the prompt
    assert example["attention_mask"] == [1] * len(tokens)


def test_without_chat_template_prompt_then_response_then_eos(tokenizer):
    tokenizer.chat_template = None
    example = tokenize_example(tokenizer, "hello a", "b b", max_length=64)
    assert tokenizer.convert_ids_to_tokens(example["input_ids"]) == ["hello", "a", "b", "b", "</s>"]
    assert example["labels"][:2] == [IGNORE_INDEX, IGNORE_INDEX]


def test_truncation_and_dropping_examples_without_response(tokenizer):
    rows = [{"prompt": "hello a b", "response": "a b a b"}, {"prompt": "world a", "response": "b"}]
    # prompts take 8 and 7 tokens, responses 5 and 2
    examples = tokenize_rows(tokenizer, rows, max_length=10)
    assert [len(e["input_ids"]) for e in examples] == [10, 9]
    assert len(tokenize_rows(tokenizer, rows, max_length=8)) == 1  # the first row has no response token left
    with pytest.raises(ValueError, match="raise max_length"):
        tokenize_rows(tokenizer, rows, max_length=7)


def test_collator_pads_labels_with_ignore_index():
    batch = ChatCollator(pad_token_id=0)(
        [
            {"input_ids": [5, 6, 7], "labels": [-100, 6, 7], "attention_mask": [1, 1, 1]},
            {"input_ids": [5], "labels": [5], "attention_mask": [1]},
        ]
    )
    assert batch["input_ids"].tolist() == [[5, 6, 7], [5, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [5, -100, -100]]
    assert batch["attention_mask"].dtype == torch.long and batch["attention_mask"].tolist()[1] == [1, 0, 0]
