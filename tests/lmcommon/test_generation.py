from __future__ import annotations

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from lmcommon.generation import format_chat_prompt, generate_replies

WORDS = ["<pad>", "<unk>", "</s>", "user", "assistant", ":", "hello", "world", "a", "b"]


def _tiny():
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", eos_token="</s>", pad_token="<pad>"
    )
    tokenizer.chat_template = (
        "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} </s> {% endfor %}"
        "{% if add_generation_prompt %}assistant : {% endif %}"
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(
            hidden_size=16,
            intermediate_size=32,
            num_attention_heads=4,
            num_key_value_heads=2,
            num_hidden_layers=1,
            vocab_size=len(WORDS),
            pad_token_id=0,
            eos_token_id=2,
        )
    )
    return model.eval(), tokenizer


def test_chat_prompt_uses_the_template():
    _, tokenizer = _tiny()
    assert format_chat_prompt(tokenizer, "hello") == "user : hello </s> assistant : "
    tokenizer.chat_template = None
    assert format_chat_prompt(tokenizer, "hello") == "hello\n"


def test_greedy_is_deterministic_and_batching_keeps_order():
    model, tokenizer = _tiny()
    prompts = ["hello", "hello world a b", "b"]
    one_by_one = [generate_replies(model, tokenizer, [p], max_new_tokens=4)[0] for p in prompts]
    assert generate_replies(model, tokenizer, prompts, max_new_tokens=4, batch_size=2) == one_by_one
    assert tokenizer.padding_side == "right"  # restored after left-padding for generation


def test_sampling_runs_and_is_seeded():
    model, tokenizer = _tiny()
    torch.manual_seed(1)
    first = generate_replies(model, tokenizer, ["hello"] * 3, max_new_tokens=5, do_sample=True, temperature=1.5)
    torch.manual_seed(1)
    again = generate_replies(model, tokenizer, ["hello"] * 3, max_new_tokens=5, do_sample=True, temperature=1.5)
    assert first == again and all(isinstance(text, str) for text in first)
