"""The conditioned generator: a causal LM fine-tuned with peft LoRA on prompt (label path + phrases) ->
document, and sampling from it with target paths that favour rare classes and fresh phrase subsets."""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from htcgen.prompts import build_prompt, contrast_labels, path_phrases, training_pairs
from htcgen.resume_file import read_resume_file, resume_path, run_fingerprint
from htcgen.taxonomy import Taxonomy
from lmcommon.data import append_jsonl, read_dataclass, read_jsonl, write_json, write_jsonl
from lmcommon.generation import ProgressLog
from lmcommon.models import DECODER_PROJECTIONS

logger = logging.getLogger(__name__)

LORA_TARGETS = DECODER_PROJECTIONS


@dataclass(frozen=True)
class GeneratorSettings:
    """How a generator is fine-tuned and sampled; the help texts are the command line's (``train-generator``)."""

    model: str = field(
        default="default",
        metadata={"help": "causal LM: 'default' (packaged SmolLM2-135M-Instruct), a name or a folder"},
    )
    epochs: float = field(default=2.0, metadata={"help": "passes over the training pairs"})
    batch_size: int = field(default=4, metadata={"help": "training pairs per device per step"})
    learning_rate: float = field(default=3e-4, metadata={"help": "peak learning rate of the LoRA weights"})
    max_length: int = field(default=256, metadata={"help": "tokens per training pair (prompt + document)"})
    rank: int = field(default=16, metadata={"help": "LoRA rank"})
    max_phrases: int = field(default=5, metadata={"help": "phrases per prompt at most"})
    phrase_labels: int | None = field(
        default=None,
        metadata={
            "help": "offer only the phrases of the path's N deepest labels that have phrases, in training and "
            "generation (default: every label; upper labels' phrases are shared by every path under them)"
        },
    )
    lead_words: int | None = field(
        default=None,
        metadata={
            "help": "train on each document's first sentences within this many words, offering only their phrases "
            "(match it to the length you generate: about 80 words for 128 new tokens)"
        },
    )
    max_new_tokens: int = field(default=128, metadata={"help": "tokens per generated document"})
    temperature: float = field(default=0.9, metadata={"help": "sampling temperature"})
    top_p: float = field(default=0.95, metadata={"help": "nucleus sampling mass"})
    generation_batch_size: int = field(default=16, metadata={"help": "prompts sampled at once"})
    contrast_siblings: int = field(
        default=0,
        metadata={
            "help": "name up to N sibling labels of the path's deepest label in each prompt as what the document is "
            "not about, in training and generation (0: off)"
        },
    )
    phrase_boost: float = field(
        default=0.0,
        metadata={
            "help": "added to the logit of the next token of each prompted phrase not yet written "
            "(htcgen.phrase_boost; 0: off)"
        },
    )


SETTINGS_FILE = "htcgen_generator.json"  # beside the adapter: what it was trained with


def save_settings(folder: str | Path, settings: GeneratorSettings) -> Path:
    """Writes ``settings`` beside an adapter, so that generating with it needs no flags repeated."""
    path = Path(folder) / SETTINGS_FILE
    write_json(path, asdict(settings))
    return path


def load_settings(folder: str | Path | None) -> GeneratorSettings | None:
    """The settings an adapter folder was trained with, or None (no folder, or an adapter trained elsewhere)."""
    if folder is None or not (Path(folder) / SETTINGS_FILE).is_file():
        return None
    return read_dataclass(Path(folder) / SETTINGS_FILE, GeneratorSettings)


def add_lora(model, rank: int = 16, alpha: float = 32.0, dropout: float = 0.05, targets: Sequence[str] = LORA_TARGETS):
    """The model wrapped with a trainable peft LoRA adapter; the base weights stay frozen."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(targets), task_type="CAUSAL_LM"
    )
    return get_peft_model(model, config)


def train_generator(
    model,
    tokenizer,
    pairs: Sequence[dict],
    args,
    *,
    max_length: int = 512,
    resume_from_checkpoint: str | bool | None = None,
    save_to: str | None = None,
    save_also: Callable[[Path], None] | None = None,
) -> dict:
    """Fine-tunes ``model`` (a peft model, see :func:`add_lora`) on ``{"prompt", "response"}`` pairs with the
    loss on the document only, with lmcommon's runner (checkpoints resume; ``accelerate launch`` scales it).
    ``save_also`` writes more files into the saved adapter's set (see :func:`lmcommon.training.run_training`).

    Returns:
        :class:`lmcommon.training.TrainingReport` as a dict (steps, tokens, time, losses).
    """
    from lmcommon.sft import ChatCollator, tokenize_rows
    from lmcommon.training import run_training

    examples = tokenize_rows(tokenizer, pairs, max_length)
    _, report = run_training(
        model,
        args,
        examples,
        ChatCollator(tokenizer.pad_token_id),
        resume_from_checkpoint=resume_from_checkpoint,
        save_to=save_to,
        save_also=save_also,
    )
    return report.as_dict()


def fit_generator(
    documents: Sequence[dict],
    phrase_table: dict,
    settings: GeneratorSettings,
    training_args,
    *,
    mode: str | Sequence[str],
    seed: int,
    save_to: str | Path,
    taxonomy: Taxonomy | None = None,
    resume_from_checkpoint: str | bool | None = None,
) -> dict:
    """The whole fine-tune of ``train-generator`` and of an experiment cell: training pairs of ``documents`` in
    ``mode`` (see :func:`htcgen.prompts.training_pairs`), ``settings.model`` with a LoRA adapter drawn from
    ``seed``, :func:`train_generator` with ``training_args``, and the adapter saved to ``save_to`` with the
    settings that ``generate --adapter`` reads back.

    Returns:
        The training report (:func:`train_generator`) with ``pairs``, the number of training pairs.
    """
    from lmcommon.models import load_causal_lm
    from lmcommon.seed import set_seed

    pairs = training_pairs(
        documents,
        phrase_table,
        max_phrases=settings.max_phrases,
        mode=mode,
        lead_words=settings.lead_words,
        phrase_labels=settings.phrase_labels,
        seed=seed,
        taxonomy=taxonomy,
        contrast_siblings=settings.contrast_siblings,
    )
    model, tokenizer = load_causal_lm(settings.model, device="cpu")  # the Trainer places it
    set_seed(seed)  # the LoRA weights are drawn here, before the Trainer seeds: whatever ran before in the process
    model = add_lora(model, rank=settings.rank)
    metrics = train_generator(
        model,
        tokenizer,
        pairs,
        training_args,
        max_length=settings.max_length,
        resume_from_checkpoint=resume_from_checkpoint,
        save_to=str(save_to),
        save_also=lambda folder: save_settings(folder, settings),  # the settings belong to the adapter's set
    )
    return {"pairs": len(pairs), **metrics}


def rare_path_weights(documents: Sequence[dict]) -> dict[tuple[str, ...], float]:
    """Sampling weight of each label path seen in training, inversely proportional to its document count."""
    counts = Counter(tuple(d["labels"]) for d in documents)
    return {path: 1.0 / count for path, count in counts.items()}


def generation_request(
    path: Sequence[str],
    phrase_table: dict,
    mode: str,
    max_phrases: int,
    rng: random.Random,
    phrase_labels: int | None = None,
    taxonomy: Taxonomy | None = None,
    contrast_siblings: int = 0,
) -> dict:
    """``{"labels", "phrases", "prompt"}`` for one document of ``path``: unless ``mode`` is "path", a random
    subset (1 to ``max_phrases``) of the phrases mined for the labels on the path (its ``phrase_labels`` deepest
    ones with phrases, when given), drawn with ``rng``; with ``contrast_siblings``, up to that many siblings of
    the deepest label named as what the document is not about (:func:`htcgen.prompts.contrast_labels`)."""
    pool = path_phrases(path, phrase_table, phrase_labels)
    phrases = rng.sample(pool, rng.randint(1, min(max_phrases, len(pool)))) if pool and mode != "path" else []
    contrast = contrast_labels(path, taxonomy, contrast_siblings, rng)
    return {"labels": list(path), "phrases": phrases, "prompt": build_prompt(path, phrases, mode, contrast)}


def plan_samples(
    documents: Sequence[dict],
    phrase_table: dict,
    num: int,
    *,
    max_phrases: int = 5,
    phrase_labels: int | None = None,
    mode: str = "full",
    seed: int = 0,
    taxonomy: Taxonomy | None = None,
    contrast_siblings: int = 0,
    target_depth: int | None = None,
) -> list[dict]:
    """``num`` generation requests: a target path drawn by :func:`rare_path_weights` and a random subset of its
    labels' phrases (see :func:`generation_request`; ``taxonomy`` and ``contrast_siblings`` name siblings to
    contrast). Each request: ``{"labels", "phrases", "prompt"}``.

    ``target_depth``: the documents' paths go deeper than the labels wanted. Paths are drawn at that depth, as
    without it, and each request names the whole path of one of the drawn path's documents (chosen at random),
    so that the prompt carries every level's label text; its ``labels`` are still the whole path (cut them to
    ``target_depth`` for a classifier of that depth)."""
    if num < 0:
        raise ValueError(f"num must be >= 0, got {num}")
    if target_depth is not None and target_depth < 1:
        raise ValueError(f"target_depth must be >= 1, got {target_depth}")
    targets = documents if target_depth is None else [{**d, "labels": d["labels"][:target_depth]} for d in documents]
    weights = rare_path_weights(targets)
    if not weights:
        raise ValueError("no training documents to take label paths from")
    paths = sorted(weights)
    deeper: dict[tuple[str, ...], set[tuple[str, ...]]] = {}  # each target path's whole paths
    if target_depth is not None:
        for document, target in zip(documents, targets, strict=True):
            deeper.setdefault(tuple(target["labels"]), set()).add(tuple(document["labels"]))
    rng = random.Random(seed)
    requests = []
    for path in rng.choices(paths, [weights[p] for p in paths], k=num):
        if target_depth is not None:
            path = rng.choice(sorted(deeper[path]))
        requests.append(
            generation_request(path, phrase_table, mode, max_phrases, rng, phrase_labels, taxonomy, contrast_siblings)
        )
    return requests


def generate_documents(
    model,
    tokenizer,
    requests: Sequence[dict],
    *,
    max_new_tokens: int = 200,
    temperature: float = 0.9,
    top_p: float = 0.95,
    batch_size: int = 8,
    phrase_boost: float = 0.0,
    report_progress: bool = True,
) -> list[dict]:
    """Samples one document per request (batched, with the KV cache); returns the requests with ``text``. With
    ``phrase_boost`` > 0, each request's ``phrases`` are raised while it is sampled
    (:class:`htcgen.phrase_boost.PhraseBoostLogitsProcessor`); ``report_progress`` as
    :func:`lmcommon.generation.generate_replies` takes it."""
    from lmcommon.generation import generate_replies

    processors = None
    if phrase_boost > 0:
        from htcgen.phrase_boost import PhraseBoostLogitsProcessor, phrase_token_ids

        phrase_ids = [phrase_token_ids(tokenizer, r.get("phrases", [])) for r in requests]

        def processors(indices, prompt_length):
            return [PhraseBoostLogitsProcessor([phrase_ids[i] for i in indices], prompt_length, phrase_boost)]

    texts = generate_replies(
        model,
        tokenizer,
        [r["prompt"] for r in requests],
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        do_sample=True,
        temperature=temperature,
        top_p=top_p,
        logits_processors=processors,
        report_progress=report_progress,
    )
    return [{**request, "text": text} for request, text in zip(requests, texts, strict=True)]


def load_generator(
    model: str = "default", adapter: str | Path | None = None, device: str | None = None, merge: bool = True
):
    """The base causal LM with the LoRA adapter from :func:`train_generator` on it (``None``: the bare model).

    With ``merge`` (the default; the model is only sampled from) the adapter is folded into the base weights, as
    peft's ``merge_and_unload``: the same outputs to float rounding, without a LoRA branch to run in every adapted
    layer for every token decoded."""
    from lmcommon.models import load_causal_lm

    base, tokenizer = load_causal_lm(model, device=device)
    if adapter is None:
        return base, tokenizer
    from peft import PeftModel

    from lmcommon.errors import reading_saved_file

    with reading_saved_file(adapter):
        tuned = PeftModel.from_pretrained(base, str(adapter))
    return (tuned.merge_and_unload() if merge else tuned).eval(), tokenizer


CHUNK_BATCHES = 4  # generation batches between two appends to a resume file: what a killed run samples again


def sample_documents(
    requests: Sequence[dict],
    settings: GeneratorSettings,
    adapter: str | Path | None = None,
    *,
    device: str | None = None,
    seed: int = 0,
    resume_file: str | Path | None = None,
) -> tuple[list[dict], int]:
    """Loads the generator (``settings.model`` + ``adapter``) and samples one document per request with the
    settings' sampling options; returns the non-empty samples and how many came out empty (end of text drawn
    first), since later readers reject empty documents.

    The requests are sampled in chunks of :data:`CHUNK_BATCHES` batches, each chunk from its own seed (``seed``
    and the chunk's first request), so a chunk's samples do not depend on how the ones before it were drawn. With
    ``resume_file`` (JSONL), every chunk is appended to it as soon as it is sampled, and the chunks it already holds
    for the same prompts are read back instead: a killed run starts again where it stopped. Deleting the file is
    the caller's, once the samples are saved."""
    chunk_size = settings.generation_batch_size * CHUNK_BATCHES
    samples = []
    if resume_file is not None:
        run = run_fingerprint(asdict(settings), adapter, seed, chunk_size)
        samples = read_resume_file(Path(resume_file), requests, chunk_size, run)
    if len(samples) < len(requests):
        samples += _sample_chunks(requests, samples, chunk_size, settings, adapter, device, seed, resume_file)
    kept = [s for s in samples if s["text"].strip()]
    return kept, len(samples) - len(kept)


def _sample_chunks(requests, done, chunk_size, settings, adapter, device, seed, resume_file) -> list[dict]:
    """Samples the requests after the first ``len(done)``, chunk by chunk (see :func:`sample_documents`)."""
    from lmcommon.seed import keyed_random, set_seed

    model, tokenizer = load_generator(settings.model, adapter, device=device)
    sampled: list[dict] = []
    progress = ProgressLog(len(requests), "sampled %d/%d documents", done=len(done), log=logger)
    for start in range(len(done), len(requests), chunk_size):
        set_seed(keyed_random(seed, f"chunk-{start}").randrange(2**31))
        chunk = generate_documents(
            model,
            tokenizer,
            requests[start : start + chunk_size],
            max_new_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
            top_p=settings.top_p,
            batch_size=settings.generation_batch_size,
            phrase_boost=settings.phrase_boost,
            report_progress=False,
        )
        if resume_file is not None:
            append_jsonl(Path(resume_file), chunk)
        sampled += chunk
        progress.update(len(done) + len(sampled))
    return sampled


def sample_to_file(
    path: str | Path,
    requests: Sequence[dict],
    settings: GeneratorSettings,
    adapter: str | Path | None,
    *,
    device: str | None = None,
    seed: int = 0,
) -> tuple[list[dict], int]:
    """:func:`sample_documents` written to the JSONL ``path`` (replacing it), as ``(kept, empty)``. Until the samples
    are complete they accumulate in :func:`htcgen.resume_file.resume_path` of ``path``, so a killed run resumes."""
    resume_file = resume_path(path)
    started = time.perf_counter()
    kept, empty = sample_documents(requests, settings, adapter, device=device, seed=seed, resume_file=resume_file)
    logger.info("%s: %d samples in %.0f s (%d empty dropped)", path, len(kept), time.perf_counter() - started, empty)
    write_jsonl(path, kept)
    resume_file.unlink(missing_ok=True)
    return kept, empty


def generate_to_file(
    path: str | Path, requests: Sequence[dict], settings: GeneratorSettings, adapter: str | Path | None, seed: int = 0
) -> list[dict]:
    """:func:`sample_to_file`, or the samples read back from ``path`` when it exists."""
    if Path(path).is_file():
        return read_jsonl(path)
    return sample_to_file(path, requests, settings, adapter, seed=seed)[0]
