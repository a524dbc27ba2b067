"""Killed generation work resumes: sampling continues from the chunks already written, and the experiment's
generator from its last checkpoint, each to what a run that was never stopped gives."""

from __future__ import annotations

import json

import pytest

import htcgen.generator
from htcgen.experiment import run_experiment
from htcgen.generator import GeneratorSettings, generate_to_file, plan_samples, sample_documents
from htcgen.resume_file import resume_path

from ..conftest import assert_same_tensors
from .conftest import DOCUMENTS, PHRASES, TAXONOMY, tiny_experiment_config, topic_documents

pytestmark = pytest.mark.faults


@pytest.fixture
def sampling(tmp_path, tiny):
    """Settings over a saved tiny generator (chunks of 2 x 4 = 8 requests) and 20 requests: chunks of 8, 8, 4."""
    model, tokenizer, _ = tiny
    model.save_pretrained(tmp_path / "base")
    tokenizer.save_pretrained(tmp_path / "base")
    settings = GeneratorSettings(model=str(tmp_path / "base"), generation_batch_size=2, max_new_tokens=6)
    return settings, plan_samples(DOCUMENTS, PHRASES, 20, seed=0)


def _count_sampled(monkeypatch, stop_at_call: int | None = None) -> list[int]:
    """Counts the requests each chunk samples; with ``stop_at_call``, that call is killed (KeyboardInterrupt)."""
    real = htcgen.generator.generate_documents
    calls: list[int] = []

    def counted(model, tokenizer, requests, **options):
        if stop_at_call is not None and len(calls) + 1 == stop_at_call:
            raise KeyboardInterrupt
        calls.append(len(requests))
        return real(model, tokenizer, requests, **options)

    monkeypatch.setattr(htcgen.generator, "generate_documents", counted)
    return calls


def _rows(path):
    """The samples of a JSONL file of samples, or of a resume file (whose first line records its run)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n")[:-1]]
    return rows[1:] if rows and "htcgen-sampling-run" in rows[0] else rows


def test_sampling_killed_after_a_chunk_resumes_to_the_samples_of_a_run_never_stopped(tmp_path, sampling, monkeypatch):
    settings, requests = sampling
    straight = sample_documents(requests, settings, seed=3)
    calls = _count_sampled(monkeypatch, stop_at_call=2)
    with pytest.raises(KeyboardInterrupt):
        sample_documents(requests, settings, seed=3, resume_file=tmp_path / "out.partial")
    assert [r["prompt"] for r in _rows(tmp_path / "out.partial")] == [r["prompt"] for r in requests[:8]]
    monkeypatch.undo()
    calls = _count_sampled(monkeypatch)
    assert sample_documents(requests, settings, seed=3, resume_file=tmp_path / "out.partial") == straight
    assert calls == [8, 4]  # only the chunks the killed run had not written
    assert len(_rows(tmp_path / "out.partial")) == 20  # empty samples too: they hold their request's place


def test_a_torn_line_and_a_half_chunk_are_sampled_again(tmp_path, sampling, monkeypatch, caplog):
    settings, requests = sampling
    resume_file = tmp_path / "out.partial"
    straight = sample_documents(requests, settings, seed=3, resume_file=resume_file)
    lines = resume_file.read_text(encoding="utf-8").splitlines(keepends=True)
    resume_file.write_text("".join(lines[:12]) + lines[12][:10], encoding="utf-8")  # chunk 2 cut off mid-line
    calls = _count_sampled(monkeypatch)
    caplog.set_level("INFO", logger="htcgen")
    assert sample_documents(requests, settings, seed=3, resume_file=resume_file) == straight
    assert calls == [8, 4]
    assert f"{resume_file}: resuming after 8 of 20 samples" in caplog.text


def test_a_resume_file_of_other_prompts_is_not_read_back(tmp_path, sampling, monkeypatch, caplog):
    settings, requests = sampling
    straight = sample_documents(requests, settings, seed=3)
    resume_file = tmp_path / "out.partial"
    sample_documents(requests, settings, seed=3, resume_file=resume_file)
    header = resume_file.read_text(encoding="utf-8").splitlines()[0]  # the same run, other prompts
    other = [{**r, "prompt": r["prompt"] + " again", "text": "stale"} for r in requests]
    resume_file.write_text(header + "\n" + "".join(json.dumps(r) + "\n" for r in other), encoding="utf-8")
    calls = _count_sampled(monkeypatch)
    assert sample_documents(requests, settings, seed=3, resume_file=resume_file) == straight
    assert calls == [8, 8, 4]
    assert "holds no whole chunk of these requests; sampling from the start" in caplog.text


@pytest.mark.parametrize(
    ("change", "named"),
    [({"temperature": 0.3}, "temperature"), ({"max_new_tokens": 4}, "max_new_tokens"), ({"model": "m"}, "model")],
)
def test_a_resume_file_of_a_run_with_other_settings_is_sampled_again(
    tmp_path, sampling, monkeypatch, caplog, change, named
):
    import dataclasses

    settings, requests = sampling
    resume_file = tmp_path / "out.partial"
    calls = _count_sampled(monkeypatch, stop_at_call=2)
    with pytest.raises(KeyboardInterrupt):
        sample_documents(requests, settings, seed=3, resume_file=resume_file)
    monkeypatch.undo()
    recorded = json.loads(resume_file.read_text(encoding="utf-8").splitlines()[0])["htcgen-sampling-run"]
    recorded.update(change)  # what the killed run would have recorded had it been started with those settings
    lines = resume_file.read_text(encoding="utf-8").splitlines(keepends=True)
    resume_file.write_text(json.dumps({"htcgen-sampling-run": recorded}) + "\n" + "".join(lines[1:]), encoding="utf-8")
    calls = _count_sampled(monkeypatch)
    assert sample_documents(requests, settings, seed=3, resume_file=resume_file) == sample_documents(
        requests, dataclasses.replace(settings), seed=3
    )
    assert calls[:3] == [8, 8, 4]  # every chunk sampled again, none read back
    assert f"written by a run with other {named}; sampling from the start" in caplog.text


def test_a_sample_holding_a_line_separator_is_read_back(tmp_path, sampling, monkeypatch):
    settings, requests = sampling
    resume_file = tmp_path / "out.partial"
    sample_documents(requests, settings, seed=3, resume_file=resume_file)
    header, *rows = resume_file.read_text(encoding="utf-8").split("\n")[:-1]
    first = {**json.loads(rows[0]), "text": "one\u2028two\u0085three"}  # json.dumps(ensure_ascii=False) keeps them raw
    rows[0] = json.dumps(first, ensure_ascii=False)
    resume_file.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    calls = _count_sampled(monkeypatch)
    samples, _ = sample_documents(requests, settings, seed=3, resume_file=resume_file)
    assert calls == []  # every sample read back (once a resume dropped them all)
    assert samples[0]["text"] == "one\u2028two\u0085three"


def test_generate_to_file_saves_the_samples_and_removes_its_resume_file(tmp_path, sampling):
    settings, requests = sampling
    output = tmp_path / "generated.jsonl"
    kept = generate_to_file(output, requests, settings, adapter=None, seed=3)
    assert _rows(output) == kept and kept == sample_documents(requests, settings, seed=3)[0]
    assert not resume_path(output).exists()


def test_the_experiments_generator_killed_after_a_checkpoint_resumes_to_the_same_adapter(
    tmp_path, generator_folder, tiny_bert, interrupt_after_first_checkpoint
):
    train, test = topic_documents(per_path=4), topic_documents(per_path=2)
    test = [{**d, "id": f"test-{d['id']}"} for d in test]
    # 8 real documents in batches of 4: two steps, a checkpoint after each
    config = tiny_experiment_config(generator_folder, tiny_bert, methods=("none", "path"), checkpoint_steps=1)
    killed = tmp_path / "killed" / "cells" / "depth2-k2-seed0"
    with pytest.raises(KeyboardInterrupt):
        run_experiment(tmp_path / "killed", train, test, TAXONOMY, config)
    assert interrupt_after_first_checkpoint == [1]
    assert (killed / "generator-checkpoints" / "checkpoint-1").is_dir()
    assert not (killed / "generator").exists()
    run_experiment(tmp_path / "killed", train, test, TAXONOMY, config)
    run_experiment(tmp_path / "straight", train, test, TAXONOMY, config)
    straight = tmp_path / "straight" / "cells" / "depth2-k2-seed0"
    assert_same_tensors(straight / "generator", killed / "generator", exact=False)
    assert json.loads((killed / "generator-training.json").read_text())["steps"] == 2
    for cell in (killed, straight):  # the optimizer states and the staging folder are gone once the adapter is saved
        assert not (cell / "generator-checkpoints").exists() and not (cell / "generator.partial").exists()
