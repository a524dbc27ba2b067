"""A fine-tuned encoder (default: the packaged MiniLM; any BERT-style checkpoint) with a sigmoid per taxonomy node,
trained with binary cross-entropy on the Hugging Face Trainer."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy
import torch
from torch import nn

from htcgen.classify import HierarchyClassifier
from htcgen.taxonomy import Taxonomy


@dataclass
class EncoderConfig:
    """Fine-tuning settings of :class:`EncoderHierarchyClassifier`."""

    model: str = field(default="default", metadata={"help": "'default' (packaged MiniLM), a hub id or a folder"})
    max_length: int = field(default=128, metadata={"help": "tokens per document; the lead carries the label"})
    epochs: float = field(default=12.0, metadata={"help": "passes over the (small) training set"})
    batch_size: int = field(default=16, metadata={"help": "documents per step"})
    learning_rate: float = field(default=1e-4, metadata={"help": "peak learning rate of the encoder"})
    # the head starts from random weights and sees few positives per node (BCE over every node of the taxonomy):
    # at the encoder's rate it stays near "everything is negative" for the few steps a small training set gives
    head_learning_rate: float = field(default=3e-3, metadata={"help": "peak learning rate of the classification head"})
    dropout: float = field(default=0.1, metadata={"help": "dropout on the pooled embedding"})
    seed: int = field(default=0, metadata={"help": "head initialisation and data order"})

    def __post_init__(self) -> None:
        for name in ("max_length", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"EncoderConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.epochs <= 0 or self.learning_rate <= 0 or self.head_learning_rate <= 0:
            raise ValueError(
                "EncoderConfig.epochs, learning_rate and head_learning_rate must be > 0, got "
                f"{self.epochs}, {self.learning_rate}, {self.head_learning_rate}"
            )
        if not 0 <= self.dropout < 1:
            raise ValueError(f"EncoderConfig.dropout must be in [0, 1), got {self.dropout}")


class MultiLabelEncoder(nn.Module):
    """Encoder -> mean pooling over real tokens -> dropout -> one logit per node; BCE loss when labels are given."""

    def __init__(self, encoder: nn.Module, num_labels: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)

    def forward(self, input_ids, attention_mask, labels=None, token_type_ids=None):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)  # (batch, hidden)
        logits = self.head(self.dropout(pooled)).float()  # (batch, num_labels)
        if labels is None:
            return {"logits": logits}
        return {"loss": nn.functional.binary_cross_entropy_with_logits(logits, labels.float()), "logits": logits}


class _Collator:
    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        batch = self.tokenizer.pad(
            [{"input_ids": f["input_ids"], "attention_mask": f["attention_mask"]} for f in features],
            return_tensors="pt",
        )
        batch["labels"] = torch.tensor(numpy.stack([f["labels"] for f in features]), dtype=torch.float32)
        return dict(batch)


class EncoderHierarchyClassifier(HierarchyClassifier):
    """A fine-tuned encoder over every node; decoding keeps predictions consistent with the hierarchy.

    Args:
        taxonomy: the label hierarchy.
        config: fine-tuning settings.
    """

    def __init__(self, taxonomy: Taxonomy, config: EncoderConfig | None = None):
        self.taxonomy = taxonomy
        self.config = config or EncoderConfig()
        self.labels: list[str] = []
        self.loss_history: list[float] = []

    def fit(self, documents: Sequence[dict]) -> EncoderHierarchyClassifier:
        """Fine-tunes the encoder and the head on documents with one label path each."""
        from transformers import Trainer, TrainingArguments, get_linear_schedule_with_warmup

        from lmcommon.device import choose_device
        from lmcommon.models import load_encoder
        from lmcommon.seed import set_seed

        self._check_documents(documents)
        config = self.config
        set_seed(config.seed)
        encoder, self.tokenizer = load_encoder(config.model, dtype=torch.float32, device="cpu")
        order = {label: i for i, label in enumerate(self.taxonomy.labels)}
        self.labels = sorted(
            {label for d in documents for label in d["labels"]}, key=lambda x: (order.get(x, len(order)), x)
        )
        column = {label: i for i, label in enumerate(self.labels)}
        self.model = MultiLabelEncoder(encoder, len(self.labels), config.dropout)
        encoded = self.tokenizer([d["text"] for d in documents], truncation=True, max_length=config.max_length)
        dataset = []
        for i, document in enumerate(documents):
            target = numpy.zeros(len(self.labels), dtype=numpy.float32)
            target[[column[label] for label in document["labels"]]] = 1.0
            dataset.append(
                {
                    "input_ids": encoded["input_ids"][i],
                    "attention_mask": encoded["attention_mask"][i],
                    "labels": target,
                }
            )
        device = choose_device(None)
        with tempfile.TemporaryDirectory(prefix="htcgen-encoder-") as scratch:
            args = TrainingArguments(
                output_dir=scratch,
                num_train_epochs=config.epochs,
                per_device_train_batch_size=config.batch_size,
                learning_rate=config.learning_rate,
                lr_scheduler_type="linear",
                logging_steps=max(1, len(dataset) // config.batch_size),
                save_strategy="no",  # minutes on a few hundred documents; a rerun is cheaper than checkpoints
                seed=config.seed,
                report_to=[],
                remove_unused_columns=False,
                use_cpu=device == "cpu",
                bf16=device == "cuda" and torch.cuda.is_bf16_supported(),
                disable_tqdm=True,
            )
            optimizer = torch.optim.AdamW(
                [
                    {"params": self.model.encoder.parameters(), "lr": config.learning_rate},
                    {"params": self.model.head.parameters(), "lr": config.head_learning_rate},
                ],
                weight_decay=0.0,
            )
            total_steps = math.ceil(math.ceil(len(dataset) / config.batch_size) * config.epochs)
            trainer = Trainer(
                model=self.model,
                args=args,
                train_dataset=dataset,
                data_collator=_Collator(self.tokenizer),
                optimizers=(optimizer, get_linear_schedule_with_warmup(optimizer, 0, total_steps)),
            )
            trainer.train()
        self.loss_history = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
        self.model.eval()
        return self

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> numpy.ndarray:
        """``(len(texts), len(self.labels))`` sigmoid probabilities."""
        if not self.labels:
            raise ValueError("the classifier is not trained; call fit first")
        device = next(self.model.parameters()).device
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = self.tokenizer(
                    list(texts[start : start + batch_size]),
                    truncation=True,
                    max_length=self.config.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(device)
                logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])["logits"]
                chunks.append(torch.sigmoid(logits).cpu().numpy())
        if not chunks:
            return numpy.zeros((0, len(self.labels)), dtype=numpy.float32)
        return numpy.concatenate(chunks)
