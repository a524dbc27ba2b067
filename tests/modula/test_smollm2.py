"""MoDULA on the packaged SmolLM2-135M-Instruct: the real chat template and the real layer names."""

from __future__ import annotations

import copy

import pytest
import torch

from lmcommon.models import load_causal_lm
from lmcommon.sft import IGNORE_INDEX, tokenize_example
from modula import MoDULAConfig, MoDULAModel


@pytest.fixture(scope="module")
def smollm2():
    return load_causal_lm("default", device="cpu")


@pytest.mark.integration
def test_chat_template_puts_the_loss_on_the_answer_only(smollm2):
    _, tokenizer = smollm2
    example = tokenize_example(tokenizer, "What is 2 + 3?", "5", max_length=256)
    labelled = [i for i, label in zip(example["input_ids"], example["labels"], strict=True) if label != IGNORE_INDEX]
    assert tokenizer.decode(labelled).strip() == "5<|im_end|>"
    prompt_ids = [i for i, label in zip(example["input_ids"], example["labels"], strict=True) if label == IGNORE_INDEX]
    assert tokenizer.decode(prompt_ids).endswith("<|im_start|>assistant\n")


@pytest.mark.integration
def test_wrapping_smollm2_keeps_its_logits(smollm2):
    base, tokenizer = smollm2
    ids = tokenizer("The capital of France is", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        expected = base(input_ids=ids).logits
    model = MoDULAModel(copy.deepcopy(base), MoDULAConfig(variant="res", domains=["math", "medical"]))
    assert len(list(model.modula_layers())) == 30 * 7  # every projection of every block
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=ids).logits, expected, rtol=0, atol=0)
