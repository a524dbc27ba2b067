"""The second fault probe's modula cases: two writers of one model folder, a save killed half-way, experts put on
another base model, hand-edited files, a split set cut short by a full disk."""

from __future__ import annotations

import errno
import json
import logging
import subprocess
import sys
import textwrap

import pytest
import torch

from modula.cli import main
from modula.config import MoDULAConfig
from modula.model import MoDULAModel

from .conftest import make_llama

pytestmark = pytest.mark.faults
STEPS = ["--max-steps", "2", "--lr", "1e-2", "--batch-size", "4", "--logging-steps", "1", "--seed", "0"]


def _train(root, model, data, stage, *extra):
    arguments = ["train", "--stage", stage, "--data", data, "--model", model, "--output", str(root / "run")]
    return main([*arguments, *STEPS, *extra])


def test_a_second_training_into_the_same_folder_is_refused_naming_the_first(workspace, capsys):
    root, model, data = workspace
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys, time
                from lmcommon.outputs import folder_lock
                with folder_lock(sys.argv[1], holder="modula train --stage expert --domain alpha"):
                    print("holding", flush=True)
                    time.sleep(60)
                """
            ),
            str(root / "run"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "holding\n"
        assert _train(root, model, data["general"], "universal", "--domains", "alpha") == 2
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert f"is being written by pid {holder.pid}" in err and "--stage expert --domain alpha" in err
    assert not (root / "run").exists()  # nothing was trained, nothing written


def test_a_save_killed_half_way_leaves_the_model_that_was_there(workspace, monkeypatch):
    import modula.checkpoint

    root, model, data = workspace
    assert _train(root, model, data["general"], "universal", "--domains", "alpha") == 0
    before = {p.relative_to(root / "run"): p.read_bytes() for p in (root / "run").rglob("*") if p.is_file()}
    base = make_llama()
    extended = MoDULAModel.from_pretrained(base, root / "run")
    extended.add_domain("beta")
    real, written = modula.checkpoint._write_tensors, []

    def dies_after_two(path, tensors):  # the process dies after the universal and alpha experts are written
        if len(written) == 2:
            raise KeyboardInterrupt
        written.append(path)
        real(path, tensors)

    monkeypatch.setattr(modula.checkpoint, "_write_tensors", dies_after_two)
    with pytest.raises(KeyboardInterrupt):
        extended.save_pretrained(root / "run")
    after = {p.relative_to(root / "run"): p.read_bytes() for p in (root / "run").rglob("*") if p.is_file()}
    assert after == before  # the old set, whole: config and routers still agree
    assert MoDULAModel.from_pretrained(make_llama(), root / "run").domains == ["alpha"]
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".run")) == []


def test_experts_are_refused_on_a_base_model_they_were_not_trained_on(tmp_path, caplog):
    trained_on = make_llama(seed=0)
    model = MoDULAModel(trained_on, MoDULAConfig(domains=["alpha"]))
    model.save_pretrained(tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "base_model.json").read_text())
    assert len(saved["embedding_sample"]) == 64 and saved["model_type"] == "llama"
    with pytest.raises(ValueError, match=r"other weights\. Give --model the base they were trained on"):
        MoDULAModel.from_pretrained(make_llama(seed=1), tmp_path / "run")  # same shapes, other weights
    with caplog.at_level(logging.WARNING, logger="modula.checkpoint"):
        MoDULAModel.from_pretrained(make_llama(seed=1), tmp_path / "run", allow_other_base=True)
    assert "--allow-other-base" in caplog.text
    # the same base in another precision is the same base
    MoDULAModel.from_pretrained(make_llama(seed=0).to(torch.bfloat16), tmp_path / "run")


def test_generate_refuses_a_prompt_that_is_not_text_and_a_domain_without_its_stage(workspace, capsys):
    root, model, data = workspace
    assert _train(root, model, data["general"], "universal", "--domains", "alpha") == 0
    prompts = root / "prompts.jsonl"
    prompts.write_text('{"prompt": "alpha a"}\n\n{"prompt": 5}\n')
    common = ["--model", model, "--adapters", str(root / "run"), "--device", "cpu", "--max-new-tokens", "1"]
    capsys.readouterr()
    assert main(["generate", "--input", str(prompts), *common]) == 2
    assert capsys.readouterr().err.strip() == (
        f"modula: error: {prompts}:3: field 'prompt': expected a string, got int"
    )
    assert main(["generate", "--prompt", "alpha a", "--domain", "alpha", *common]) == 2
    assert "--domain alpha selects one expert: add --stage expert" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"leaky_relu_slope": "x"}, "leaky_relu_slope must be a number, got 'x'"),
        ({"universal_alpha": float("nan")}, "universal_alpha must be a finite number"),
        ({"domains": ["alpha\n"]}, "domain name 'alpha\\n' must start with a letter"),
    ],
)
def test_a_hand_edited_config_is_one_line_naming_the_file_and_field(tmp_path, capsys, workspace, change, message):
    root, model, _ = workspace
    MoDULAModel(make_llama(), MoDULAConfig(domains=["alpha"])).save_pretrained(root / "run")
    path = root / "run" / "modula_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    assert main(["router-weights", "--model", model, "--adapters", str(root / "run"), "--prompt", "a"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("modula: error: ") and "modula_config.json" in err and message in err, err


def test_a_domain_name_ending_in_a_newline_is_refused():
    with pytest.raises(ValueError, match="must start with a letter"):
        MoDULAConfig(domains=["math\n"])


def test_build_data_cut_short_by_a_full_disk_keeps_the_old_splits(tmp_path, monkeypatch):
    import lmcommon.data
    from modula.tasks import write_domain_data

    old = {"math": {"train": [{"a": 1}], "test": [{"a": 2}]}, "medical": {"train": [{"b": 1}], "test": [{"b": 2}]}}
    write_domain_data(old, tmp_path / "out")
    before = {p.relative_to(tmp_path): p.read_text() for p in (tmp_path / "out").rglob("*.jsonl")}
    real, written = lmcommon.data.atomic_write, []

    def fills_up(path, *args, **kwargs):
        if len(written) == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        written.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(lmcommon.data, "atomic_write", fills_up)
    new = {domain: {part: [{"new": 1}] for part in parts} for domain, parts in old.items()}
    with pytest.raises(OSError, match="No space"):
        write_domain_data(new, tmp_path / "out")
    after = {p.relative_to(tmp_path): p.read_text() for p in (tmp_path / "out").rglob("*.jsonl")}
    assert after == before  # never new train files beside old test files
