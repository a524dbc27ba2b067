"""The neural checker behind ``SpellChecker.from_pretrained(DIR)``: the same ``correct`` / ``correct_batch``
API and edits as the default checker, with decoding constrained by pinyin."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from pesc.detect import HAN
from pesc.edits import Correction, Edit, apply_edits, pinyin_edit
from pesc.neural.encode import CharVocab, collate, encode_units
from pesc.neural.features import Unit, allowed_characters, detect_runs, gold_alignment, units_for
from pesc.neural.model import PESCModel
from pesc.neural.persist import load_pesc


class NeuralSpellChecker:
    """Corrects text with a trained PESC model.

    A slot that came from pinyin always becomes a character with that reading (or that initial); an ordinary
    character changes only when the detection head and the correction head are both confident enough.
    """

    def __init__(self, model: PESCModel, vocab: CharVocab, device: str | None = None, batch_size: int = 32):
        from lmcommon.device import choose_device

        self.device = choose_device(device)
        self.model = model.to(self.device).eval()
        self.vocab = vocab
        self.config = model.config
        self.batch_size = batch_size
        self._allowed: dict[str, torch.Tensor] = {}  # pinyin -> vocabulary ids of the characters it allows
        self._han_ids = torch.tensor([i for i, t in enumerate(vocab.tokens) if len(t) == 1 and HAN.match(t)])

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str | None = None, batch_size: int = 32):
        model, vocab = load_pesc(directory)
        return cls(model, vocab, device=device, batch_size=batch_size)

    def _allowed_ids(self, pinyin: str) -> torch.Tensor:
        if pinyin not in self._allowed:
            ids = sorted(self.vocab.ids[c] for c in allowed_characters(pinyin) if c in self.vocab)
            self._allowed[pinyin] = torch.tensor(ids, dtype=torch.long)
        return self._allowed[pinyin]

    def _chunks(self, units: list[Unit]) -> list[list[Unit]]:
        size = self.config.max_length
        return [units[i : i + size] for i in range(0, len(units), size)] or [[]]

    @torch.inference_mode()
    def predict_units(self, unit_lists: Sequence[list[Unit]]) -> list[list[str | None]]:
        """For each unit: the character it should become, or None to keep it (copied units, unsure changes)."""
        flat: list[list[Unit]] = []
        owners: list[int] = []
        for index, units in enumerate(unit_lists):
            for chunk in self._chunks(units):
                flat.append(chunk)
                owners.append(index)
        predictions: list[list[str | None]] = [[] for _ in unit_lists]
        for start in range(0, len(flat), self.batch_size):
            chunks = flat[start : start + self.batch_size]
            batch = collate(
                [encode_units(c, self.vocab, self.config.max_pinyin_letters) for c in chunks], self.vocab.pad
            )
            output = self.model(**{k: v.to(self.device) for k, v in batch.items()})
            logits = output["logits"].float().cpu()
            wrong = torch.sigmoid(output["detection_logits"].float()).cpu()
            for row, (chunk, owner) in enumerate(zip(chunks, owners[start : start + self.batch_size], strict=True)):
                predictions[owner].extend(self._decide(chunk, logits[row, 1:], wrong[row, 1:]))
        return predictions

    def _decide(self, units: list[Unit], logits: torch.Tensor, wrong: torch.Tensor) -> list[str | None]:
        decided: list[str | None] = []
        for position, unit in enumerate(units):
            if unit.kind == "slot":
                allowed = self._allowed_ids(unit.pinyin)
                if len(allowed) == 0:
                    decided.append(None)
                    continue
                decided.append(self.vocab.tokens[int(allowed[logits[position, allowed].argmax()])])
            elif unit.kind == "han" and wrong[position] > self.config.detection_threshold:
                probabilities = torch.softmax(logits[position, self._han_ids], dim=-1)
                best = int(probabilities.argmax())
                token = self.vocab.tokens[int(self._han_ids[best])]
                confident = probabilities[best] > self.config.correction_threshold
                decided.append(token if confident and token != unit.text else None)
            else:
                decided.append(None)
        return decided

    def correct_batch(self, texts: Iterable[str]) -> list[Correction]:
        """Corrects several texts in batches; results keep the input order."""
        texts = list(texts)
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"text must be a str, got {type(text).__name__}")
        all_runs = [detect_runs(text) for text in texts]
        all_units = [units_for(text, runs) for text, runs in zip(texts, all_runs, strict=True)]
        results = []
        for text, runs, units, decided in zip(texts, all_runs, all_units, self.predict_units(all_units), strict=True):
            edits = []
            by_run: dict[int, list[str | None]] = {}
            for unit, choice in zip(units, decided, strict=True):
                if unit.kind == "slot":
                    by_run.setdefault(unit.run, []).append(choice)
                elif choice is not None:
                    edits.append(Edit(unit.position, unit.position + 1, unit.text, choice, "spelling"))
            for index, choices in by_run.items():
                if all(c is not None for c in choices):
                    edits.append(pinyin_edit(text, runs[index], "".join(choices)))
            edits.sort(key=lambda e: e.start)
            results.append(Correction(source=text, text=apply_edits(text, edits), edits=tuple(edits)))
        return results

    def correct(self, text: str) -> Correction:
        """Corrects one text; see :meth:`correct_batch`."""
        return self.correct_batch([text])[0]


def slot_accuracy(checker: NeuralSpellChecker, rows: Sequence[dict]) -> float:
    """Share of gold pinyin slots (from the rows' recorded edits) decoded to the target character."""
    aligned = [a for a in (gold_alignment(row) for row in rows) if a is not None]
    predictions = checker.predict_units([units for units, _ in aligned])
    right = total = 0
    for (units, labels), decided in zip(aligned, predictions, strict=True):
        for unit, label, choice in zip(units, labels, decided, strict=True):
            if unit.kind == "slot":
                total += 1
                right += choice == label
    return right / total if total else 0.0
