from __future__ import annotations

import collections

import pytest
import torch

from lmcommon.errors import DataError
from lmcommon.sft import IGNORE_INDEX, ChatCollator, tokenize_example, tokenize_rows
from modula.data import balanced_mix, read_chat_rows


def test_loss_only_on_the_response(tokenizer):
    example = tokenize_example(tokenizer, "alpha a b", "a b a b", max_length=64)
    tokens = tokenizer.convert_ids_to_tokens(example["input_ids"])
    assert tokens == ["user", ":", "alpha", "a", "b", "</s>", "assistant", ":", "a", "b", "a", "b", "</s>"]
    labelled = [t for t, label in zip(tokens, example["labels"], strict=True) if label != IGNORE_INDEX]
    assert labelled == ["a", "b", "a", "b", "</s>"]  # the response and its end of turn, nothing of the prompt
    assert example["attention_mask"] == [1] * len(tokens)


def test_without_chat_template_prompt_then_response_then_eos(tokenizer):
    tokenizer.chat_template = None
    example = tokenize_example(tokenizer, "alpha a", "b b", max_length=64)
    assert tokenizer.convert_ids_to_tokens(example["input_ids"]) == ["alpha", "a", "b", "b", "</s>"]
    assert example["labels"][:2] == [IGNORE_INDEX, IGNORE_INDEX]


def test_truncation_and_dropping_examples_without_response(tokenizer):
    rows = [{"prompt": "alpha a b", "response": "a b a b"}, {"prompt": "beta c", "response": "c"}]
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


def test_balanced_mix():
    rows = [{"domain": "math", "i": i} for i in range(10)] + [{"domain": "medical", "i": i} for i in range(3)]
    mix = balanced_mix(rows, ["math", "medical"], seed=1)
    assert collections.Counter(r["domain"] for r in mix) == {"math": 10, "medical": 10}
    assert {r["i"] for r in mix if r["domain"] == "medical"} == {0, 1, 2}  # every row of the small domain used
    assert mix == balanced_mix(rows, ["math", "medical"], seed=1)  # deterministic per seed
    assert collections.Counter(r["domain"] for r in balanced_mix(rows, ["math", "medical"], 4)) == {
        "math": 4,
        "medical": 4,
    }


def test_balanced_mix_errors():
    rows = [{"domain": "math"}]
    with pytest.raises(ValueError, match=r"no rows for domain\(s\) \['medical'\]"):
        balanced_mix(rows, ["math", "medical"])
    with pytest.raises(ValueError, match="'law' is not one of the model's domains"):
        balanced_mix([*rows, {"domain": "law"}], ["math"])


def test_read_chat_rows_names_the_bad_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"prompt": "p", "response": "r"}\n{"prompt": "p"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"train\.jsonl:2: field 'response': missing required field"):
        read_chat_rows(path)
    path.write_text('{"prompt": "p", "response": 3}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"train\.jsonl:1: field 'response': must be a string"):
        read_chat_rows(path)
    path.write_text('{"prompt": "p", "response": "r"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"field 'domain': missing"):
        read_chat_rows(path, require_domain=True)
    path.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="no examples"):
        read_chat_rows(path)
