"""htcgen's commands under faults: seeds give bit-identical models, a killed generator run resumes, damaged saved
files and bad taxonomies end in one line."""

from __future__ import annotations

import pytest
import torch

from htcgen.cli import main
from htcgen.prompts import training_pairs
from lmcommon.data import write_json, write_jsonl

from ..conftest import assert_killed_run_resumes, assert_same_tensors, assert_seeded_runs_repeat
from .conftest import topic_documents
from .test_generator import DOCUMENTS, PHRASES

pytestmark = pytest.mark.faults
TAXONOMY = "Root\tSports\tScience\nSports\tFootball\tTennis\nScience\tPhysics\tBiology\n"


@pytest.fixture
def generator_training(tmp_path, chat_tokenizer, tiny_llama):
    pairs = training_pairs(DOCUMENTS, PHRASES, seed=0)
    tokenizer = chat_tokenizer(sorted({w for p in pairs for w in (p["prompt"] + " " + p["response"]).split()}))
    tiny_llama(len(tokenizer)).save_pretrained(tmp_path / "base")
    tokenizer.save_pretrained(tmp_path / "base")
    (tmp_path / "t.taxonomy").write_text("Root\tSports\nSports\tFootball\tTennis\n", encoding="utf-8")
    write_jsonl(tmp_path / "docs.jsonl", DOCUMENTS)
    write_json(tmp_path / "phrases.json", PHRASES)

    def train(output, *extra):
        arguments = [
            "train-generator",
            "--data",
            str(tmp_path / "docs.jsonl"),
            "--taxonomy",
            str(tmp_path / "t.taxonomy"),
        ]
        arguments += ["--phrases", str(tmp_path / "phrases.json"), "--model", str(tmp_path / "base")]
        arguments += ["--output", str(tmp_path / output), "--max-steps", "4", "--batch-size", "2", "--rank", "4"]
        return main([*arguments, "--lr", "1e-2", "--seed", "0", *extra])

    return tmp_path, train


def test_generator_training_with_the_same_seed_is_bit_identical(generator_training):
    root, train = generator_training
    assert_seeded_runs_repeat(train, root)


def test_generator_training_killed_after_a_checkpoint_resumes_to_the_same_adapter(
    generator_training, interrupt_after_first_checkpoint
):
    root, train = generator_training
    assert_killed_run_resumes(train, root, interrupt_after_first_checkpoint)


def test_generate_killed_after_a_chunk_resumes_to_the_output_of_a_run_never_stopped(generator_training, monkeypatch):
    import htcgen.generator

    root, train = generator_training
    assert train("gen") == 0
    arguments = ["generate", "--data", str(root / "docs.jsonl"), "--taxonomy", str(root / "t.taxonomy")]
    arguments += ["--phrases", str(root / "phrases.json"), "--adapter", str(root / "gen"), "--device", "cpu"]
    arguments += ["--num", "20", "--batch-size", "2", "--max-new-tokens", "6"]  # chunks of 2 x 4: 8, 8, 4
    assert main([*arguments, "--output", str(root / "straight.jsonl")]) == 0
    real, calls = htcgen.generator.generate_documents, []

    def killed_at_the_second_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(htcgen.generator, "generate_documents", killed_at_the_second_chunk)
    assert main([*arguments, "--output", str(root / "out.jsonl")]) == 130
    assert len((root / "out.jsonl.partial").read_text(encoding="utf-8").splitlines()) == 1 + 8  # the run, a chunk
    assert not (root / "out.jsonl").exists()
    assert main([*arguments, "--output", str(root / "out.jsonl")]) == 0
    assert len(calls) == 4  # the second and third chunks, not the first again
    assert (root / "out.jsonl").read_text(encoding="utf-8") == (root / "straight.jsonl").read_text(encoding="utf-8")
    assert not (root / "out.jsonl.partial").exists()


def test_a_damaged_generator_adapter_is_one_line_naming_it(generator_training, capsys):
    root, train = generator_training
    assert train("gen") == 0
    weights = root / "gen" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:50])
    capsys.readouterr()
    arguments = ["generate", "--data", str(root / "docs.jsonl"), "--taxonomy", str(root / "t.taxonomy")]
    arguments += ["--phrases", str(root / "phrases.json"), "--adapter", str(root / "gen"), "--num", "1"]
    assert main([*arguments, "--output", str(root / "out.jsonl"), "--device", "cpu"]) == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"htcgen: error: {root / 'gen'}: damaged or unreadable")


@pytest.fixture
def encoder_data(tmp_path, tiny_bert):
    write_jsonl(tmp_path / "train.jsonl", topic_documents(per_path=3))
    (tmp_path / "t.taxonomy").write_text(TAXONOMY, encoding="utf-8")
    common = ["--test", str(tmp_path / "train.jsonl"), "--taxonomy", str(tmp_path / "t.taxonomy")]
    trained = [*common, "--train", str(tmp_path / "train.jsonl"), "--classifier", "encoder", "--encoder", tiny_bert]
    return tmp_path, common, [*trained, "--epochs", "1", "--seed", "0"]


def test_encoder_training_with_the_same_seed_is_bit_identical(encoder_data):
    root, _, trained = encoder_data
    assert main(["evaluate", *trained, "--save", str(root / "first")]) == 0
    assert main(["evaluate", *trained, "--save", str(root / "second")]) == 0
    assert_same_tensors(root / "first", root / "second")
    first, second = (torch.load(root / name / "head.pt", weights_only=True) for name in ("first", "second"))
    assert all(torch.equal(first[key], second[key]) for key in first)


def test_a_damaged_classifier_head_is_one_line_naming_it(encoder_data, capsys):
    root, common, trained = encoder_data
    assert main(["evaluate", *trained, "--save", str(root / "saved")]) == 0
    head = root / "saved" / "head.pt"
    head.write_bytes(head.read_bytes()[:40])
    capsys.readouterr()
    assert main(["evaluate", *common, "--load", str(root / "saved")]) == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"htcgen: error: {head}: damaged or unreadable")


def test_depth_zero_is_refused(encoder_data, capsys):
    _, common, _ = encoder_data
    assert main(["evaluate", *common, "--train", common[1], "--classifier", "flat-svm", "--depth", "0"]) == 2
    assert "--depth must be >= 1" in capsys.readouterr().err


def test_an_adapter_is_refused_on_another_base_model_unless_allowed(generator_training, capsys, tmp_path):
    root, train = generator_training
    assert train("gen") == 0
    capsys.readouterr()
    arguments = ["generate", "--data", str(root / "docs.jsonl"), "--taxonomy", str(root / "t.taxonomy")]
    arguments += ["--phrases", str(root / "phrases.json"), "--adapter", str(root / "gen"), "--num", "1"]
    arguments += ["--output", str(root / "out.jsonl"), "--device", "cpu", "--model", str(tmp_path / "other")]
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert "was trained on" in err and "--allow-other-base" in err and not (root / "out.jsonl").exists()
