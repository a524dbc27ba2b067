from __future__ import annotations

from collections import Counter

import pytest
import torch
from transformers import TrainingArguments

from htcgen.generator import (
    add_lora,
    generate_documents,
    load_generator,
    plan_samples,
    rare_path_weights,
    train_generator,
)

from .conftest import DOCUMENTS, PHRASES


def test_rare_paths_are_favoured():
    weights = rare_path_weights(DOCUMENTS)
    assert weights[("Sports", "Tennis")] == 9 * weights[("Sports", "Football")]
    counts = Counter(tuple(r["labels"]) for r in plan_samples(DOCUMENTS, PHRASES, 400, seed=1))
    assert 0.8 < counts[("Sports", "Tennis")] / 400 < 0.97  # one document of ten, nine draws of ten


def test_deeper_paths_are_drawn_at_the_target_depth_as_before():
    # nine Football documents under three third-level labels, one Tennis document: at depth 2 Tennis is the rare
    # path and keeps its weight however many leaves Football's documents spread over
    deeper = [{**d, "labels": [*d["labels"], f"leaf{i % 3}"]} for i, d in enumerate(DOCUMENTS)]
    requests = plan_samples(deeper, PHRASES, 400, seed=1, target_depth=2)
    counts = Counter(tuple(r["labels"][:2]) for r in requests)
    assert 0.8 < counts[("Sports", "Tennis")] / 400 < 0.97
    whole = {tuple(d["labels"]) for d in deeper}
    assert all(tuple(r["labels"]) in whole and " > ".join(r["labels"]) in r["prompt"] for r in requests)
    football = {tuple(r["labels"]) for r in requests if r["labels"][1] == "Football"}
    assert len(football) == len({p for p in whole if p[1] == "Football"}) > 1  # each of its documents' paths
    with pytest.raises(ValueError, match="target_depth must be >= 1"):
        plan_samples(deeper, PHRASES, 1, target_depth=0)


def test_requests_carry_phrases_of_their_own_path():
    for request in plan_samples(DOCUMENTS, PHRASES, 50, seed=2):
        own = {p for label in request["labels"] for p, _ in PHRASES.get(label, {}).get("own", [])}
        assert request["phrases"] and set(request["phrases"]) <= own
        assert " > ".join(request["labels"]) in request["prompt"]
    assert all(r["phrases"] == [] for r in plan_samples(DOCUMENTS, PHRASES, 5, mode="path"))


def test_lora_generator_learns_and_samples(tmp_path, tiny):
    model, tokenizer, pairs = tiny
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


def test_a_merged_generator_gives_the_adapter_path_outputs(tmp_path, tiny):
    model, tokenizer, _ = tiny
    model.save_pretrained(tmp_path / "base")
    tokenizer.save_pretrained(tmp_path / "base")
    tuned = add_lora(model, rank=4, dropout=0.0)
    torch.manual_seed(0)
    with torch.no_grad():  # lora_B starts at zero: give the adapter an effect to fold in
        for name, parameter in tuned.named_parameters():
            if "lora_B" in name:
                parameter.normal_(std=0.5)
    tuned.save_pretrained(tmp_path / "adapter")
    merged, tokenizer = load_generator(str(tmp_path / "base"), tmp_path / "adapter", device="cpu")
    unmerged, _ = load_generator(str(tmp_path / "base"), tmp_path / "adapter", device="cpu", merge=False)
    bare, _ = load_generator(str(tmp_path / "base"), None, device="cpu")
    assert not any("lora_" in name for name, _ in merged.named_parameters())
    ids = tokenizer(["the striker scored a goal"], return_tensors="pt").input_ids
    with torch.no_grad():
        logits = [m(input_ids=ids).logits for m in (merged, unmerged, bare)]
    assert torch.allclose(logits[0], logits[1], atol=1e-4)
    assert not torch.allclose(logits[1], logits[2], atol=1e-2)  # the adapter does change the outputs
