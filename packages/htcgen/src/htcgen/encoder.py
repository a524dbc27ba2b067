"""A fine-tuned encoder (default: the packaged MiniLM; any BERT-style checkpoint) with a softmax head per level,
trained with cross-entropy on the Hugging Face Trainer, and saved or loaded as one folder."""

from __future__ import annotations

import copy
import math
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy
import torch
from torch import nn

from htcgen.classify import HierarchyClassifier
from htcgen.levels import LevelCoding, softmax
from htcgen.taxonomy import Taxonomy

CONFIG_FILE = "htcgen_classifier.json"
HEAD_FILE = "head.pt"


@dataclass
class EncoderConfig:
    """Fine-tuning settings of :class:`EncoderHierarchyClassifier`."""

    model: str = field(default="default", metadata={"help": "'default' (packaged MiniLM), a hub id or a folder"})
    max_length: int = field(default=128, metadata={"help": "tokens per document; the lead carries the label"})
    epochs: float = field(default=12.0, metadata={"help": "passes over the training set"})
    # a hundred documents are 7 steps per epoch: without a floor, k = 1 trains for under a hundred steps and the
    # model stays near the class priors
    min_steps: int = field(default=300, metadata={"help": "optimizer steps at least, whatever the epochs give"})
    batch_size: int = field(default=16, metadata={"help": "documents per step"})
    learning_rate: float = field(default=5e-5, metadata={"help": "peak learning rate of the encoder"})
    # the head starts from random weights and sees a handful of documents per class: at the encoder's rate it
    # stays near the priors for the few hundred steps a small training set gives
    head_learning_rate: float = field(default=3e-3, metadata={"help": "peak learning rate of the classification head"})
    balanced: bool = field(default=True, metadata={"help": "weigh each class by the inverse of its frequency"})
    dropout: float = field(default=0.1, metadata={"help": "dropout on the pooled embedding"})
    seed: int = field(default=0, metadata={"help": "head initialisation and data order"})

    def __post_init__(self) -> None:
        for name in ("max_length", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"EncoderConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.min_steps < 0:
            raise ValueError(f"EncoderConfig.min_steps must be >= 0, got {self.min_steps}")
        if self.epochs <= 0 or self.learning_rate <= 0 or self.head_learning_rate <= 0:
            raise ValueError(
                "EncoderConfig.epochs, learning_rate and head_learning_rate must be > 0, got "
                f"{self.epochs}, {self.learning_rate}, {self.head_learning_rate}"
            )
        if not 0 <= self.dropout < 1:
            raise ValueError(f"EncoderConfig.dropout must be in [0, 1), got {self.dropout}")


class LevelSoftmaxEncoder(nn.Module):
    """Encoder -> mean pooling over real tokens -> dropout -> one logit per class of every level; the loss is the sum
    over levels of each level's (optionally class-weighted) cross-entropy."""

    def __init__(self, encoder: nn.Module, level_sizes: Sequence[int], dropout: float = 0.1, class_weights=None):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.level_sizes = list(level_sizes)
        self.head = nn.Linear(encoder.config.hidden_size, sum(self.level_sizes))
        # per level, a weight per class (None: unweighted); a buffer so it follows the model to its device
        weights = torch.cat(class_weights) if class_weights is not None else torch.ones(sum(self.level_sizes))
        self.register_buffer("class_weights", weights, persistent=False)

    def forward(self, input_ids, attention_mask, labels=None, token_type_ids=None):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)  # (batch, hidden)
        logits = self.head(self.dropout(pooled)).float()  # (batch, classes of every level)
        if labels is None:
            return {"logits": logits}
        loss = logits.new_zeros(())
        for level, (scores, weights) in enumerate(
            zip(logits.split(self.level_sizes, dim=1), self.class_weights.split(self.level_sizes), strict=True)
        ):
            loss = loss + nn.functional.cross_entropy(scores, labels[:, level], weight=weights)
        return {"loss": loss, "logits": logits}


class _Collator:
    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        batch = self.tokenizer.pad(
            [{"input_ids": f["input_ids"], "attention_mask": f["attention_mask"]} for f in features],
            return_tensors="pt",
        )
        batch["labels"] = torch.tensor(numpy.stack([f["labels"] for f in features]), dtype=torch.long)
        return dict(batch)


def balanced_weights(indices: numpy.ndarray, level_sizes: Sequence[int]) -> list[torch.Tensor]:
    """Per level, ``n / (classes * count)`` for each class seen (sklearn's "balanced"), so that every class weighs as
    much in the loss as the others together weigh per class."""
    weights = []
    for level, size in enumerate(level_sizes):
        counts = numpy.bincount(indices[:, level], minlength=size).astype(numpy.float64)
        present = counts > 0
        level_weights = numpy.zeros(size)
        level_weights[present] = len(indices) / (present.sum() * counts[present])
        weights.append(torch.tensor(level_weights, dtype=torch.float32))
    return weights


def _keep_best_on_dev(classifier: EncoderHierarchyClassifier, dev: Sequence[dict], every: int):
    """A Trainer callback that every ``every`` steps (and at the end) scores ``dev`` and keeps, in ``best_state``, a
    copy of the weights with the best micro-F1 (early stopping without checkpoints on disk)."""
    from transformers import TrainerCallback

    from htcgen.metrics import hierarchical_f1

    class KeepBest(TrainerCallback):
        best_score, best_state = -1.0, None

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step % every and state.global_step != state.max_steps:
                return
            classifier.model.eval()
            predicted = classifier.predict([d["text"] for d in dev])
            classifier.model.train()
            score = hierarchical_f1([d["labels"] for d in dev], predicted, classifier.taxonomy)["micro_f1"]
            classifier.dev_history.append(score)
            if score >= self.best_score:  # on a tie the later weights, trained longer, are kept
                self.best_score, self.best_state = score, copy.deepcopy(classifier.model.state_dict())

    return KeepBest()


class EncoderHierarchyClassifier(HierarchyClassifier):
    """A fine-tuned encoder with a softmax over each level's classes; decoding keeps paths consistent.

    Args:
        taxonomy: the label hierarchy.
        config: fine-tuning settings.
    """

    def __init__(self, taxonomy: Taxonomy, config: EncoderConfig | None = None):
        self.taxonomy = taxonomy
        self.config = config or EncoderConfig()
        self.labels: list[str] = []
        self.loss_history: list[float] = []
        self.dev_history: list[float] = []

    def fit(self, documents: Sequence[dict], dev: Sequence[dict] = ()) -> EncoderHierarchyClassifier:
        """Fine-tunes the encoder and the head on documents with one label path each.

        Args:
            documents: the training documents.
            dev: held-out documents; when given, they are scored ten times during training and the weights with
                the best dev micro-F1 are kept.
        """
        from transformers import TrainingArguments, get_linear_schedule_with_warmup

        from lmcommon.device import choose_device
        from lmcommon.models import load_encoder
        from lmcommon.seed import set_seed
        from lmcommon.training import mixed_precision, run_training

        self._check_documents(documents)
        config = self.config
        set_seed(config.seed)
        encoder, self.tokenizer = load_encoder(config.model, dtype=torch.float32, device="cpu")
        self.coding = LevelCoding(documents, self.taxonomy)
        self.labels = self.coding.labels
        targets = self.coding.indices(documents)
        sizes = [len(level) for level in self.coding.classes]
        weights = balanced_weights(targets, sizes) if config.balanced else None
        self.model = LevelSoftmaxEncoder(encoder, sizes, config.dropout, weights)
        encoded = self.tokenizer([d["text"] for d in documents], truncation=True, max_length=config.max_length)
        dataset = [
            {"input_ids": ids, "attention_mask": mask, "labels": target}
            for ids, mask, target in zip(encoded["input_ids"], encoded["attention_mask"], targets, strict=True)
        ]
        steps_per_epoch = math.ceil(len(dataset) / config.batch_size)
        epochs = max(config.epochs, config.min_steps / steps_per_epoch)
        total_steps = math.ceil(steps_per_epoch * epochs)
        keep_best = _keep_best_on_dev(self, dev, every=max(1, total_steps // 10)) if dev else None
        device = choose_device(None)
        with tempfile.TemporaryDirectory(prefix="htcgen-encoder-") as scratch:
            args = TrainingArguments(
                output_dir=scratch,
                num_train_epochs=epochs,
                per_device_train_batch_size=config.batch_size,
                learning_rate=config.learning_rate,
                logging_steps=steps_per_epoch,
                save_strategy="no",  # minutes on a few hundred documents; a rerun is cheaper than checkpoints
                seed=config.seed,
                report_to=[],
                use_cpu=device == "cpu",
                disable_tqdm=True,
                **mixed_precision(device),
            )
            optimizer = torch.optim.AdamW(
                [
                    {"params": self.model.encoder.parameters(), "lr": config.learning_rate},
                    {"params": self.model.head.parameters(), "lr": config.head_learning_rate},
                ],
                weight_decay=0.0,
            )
            warmup = total_steps // 10
            _, report = run_training(
                self.model,
                args,
                dataset,
                _Collator(self.tokenizer),
                optimizers=(optimizer, get_linear_schedule_with_warmup(optimizer, warmup, total_steps)),
                callbacks=[keep_best] if keep_best else None,
            )
        self.loss_history = report.losses
        if keep_best and keep_best.best_state is not None:
            self.model.load_state_dict(keep_best.best_state)
        self.model.eval()
        return self

    def level_probabilities(self, texts: Sequence[str], batch_size: int = 64) -> list[numpy.ndarray]:
        """Per level, ``(len(texts), len(coding.classes[level]))`` softmax probabilities."""
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
                chunks.append(logits.cpu().numpy())
        logits = numpy.concatenate(chunks) if chunks else numpy.zeros((0, sum(self.model.level_sizes)))
        return [softmax(part) for part in numpy.split(logits, numpy.cumsum(self.model.level_sizes)[:-1], axis=1)]

    # -- persistence ----------------------------------------------------------------------------------------
    def save_pretrained(self, folder: str | Path) -> None:
        """Writes the encoder and tokenizer (Hugging Face format), the head, the classes of each level, the
        taxonomy and the settings to ``folder``; :meth:`from_pretrained` reads them back."""
        if not self.labels:
            raise ValueError("the classifier is not trained; call fit first")
        from lmcommon.outputs import replace_folder

        with replace_folder(folder) as staging:  # swapped in whole: a killed save leaves the classifier that was there
            self._write(staging)

    def _write(self, folder: Path) -> None:
        from lmcommon.data import write_json

        self.model.encoder.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        torch.save(self.model.head.state_dict(), folder / HEAD_FILE)
        write_json(
            folder / CONFIG_FILE,
            {
                "config": asdict(self.config),
                "levels": self.coding.as_dict(),
                "taxonomy": {"root": self.taxonomy.root, "children": self.taxonomy.children},
            },
        )

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str | None = None) -> EncoderHierarchyClassifier:
        """Loads a classifier written by :meth:`save_pretrained`.

        Raises:
            FileNotFoundError: ``folder`` holds no saved classifier (names the file looked for).
        """
        from lmcommon.data import read_json
        from lmcommon.errors import DataError, reading_saved_file
        from lmcommon.models import load_encoder

        folder = Path(folder)
        settings_file = folder / CONFIG_FILE
        if not settings_file.is_file():
            raise FileNotFoundError(f"{settings_file}: no saved htcgen classifier here (written by save_pretrained)")
        saved = read_json(settings_file)
        try:  # a hand-edited file: one line naming it, not a KeyError from deep inside
            taxonomy = Taxonomy(saved["taxonomy"]["children"], root=saved["taxonomy"]["root"])
            classifier = cls(taxonomy, EncoderConfig(**{**saved["config"], "model": str(folder)}))
            classifier.coding = LevelCoding.from_dict(saved["levels"])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            reason = f"{type(error).__name__}: {error}"
            raise DataError(f"not a saved htcgen classifier ({reason})", path=settings_file) from None
        classifier.labels = classifier.coding.labels
        with reading_saved_file(folder):
            encoder, classifier.tokenizer = load_encoder(folder, dtype=torch.float32, device=device)
        sizes = [len(level) for level in classifier.coding.classes]
        classifier.model = LevelSoftmaxEncoder(encoder, sizes, classifier.config.dropout)
        with reading_saved_file(folder / HEAD_FILE):
            head = torch.load(folder / HEAD_FILE, map_location="cpu", weights_only=True)
        expected = classifier.model.head.state_dict()
        for name, tensor in head.items() if isinstance(head, dict) else []:
            if name in expected and tuple(tensor.shape) != tuple(expected[name].shape):
                raise DataError(
                    f"lists {sum(sizes)} classes over its levels {sizes}, but the saved head {HEAD_FILE} has "
                    f"shape {tuple(tensor.shape)} for {name}: the class lists were edited after training",
                    path=settings_file,
                )
        try:
            classifier.model.head.load_state_dict(head)
        except (RuntimeError, TypeError, AttributeError) as error:
            raise DataError(f"does not fit the classifier ({error})", path=folder / HEAD_FILE) from None
        classifier.model.to(next(encoder.parameters()).device).eval()
        return classifier


def load_or_train_encoder(
    folder: str | Path, documents: Sequence[dict], taxonomy: Taxonomy, **config_fields: Any
) -> EncoderHierarchyClassifier:
    """The encoder classifier saved in ``folder`` by an earlier call, or one trained on ``documents`` (with
    :class:`EncoderConfig` ``config_fields``) and saved there. A marker file written after the save says the folder
    is complete, so an interrupted save is trained again rather than read half-written."""
    folder = Path(folder)
    complete = folder / "training-complete"
    if complete.is_file():
        return EncoderHierarchyClassifier.from_pretrained(folder)
    classifier = EncoderHierarchyClassifier(taxonomy, EncoderConfig(**config_fields)).fit(documents)
    classifier.save_pretrained(folder)
    complete.write_text(f"trained on {len(documents)} documents\n", encoding="utf-8")
    return classifier
