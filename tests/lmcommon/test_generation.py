from __future__ import annotations

import logging

import pytest
import torch

import lmcommon.generation
from lmcommon.generation import ProgressLog, format_chat_prompt, generate_replies

WORDS = ["hello", "world", "a", "b"]


@pytest.fixture
def tiny(chat_tokenizer, tiny_llama):
    tokenizer = chat_tokenizer(WORDS)
    return tiny_llama(len(tokenizer), num_hidden_layers=1).eval(), tokenizer


def test_chat_prompt_uses_the_template(tiny):
    _, tokenizer = tiny
    assert format_chat_prompt(tokenizer, "hello") == "user : hello </s> assistant : "
    tokenizer.chat_template = None
    assert format_chat_prompt(tokenizer, "hello") == "hello\n"


def test_greedy_is_deterministic_and_batching_keeps_order(tiny):
    model, tokenizer = tiny
    prompts = ["hello", "hello world a b", "b"]
    one_by_one = [generate_replies(model, tokenizer, [p], max_new_tokens=4)[0] for p in prompts]
    assert generate_replies(model, tokenizer, prompts, max_new_tokens=4, batch_size=2) == one_by_one
    assert tokenizer.padding_side == "right"  # restored after left-padding for generation


def test_greedy_batches_prompts_of_similar_length_and_returns_replies_in_order(tiny):
    model, tokenizer = tiny
    prompts = ["hello world a b hello", "b", "hello world a", "a"]
    batches = []

    def record(indices, prompt_length):
        batches.append(list(indices))
        return []

    one_by_one = [generate_replies(model, tokenizer, [p], max_new_tokens=4)[0] for p in prompts]
    replies = generate_replies(model, tokenizer, prompts, max_new_tokens=4, batch_size=2, logits_processors=record)
    assert batches == [[1, 3], [2, 0]]  # the two one-word prompts together, then the longer two, shortest first
    assert replies == one_by_one
    sampled = []
    generate_replies(
        model, tokenizer, prompts, max_new_tokens=2, batch_size=2, do_sample=True,
        logits_processors=lambda indices, length: sampled.append(list(indices)) or [],
    )  # fmt: skip
    assert sampled == [[0, 1], [2, 3]]  # sampling keeps the order a seed was drawn for


def test_sampling_runs_and_is_seeded(tiny):
    model, tokenizer = tiny
    torch.manual_seed(1)
    first = generate_replies(model, tokenizer, ["hello"] * 3, max_new_tokens=5, do_sample=True, temperature=1.5)
    torch.manual_seed(1)
    again = generate_replies(model, tokenizer, ["hello"] * 3, max_new_tokens=5, do_sample=True, temperature=1.5)
    assert first == again and all(isinstance(text, str) for text in first)


def test_long_generation_reports_progress(tiny, monkeypatch, caplog):
    model, tokenizer = tiny
    monkeypatch.setattr(lmcommon.generation, "PROGRESS_EVERY_S", 0.0)  # report after every batch
    with caplog.at_level(logging.INFO, logger="lmcommon.generation"):
        generate_replies(model, tokenizer, ["hello"] * 5, max_new_tokens=2, batch_size=2)
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(" (")[0] for line in lines] == ["generated 2/5 replies", "generated 4/5 replies"]


def test_progress_log_gives_the_rate_since_it_began_and_stays_silent_without_progress(monkeypatch, caplog):
    monkeypatch.setattr(lmcommon.generation, "PROGRESS_EVERY_S", 0.0)
    clock = iter([100.0, 110.0, 120.0, 130.0])
    monkeypatch.setattr(lmcommon.generation.time, "perf_counter", lambda: next(clock))
    progress = ProgressLog(10, "did %d/%d", done=2)  # began at 100 s with 2 items done
    with caplog.at_level(logging.INFO, logger="lmcommon.generation"):
        progress.update(2)  # 110 s, nothing done since the start: no rate, no line (and no division by zero)
        progress.update(6)  # 120 s: 4 items in 20 s = 0.20/s, 4 left = 20 s
        progress.update(10)  # 130 s: over, no line
    assert [r.getMessage() for r in caplog.records] == ["did 6/10 (0.20/s, about 20 s left)"]
