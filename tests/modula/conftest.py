"""Tiny in-process models and a word-level tokenizer with a chat template, for fast MoDULA tests."""

from __future__ import annotations

import copy

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

from lmcommon.data import write_jsonl

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} </s> {% endfor %}"
    "{% if add_generation_prompt %}assistant : {% endif %}"
)
WORDS = ["user", "assistant", ":", "alpha", "beta", "question", "a", "b", "c", "d"] + [f"q{i}" for i in range(10)]
VOCAB = ["<pad>", "<unk>", "</s>", *WORDS]


def make_tokenizer() -> PreTrainedTokenizerFast:
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(VOCAB)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", eos_token="</s>", pad_token="<pad>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


# the lm_head is frozen; with the default initializer_range of 0.02 its logits stay near uniform whatever the
# adapters do, so the toy tasks could not be learnt
_TINY = {
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "num_hidden_layers": 2,
    "vocab_size": len(VOCAB),
    "pad_token_id": 0,
    "eos_token_id": 2,
    "initializer_range": 0.3,
}


def make_llama(seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    return LlamaForCausalLM(LlamaConfig(**_TINY))


def make_qwen2(seed: int = 0) -> Qwen2ForCausalLM:
    torch.manual_seed(seed)
    return Qwen2ForCausalLM(Qwen2Config(**_TINY))


@pytest.fixture(scope="session")
def _llama():
    return make_llama()


@pytest.fixture(scope="session")
def _qwen2():
    return make_qwen2()


@pytest.fixture
def llama(_llama):
    return copy.deepcopy(_llama)


@pytest.fixture
def qwen2(_qwen2):
    return copy.deepcopy(_qwen2)


@pytest.fixture(params=["llama", "qwen2"])
def base_model(request, _llama, _qwen2):
    return copy.deepcopy(_llama if request.param == "llama" else _qwen2)


@pytest.fixture
def tokenizer():
    return make_tokenizer()


def randomise_parts(model, *parts: str, seed: int = 1) -> None:
    """Gives the named parts of a MoDULA model (universal, a domain, router) non-zero weights, as training would."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for _, layer in model.modula_layers():
            for part in parts:
                module = {"universal": layer.universal, "router": layer.router}.get(part) or layer.experts[part]
                for parameter in module.parameters():
                    parameter.normal_(std=0.3)


DOMAIN_WORDS = {"alpha": ("alpha", "a", "b"), "beta": ("beta", "c", "d")}


def toy_rows(domain: str, count: int = 24) -> list[dict[str, str]]:
    """A learnable task: each domain answers with its own fixed pattern; its prompts use its own words, so a
    router that reads a token can tell the domains apart."""
    if domain == "general":
        return [{"prompt": f"question q{i % 10}", "response": "a c", "domain": domain} for i in range(count)]
    name, first, second = DOMAIN_WORDS[domain]
    rows = []
    for i in range(count):
        pattern = " ".join(first if (i >> bit) & 1 else second for bit in range(3))
        rows.append(
            {"prompt": f"{name} {pattern}", "response": f"{first} {second} {first} {second}", "domain": domain}
        )
    return rows


def write_toy_files(folder) -> dict[str, str]:
    """The toy chat files the command-line tests train on: ``{name: path}`` (general, alpha, beta, the router mix
    before the plug-in and after it)."""
    files = {}
    for name, rows in {
        "general": toy_rows("general", 8),
        "alpha": toy_rows("alpha", 8),
        "beta": toy_rows("beta", 8),
        "mix_alpha": toy_rows("alpha", 8),
        "mix": toy_rows("alpha", 8) + toy_rows("beta", 8),
    }.items():
        files[name] = str(folder / f"{name}.jsonl")
        write_jsonl(files[name], rows)
    return files


@pytest.fixture
def workspace(tmp_path):
    """A saved tiny Llama and tokenizer and toy chat files: ``(folder, model folder, {name: file})``."""
    model_dir = tmp_path / "base"
    make_llama().save_pretrained(model_dir)
    make_tokenizer().save_pretrained(model_dir)
    return tmp_path, str(model_dir), write_toy_files(tmp_path)
