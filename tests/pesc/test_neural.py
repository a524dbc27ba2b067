"""The pinyin-enhanced neural checker on a tiny backbone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import TrainingArguments

from lmcommon.data import read_jsonl, write_jsonl
from pesc import SpellChecker, apply_edits
from pesc.cli import main
from pesc.neural import PESCConfig
from pesc.neural.checker import NeuralSpellChecker, slot_accuracy
from pesc.neural.encode import encode_units
from pesc.neural.features import allowed_characters, detect_runs, gold_alignment, slot_fits, units_for
from pesc.neural.persist import save_pesc
from pesc.neural.train import build_model, encode_rows, train_pesc

DATA = Path(__file__).resolve().parents[2] / "data" / "pesc"


@pytest.fixture(scope="module")
def train_rows():
    return read_jsonl(DATA / "train.jsonl")


@pytest.fixture(scope="module")
def dev_rows():
    return read_jsonl(DATA / "dev.jsonl")[:150]


def _tiny(rows, max_length=48):
    torch.manual_seed(0)
    return build_model(PESCConfig(max_length=max_length), [r[k] for r in rows for k in ("source", "target")])


def test_gold_alignment_expands_pinyin_into_one_slot_per_character():
    row = {
        "source": "tu书guan很dk，环竟好",
        "target": "图书馆很大开，环境好",
        "edits": [
            {"start": 0, "end": 7, "original": "tu书guan", "replacement": "图书馆", "kind": "pinyin"},
            {"start": 8, "end": 10, "original": "dk", "replacement": "大开", "kind": "pinyin"},
            {"start": 12, "end": 13, "original": "竟", "replacement": "境", "kind": "spelling"},
        ],
    }
    units, labels = gold_alignment(row)
    assert [(u.kind, u.pinyin) for u in units[:6]] == [
        ("slot", "tu"),
        ("han", "shu"),
        ("slot", "guan"),
        ("han", "hen"),
        ("slot", "d"),
        ("slot", "k"),
    ]
    assert "".join(label or unit.text for unit, label in zip(units, labels, strict=True)) == row["target"]


def test_encoding_marks_slots_and_wrong_characters_for_detection(train_rows):
    _, vocab = _tiny(train_rows[:50])
    units = units_for("我gaoxing了", detect_runs("我gaoxing了"))
    encoded = encode_units(units, vocab, 6, ["我", "高", "兴", "了"])
    assert encoded["input_ids"][0] == vocab.cls and encoded["input_ids"][-1] == vocab.sep
    assert encoded["input_ids"][2] == vocab.mask  # a slot's character input is the mask token
    assert encoded["detection_labels"][1:-1] == [0, 1, 1, 0]
    assert encoded["letter_ids"][2][:3] == [7, 1, 15]  # g a o


def test_save_load_gives_identical_predictions(tmp_path, train_rows, dev_rows):
    model, vocab = _tiny(train_rows[:300])
    checker = NeuralSpellChecker(model, vocab, device="cpu")
    save_pesc(model, vocab, tmp_path)
    loaded = SpellChecker.from_pretrained(tmp_path, device="cpu")
    assert isinstance(loaded, NeuralSpellChecker)
    sources = [r["source"] for r in dev_rows[:40]]
    assert [c.text for c in loaded.correct_batch(sources)] == [c.text for c in checker.correct_batch(sources)]
    batch = {
        "input_ids": torch.tensor([[vocab.cls, 5, 6, vocab.sep]]),
        "letter_ids": torch.zeros(1, 4, 6, dtype=torch.long),
        "attention_mask": torch.ones(1, 4, dtype=torch.long),
    }
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(**batch)["logits"], model.eval()(**batch)["logits"], rtol=0, atol=0)


def test_every_slot_character_has_the_slot_pinyin(train_rows, dev_rows):
    model, vocab = _tiny(train_rows[:300])
    checker = NeuralSpellChecker(model, vocab, device="cpu")
    texts = [r["source"] for r in dev_rows] + ["wm明天qu北京", "我很gao兴", "zg是个好地方"]
    unit_lists = [units_for(t, detect_runs(t)) for t in texts]
    slots = 0
    for units, decided in zip(unit_lists, checker.predict_units(unit_lists), strict=True):
        for unit, choice in zip(units, decided, strict=True):
            if unit.kind == "slot" and choice is not None:
                slots += 1
                assert slot_fits(choice, unit.pinyin), (unit, choice)
    assert slots > 50
    for correction in checker.correct_batch(texts):
        assert apply_edits(correction.source, correction.edits) == correction.text


@pytest.mark.slow
def test_training_lowers_the_loss_and_beats_chance_on_slots(tmp_path, train_rows, dev_rows):
    model, vocab = _tiny(train_rows)
    examples = encode_rows(train_rows, vocab, model.config)
    checker = NeuralSpellChecker(model, vocab, device="cpu")
    # chance: a uniform pick among the characters the slot's pinyin allows
    aligned = [gold_alignment(r) for r in dev_rows]
    sizes = [
        len([c for c in allowed_characters(u.pinyin) if c in vocab])
        for a in aligned
        if a
        for u in a[0]
        if u.kind == "slot"
    ]
    chance = sum(1 / max(size, 1) for size in sizes) / len(sizes)
    args = TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=250,
        per_device_train_batch_size=16,
        learning_rate=3e-3,
        logging_steps=25,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        use_cpu=True,
        seed=0,
        dataloader_pin_memory=False,
    )
    metrics = train_pesc(model, vocab, examples, args)
    assert metrics["last_logged_loss"] < 0.5 * metrics["first_logged_loss"]
    accuracy = slot_accuracy(checker, dev_rows)
    assert accuracy > max(3 * chance, chance + 0.2), (accuracy, chance)


def test_cli_train_resume_evaluate_and_correct(tmp_path, capsys, train_rows):
    small = tmp_path / "small.jsonl"
    write_jsonl(small, train_rows[:64])
    output = tmp_path / "model"
    common = [
        "train",
        "--backbone",
        "tiny",
        "--train",
        str(small),
        "--output",
        str(output),
        "--batch-size",
        "8",
        "--max-length",
        "48",
        "--save-steps",
        "2",
        "--logging-steps",
        "1",
    ]
    assert main([*common, "--max-steps", "2", "--dev", str(small)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["train_loss"] > 0 and summary["vocab"] > 100
    assert 0.0 <= summary["dev_slot_accuracy"] <= 1.0
    assert main([*common, "--max-steps", "4", "--resume"]) == 0
    state = json.loads((output / "checkpoints" / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == 4 and state["log_history"][0]["step"] == 1  # continued the first run's history
    capsys.readouterr()
    assert main(["evaluate", "--checker", str(output), "--data", str(small)]) == 0
    assert "| all | 64 |" in capsys.readouterr().out
    assert main(["correct", "--checker", str(output), "--json", "我今天很gaoxing"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["source"] == "我今天很gaoxing" and len(record["text"]) == 6
