from __future__ import annotations

from collections import Counter

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, TrainingArguments

from htcgen.generator import add_lora, generate_documents, plan_samples, rare_path_weights, train_generator
from htcgen.prompts import training_pairs

DOCUMENTS = [{"text": "the striker scored a goal", "labels": ["Sports", "Football"]}] * 9 + [
    {"text": "the racket hit an ace", "labels": ["Sports", "Tennis"]}
]
PHRASES = {"Football": {"own": [["striker", 1.0], ["goal", 0.5]]}, "Tennis": {"own": [["racket", 1.0], ["ace", 0.4]]}}


def test_rare_paths_are_favoured():
    weights = rare_path_weights(DOCUMENTS)
    assert weights[("Sports", "Tennis")] == 9 * weights[("Sports", "Football")]
    counts = Counter(tuple(r["labels"]) for r in plan_samples(DOCUMENTS, PHRASES, 400, seed=1))
    assert 0.8 < counts[("Sports", "Tennis")] / 400 < 0.97  # one document of ten, nine draws of ten


def test_requests_carry_phrases_of_their_own_path():
    for request in plan_samples(DOCUMENTS, PHRASES, 50, seed=2):
        own = {p for label in request["labels"] for p, _ in PHRASES.get(label, {}).get("own", [])}
        assert request["phrases"] and set(request["phrases"]) <= own
        assert " > ".join(request["labels"]) in request["prompt"]
    assert all(r["phrases"] == [] for r in plan_samples(DOCUMENTS, PHRASES, 5, mode="path"))


def _tiny():
    pairs = training_pairs(DOCUMENTS, PHRASES, seed=0)
    words = sorted(
        {w for p in pairs for w in (p["prompt"] + " " + p["response"]).split()} | {"user", "assistant", ":"}
    )
    vocab = ["<pad>", "<unk>", "</s>", *words]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="<unk>"))
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
            hidden_size=32,
            intermediate_size=64,
            num_attention_heads=4,
            num_key_value_heads=2,
            num_hidden_layers=2,
            vocab_size=len(vocab),
            pad_token_id=0,
            eos_token_id=2,
            initializer_range=0.3,
        )
    )
    return model, tokenizer, pairs


def test_lora_generator_learns_and_samples(tmp_path):
    model, tokenizer, pairs = _tiny()
    model = add_lora(model, rank=8, dropout=0.0)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    args = TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=60,
        per_device_train_batch_size=5,
        learning_rate=1e-2,
        logging_steps=10,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        use_cpu=True,
        seed=0,
        dataloader_pin_memory=False,
    )
    metrics = train_generator(model, tokenizer, pairs, args, save_to=str(tmp_path / "adapter"))
    assert metrics["last_logged_loss"] < 0.5 * metrics["first_logged_loss"]
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    requests = plan_samples(DOCUMENTS, PHRASES, 4, seed=0)
    samples = generate_documents(model, tokenizer, requests, max_new_tokens=8, batch_size=2)
    assert [s["labels"] for s in samples] == [r["labels"] for r in requests]
    assert all(isinstance(s["text"], str) and s["text"] for s in samples)
