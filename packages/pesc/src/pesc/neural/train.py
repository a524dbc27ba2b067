"""Training the neural checker on the Hugging Face Trainer, from benchmark rows or from clean sentences with
errors injected on the fly."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertConfig, BertModel, Trainer, TrainingArguments

from pesc.neural.config import PESCConfig
from pesc.neural.encode import CharVocab, collate, encode_units
from pesc.neural.features import gold_alignment
from pesc.neural.model import PESCModel
from pesc.neural.persist import load_weights, save_pesc

logger = logging.getLogger(__name__)

TINY_BACKBONE = {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 256}


def build_model(config: PESCConfig, texts_for_vocab: Sequence[str] = ()) -> tuple[PESCModel, CharVocab]:
    """A fresh model: ``config.backbone == "tiny"`` builds a small random BERT over a character vocabulary made
    from ``texts_for_vocab``; any other value loads that BERT checkpoint and its vocabulary."""
    if config.backbone == "tiny":
        if not texts_for_vocab:
            raise ValueError("a tiny backbone needs texts to build its character vocabulary from")
        vocab = CharVocab.from_texts(texts_for_vocab)
        backbone_config = BertConfig(
            vocab_size=len(vocab),
            max_position_embeddings=config.max_length + 2,
            pad_token_id=vocab.pad,
            **TINY_BACKBONE,
        )
        return PESCModel(backbone_config, config), vocab
    tokenizer = AutoTokenizer.from_pretrained(config.backbone)
    vocabulary = tokenizer.get_vocab()
    vocab = CharVocab([token for token, _ in sorted(vocabulary.items(), key=lambda item: item[1])])
    backbone = BertModel.from_pretrained(config.backbone, add_pooling_layer=False)
    if config.max_length + 2 > backbone.config.max_position_embeddings:
        raise ValueError(
            f"max_length {config.max_length} does not fit the backbone's "
            f"{backbone.config.max_position_embeddings} positions"
        )
    return PESCModel(backbone.config, config, backbone=backbone), vocab


def encode_rows(rows: Sequence[dict], vocab: CharVocab, config: PESCConfig) -> list[dict]:
    """Training examples from benchmark rows (rows whose edits cannot be aligned are skipped and counted)."""
    examples, skipped = [], 0
    for row in rows:
        aligned = gold_alignment(row)
        if aligned is None:
            skipped += 1
            continue
        units, labels = aligned
        limit = config.max_length
        examples.append(encode_units(units[:limit], vocab, config.max_pinyin_letters, labels[:limit]))
    if skipped:
        logger.warning("%d of %d rows skipped: their pinyin edits do not align with the target", skipped, len(rows))
    return examples


class InjectedDataset(torch.utils.data.Dataset):
    """Clean sentences that get fresh pinyin words and misspellings every time they are drawn."""

    def __init__(self, sentences: Sequence[str], vocab: CharVocab, config: PESCConfig, seed: int = 0):
        from pesc.inject import InjectionConfig

        self.sentences, self.vocab, self.config = list(sentences), vocab, config
        self.injection = InjectionConfig(pinyin_sentence_rate=0.7, spelling_sentence_rate=0.5)
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.sentences)

    def __getitem__(self, index: int) -> dict:
        from pesc.benchmark import Pair, make_row

        sentence = self.sentences[index]
        row = make_row(
            Pair(sentence, sentence, "clean"), "synthetic", str(index), self.injection, self.rng.getrandbits(32)
        )
        aligned = gold_alignment(row) or gold_alignment({**row, "source": sentence, "edits": []})
        units, labels = aligned
        return encode_units(
            units[: self.config.max_length],
            self.vocab,
            self.config.max_pinyin_letters,
            labels[: self.config.max_length],
        )


class PESCTrainer(Trainer):
    """Checkpoints hold the config, vocabulary and safetensors weights, and resume from them."""

    def __init__(self, *args, vocab: CharVocab, **kwargs):
        super().__init__(*args, **kwargs)
        self.vocab = vocab

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        if self.args.should_save:
            save_pesc(self.accelerator.unwrap_model(self.model), self.vocab, output_dir or self.args.output_dir)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model=None) -> None:
        load_weights(self.accelerator.unwrap_model(model if model is not None else self.model), resume_from_checkpoint)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        outputs = model(**inputs)
        return (outputs["loss"], outputs) if return_outputs else outputs["loss"]


def train_pesc(
    model: PESCModel,
    vocab: CharVocab,
    train_data: Sequence[dict] | torch.utils.data.Dataset,
    args: TrainingArguments,
    *,
    eval_data: Sequence[dict] | None = None,
    resume_from_checkpoint: str | bool | None = None,
    save_to: str | Path | None = None,
) -> dict:
    """Trains ``model`` in place on encoded examples (see :func:`encode_rows`) or an :class:`InjectedDataset`, with
    lmcommon's runner.

    Returns:
        :class:`lmcommon.training.TrainingReport` as a dict (steps, tokens, time, losses).
    """
    from lmcommon.training import run_training

    _, report = run_training(
        model,
        args,
        train_data,
        lambda features: collate(features, vocab.pad),
        trainer_class=PESCTrainer,
        resume_from_checkpoint=resume_from_checkpoint,
        save_to=None if save_to is None else str(save_to),
        eval_dataset=eval_data,
        vocab=vocab,
    )
    return report.as_dict()
