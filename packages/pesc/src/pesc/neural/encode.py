"""The character vocabulary and turning units into model tensors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from pesc.neural.features import IGNORE_INDEX, LETTERS, Unit

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
VOCAB_NAME = "vocab.txt"


class CharVocab:
    """Token <-> id, in the BERT ``vocab.txt`` format (one token per line, the line number is the id)."""

    def __init__(self, tokens: Sequence[str]):
        self.tokens = list(tokens)
        self.ids = {token: i for i, token in enumerate(self.tokens)}
        missing = [t for t in SPECIAL_TOKENS if t not in self.ids]
        if missing:
            raise ValueError(f"vocabulary lacks the special tokens {missing}")
        self.pad, self.unk, self.cls, self.sep, self.mask = (self.ids[t] for t in SPECIAL_TOKENS)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.ids

    def id(self, token: str) -> int:
        return self.ids.get(token, self.unk)

    def save(self, directory: str | Path) -> None:
        from lmcommon.data import atomic_write

        with atomic_write(Path(directory) / VOCAB_NAME) as handle:
            handle.write("\n".join(self.tokens) + "\n")

    @classmethod
    def load(cls, directory: str | Path) -> CharVocab:
        path = Path(directory) / VOCAB_NAME
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing; is {directory} a trained pesc model?")
        return cls(path.read_text(encoding="utf-8").split("\n")[:-1])

    @classmethod
    def from_texts(cls, texts: Iterable[str], min_count: int = 1) -> CharVocab:
        """A vocabulary of the characters of ``texts`` (most frequent first), for a tiny backbone."""
        counts = Counter(ch for text in texts for ch in text if not ch.isspace())
        return cls(
            [*SPECIAL_TOKENS, *(ch for ch, n in counts.most_common() if n >= min_count and ch not in SPECIAL_TOKENS)]
        )


def encode_units(
    units: Sequence[Unit], vocab: CharVocab, max_letters: int, labels: Sequence[str] | None = None
) -> dict[str, list]:
    """Model inputs for one unit sequence wrapped in [CLS] ... [SEP]; with ``labels`` (the target character per
    unit, "" for copied units) also the correction and detection targets."""
    input_ids = [vocab.cls]
    letters = [[0] * max_letters]
    for unit in units:
        input_ids.append(vocab.mask if unit.kind == "slot" else vocab.id(unit.text))
        row = [LETTERS.index(c) + 1 for c in unit.pinyin[:max_letters] if c in LETTERS]
        letters.append(row + [0] * (max_letters - len(row)))
    input_ids.append(vocab.sep)
    letters.append([0] * max_letters)
    encoded = {"input_ids": input_ids, "letter_ids": letters, "attention_mask": [1] * len(input_ids)}
    if labels is not None:
        targets, wrong = [IGNORE_INDEX], [IGNORE_INDEX]
        for unit, label in zip(units, labels, strict=True):
            if not label or label not in vocab:
                targets.append(IGNORE_INDEX)
                wrong.append(IGNORE_INDEX)
            else:
                targets.append(vocab.id(label))
                wrong.append(int(unit.kind == "slot" or label != unit.text))
        encoded["labels"] = [*targets, IGNORE_INDEX]
        encoded["detection_labels"] = [*wrong, IGNORE_INDEX]
    return encoded


def collate(features: list[dict[str, list]], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Right-pads a batch: ids with ``pad_id``, letters and the mask with 0, targets with IGNORE_INDEX."""
    width = max(len(f["input_ids"]) for f in features)
    letters = len(features[0]["letter_ids"][0])
    batch = {
        "input_ids": torch.tensor([f["input_ids"] + [pad_id] * (width - len(f["input_ids"])) for f in features]),
        "letter_ids": torch.tensor(
            [f["letter_ids"] + [[0] * letters] * (width - len(f["letter_ids"])) for f in features]
        ),
        "attention_mask": torch.tensor(
            [f["attention_mask"] + [0] * (width - len(f["attention_mask"])) for f in features]
        ),
    }
    for key in ("labels", "detection_labels"):
        if key in features[0]:
            batch[key] = torch.tensor([f[key] + [IGNORE_INDEX] * (width - len(f[key])) for f in features])
    return batch
