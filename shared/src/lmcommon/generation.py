"""Batched chat-formatted generation with a causal LM."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


logger = logging.getLogger(__name__)
PROGRESS_EVERY_S = 30.0  # a progress line at most this often: long scoring and sampling runs are not silent


class ProgressLog:
    """A progress line for a long run of ``total`` items, at most every :data:`PROGRESS_EVERY_S`: ``message`` (with
    ``%d`` for the items done and for ``total``), the rate since the log began at ``done`` items, and the time left."""

    def __init__(self, total: int, message: str, *, done: int = 0, log: logging.Logger = logger) -> None:
        self.total, self.message, self.first, self.log = total, message, done, log
        self.started = self.last_report = time.perf_counter()

    def update(self, done: int) -> None:
        """Says how far the run is, unless a line was logged less than :data:`PROGRESS_EVERY_S` ago, it is over, or
        nothing was done since the log began (no rate to give)."""
        now = time.perf_counter()
        if now - self.last_report < PROGRESS_EVERY_S or done >= self.total or done <= self.first:
            return
        rate = (done - self.first) / (now - self.started)
        left = (self.total - done) / rate
        self.log.info(f"{self.message} (%.2f/s, about %.0f s left)", done, self.total, rate, left)
        self.last_report = now


def format_chat_prompt(tokenizer: PreTrainedTokenizerBase, prompt: str) -> str:
    """The prompt as the model expects it: the tokenizer's chat template with a generation prompt when it has
    one, else the prompt followed by a newline."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
    return prompt + "\n"


def generate_replies(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 64,
    batch_size: int = 8,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    logits_processors=None,
    report_progress: bool = True,
) -> list[str]:
    """Generates one reply per prompt, in batches, greedy unless ``do_sample``.

    Prompts are chat-formatted (see :func:`format_chat_prompt`) and left-padded so that every row of a batch
    continues from its own last token; the KV cache is used. Greedy decoding batches prompts of similar token
    lengths together (less padding to run through the model; the replies come back in the order of ``prompts``);
    sampling keeps the given order, so that a seed reproduces the same samples. ``logits_processors(indices,
    prompt_length)``, when given, returns the transformers logits processors for the batch of
    ``[prompts[i] for i in indices]`` whose padded prompts are ``prompt_length`` tokens long (what a per-prompt
    processor needs to tell prompt from reply). ``report_progress`` logs a :class:`ProgressLog`; a caller that
    calls this per chunk logs its own.

    Returns:
        The decoded replies without the prompts and special tokens, stripped, in the order of ``prompts``.
    """
    import torch

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = next(model.parameters()).device
    texts = [format_chat_prompt(tokenizer, p) for p in prompts]
    order = list(range(len(texts)))
    if not do_sample:
        # the chat template already holds the special tokens
        lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []
        order.sort(key=lengths.__getitem__)
    replies: list[str | None] = [None] * len(texts)
    done = 0
    progress = ProgressLog(len(texts), "generated %d/%d replies") if report_progress else None
    padding_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            batch = tokenizer(
                [texts[i] for i in indices], return_tensors="pt", padding=True, add_special_tokens=False
            ).to(device)
            sampling = {"temperature": temperature, "top_p": top_p} if do_sample else {}
            if logits_processors is not None:
                from transformers import LogitsProcessorList

                processors = logits_processors(indices, batch["input_ids"].shape[1])
                sampling["logits_processor"] = LogitsProcessorList(processors)
            with torch.inference_mode():
                output = model.generate(
                    **batch,
                    max_new_tokens=max_new_tokens,
                    pad_token_id=tokenizer.pad_token_id,
                    do_sample=do_sample,
                    **sampling,
                )
            new_tokens = output[:, batch["input_ids"].shape[1] :]
            for i, text in zip(indices, tokenizer.batch_decode(new_tokens, skip_special_tokens=True), strict=True):
                replies[i] = text.strip()
            done += len(indices)
            if progress is not None:
                progress.update(done)
    finally:
        tokenizer.padding_side = padding_side
    return replies
