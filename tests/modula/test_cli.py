from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from lmcommon.data import write_jsonl
from modula.cli import main

from .conftest import make_llama, make_tokenizer

FAST = ["--max-steps", "4", "--lr", "1e-2", "--batch-size", "4", "--save-steps", "100", "--logging-steps", "2"]


def test_staged_training_plug_in_generation_router_weights_and_expert_losses(workspace, capsys):
    root, model_dir, data = workspace
    run = root / "run"
    common = ["--model", model_dir, "--output", str(run), *FAST]
    assert (
        main(
            [
                "train",
                "--stage",
                "universal",
                "--data",
                data["general"],
                "--variant",
                "res",
                "--domains",
                "alpha",
                *common,
            ]
        )
        == 0
    )
    assert main(["train", "--stage", "expert", "--domain", "alpha", "--data", data["alpha"], *common]) == 0
    assert main(["train", "--stage", "router", "--data", data["mix_alpha"], *common]) == 0
    alpha_before = load_file(run / "alpha" / "adapter_model.safetensors")
    universal_before = load_file(run / "universal" / "adapter_model.safetensors")

    assert (
        main(
            [
                "add-domain",
                "--adapters",
                str(run),
                "--domain",
                "beta",
                "--data",
                data["beta"],
                "--router-data",
                data["mix"],
                "--routing-loss-weight",  # the supervised routing term (modula.routing_loss), end to end
                "1.0",
                "--model",
                model_dir,
                *FAST,
            ]
        )
        == 0
    )
    for name, tensor in load_file(run / "alpha" / "adapter_model.safetensors").items():
        assert torch.equal(tensor, alpha_before[name]), name
    for name, tensor in load_file(run / "universal" / "adapter_model.safetensors").items():
        assert torch.equal(tensor, universal_before[name]), name
    reports = sorted(p.name for p in (run / "reports").iterdir())
    assert reports == ["expert-alpha.json", "expert-beta.json", "router.json", "universal.json"]
    router_report = json.loads((run / "reports" / "router.json").read_text())
    assert router_report["stage"] == "router" and router_report["steps"] == 4 and router_report["tokens_seen"] > 0

    capsys.readouterr()
    output = root / "replies.jsonl"
    assert (
        main(
            [
                "generate",
                "--model",
                model_dir,
                "--adapters",
                str(run),
                "--prompt",
                "alpha a b",
                "--prompt",
                "beta c",
                "--max-new-tokens",
                "3",
                "--device",
                "cpu",
                "--output",
                str(output),
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["prompt"] for r in rows] == ["alpha a b", "beta c"] and all(isinstance(r["response"], str) for r in rows)

    assert (
        main(
            [
                "router-weights",
                "--model",
                model_dir,
                "--adapters",
                str(run),
                "--prompt",
                "alpha a b",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    table = json.loads(capsys.readouterr().out)
    assert table["outputs"] == ["alpha", "beta"]
    for weights in table["layers"].values():
        assert sum(weights.values()) == pytest.approx(1.0, abs=1e-3)

    losses_file = root / "losses.json"
    arguments = ["expert-losses", "--model", model_dir, "--adapters", str(run), "--input", data["mix"]]
    assert main([*arguments, "--per-domain", "3", "--device", "cpu", "--output", str(losses_file)]) == 0
    losses = json.loads(losses_file.read_text())
    assert set(losses) == {"alpha", "beta"}
    for domain, entry in losses.items():
        assert set(entry["experts"]) == {"alpha", "beta"} and entry["own_expert"] == entry["experts"][domain]
        assert entry["routing_gap"] == pytest.approx(entry["mixture"] - min(entry["experts"].values()))
    unlabelled = root / "unlabelled.jsonl"
    unlabelled.write_text('{"prompt": "alpha a", "response": "a b"}\n', encoding="utf-8")
    capsys.readouterr()
    assert main(["expert-losses", "--model", model_dir, "--adapters", str(run), "--input", str(unlabelled)]) == 2
    assert f"{unlabelled}:1: field 'domain': missing required field" in capsys.readouterr().err

    # one domain served from a merged folder answers as that domain's expert path does
    merged = root / "merged-beta"
    merge = ["merge", "--model", model_dir, "--adapters", str(run), "--domain", "beta", "--device", "cpu"]
    assert main([*merge, "--output", str(merged)]) == 0
    replies = {}
    for name, source in [
        ("expert path", ["--model", model_dir, "--adapters", str(run), "--stage", "expert", "--domain", "beta"]),
        ("merged", ["--model", str(merged)]),
    ]:
        written = root / f"{name}.jsonl"
        prompts = ["--prompt", "beta c", "--prompt", "alpha a b", "--max-new-tokens", "4", "--device", "cpu"]
        assert main(["generate", *source, *prompts, "--output", str(written)]) == 0
        replies[name] = [json.loads(line)["response"] for line in written.read_text().splitlines()]
    assert replies["merged"] == replies["expert path"]
    capsys.readouterr()
    assert main([*merge, "--output", str(run)]) == 2  # never over the adapters it reads
    assert "is the --adapters input" in capsys.readouterr().err


def test_bad_data_row_is_reported_with_file_and_line(workspace, capsys):
    root, model_dir, _ = workspace
    bad = root / "bad.jsonl"
    bad.write_text('{"prompt": "a", "response": "b"}\n{"prompt": "a", "answer": "b"}\n', encoding="utf-8")
    status = main(
        ["train", "--stage", "universal", "--data", str(bad), "--model", model_dir, "--output", str(root / "r")]
    )
    assert status == 2
    assert f"modula: error: {bad}:2: field 'response': missing required field" in capsys.readouterr().err


def test_expert_stage_needs_a_known_domain(workspace, capsys):
    root, model_dir, data = workspace
    args = ["train", "--stage", "expert", "--data", data["alpha"], "--model", model_dir, "--output", str(root / "r")]
    assert main(args) == 2
    assert "--stage expert needs --domain NAME" in capsys.readouterr().err
    assert main([*args, "--domain", "alpha", "--domains", "beta"]) == 2
    assert "domain 'alpha' is not in the model's domains ['beta']" in capsys.readouterr().err


def test_the_routing_loss_weight_is_refused_outside_the_router_stage(workspace, capsys):
    root, model_dir, data = workspace
    args = ["train", "--stage", "universal", "--data", data["general"], "--model", model_dir]
    assert main([*args, "--output", str(root / "r"), "--routing-loss-weight", "1"]) == 2
    assert "--routing-loss-weight is for --stage router, not --stage universal" in capsys.readouterr().err
    assert not (root / "r").exists()  # refused before anything was loaded or written


def test_every_subcommand_has_help(capsys):
    for command in ["train", "add-domain", "generate", "router-weights", "merge"]:
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        assert info.value.code == 0
        assert f"usage: modula {command}" in capsys.readouterr().out


def test_plot_routers_writes_png_and_weights(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from modula.config import MoDULAConfig
    from modula.model import MoDULAModel

    model_dir = tmp_path / "base"
    make_llama().save_pretrained(model_dir)
    make_tokenizer().save_pretrained(model_dir)
    adapters = tmp_path / "adapters"
    model = MoDULAModel(make_llama(), MoDULAConfig(variant="flan", domains=["alpha", "beta"]))
    for _, layer in model.modula_layers():
        torch.nn.init.normal_(layer.router.weight)
    model.save_pretrained(adapters)
    prompts = tmp_path / "prompts.jsonl"
    write_jsonl(prompts, [{"prompt": "alpha a b", "domain": "alpha"}, {"prompt": "beta c d", "domain": "beta"}] * 2)
    png = tmp_path / "routers.png"
    args = ["plot-routers", "--adapters", str(adapters), "--input", str(prompts), "--output", str(png)]
    assert main([*args, "--model", str(model_dir), "--device", "cpu"]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    weights = json.loads(png.with_suffix(".json").read_text())
    assert weights["outputs"] == ["universal", "alpha", "beta"] and set(weights["groups"]) == {"alpha", "beta"}
    assert len(weights["groups"]["alpha"]) == len(weights["layers"]) == 2


def test_build_data_writes_every_split(tmp_path, capsys):
    from pathlib import Path

    source = Path(__file__).resolve().parents[2] / "data" / "instruct"
    assert main(["build-data", "--source", str(source), "--output", str(tmp_path / "out")]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert set(rows) == {f"{d}/{p}" for d in ("math", "medical", "finance", "general") for p in ("train", "test")}
    assert rows["medical/test"] == 500
    assert (tmp_path / "out" / "finance" / "test.jsonl").is_file()


def test_tune_lr_prints_each_candidates_dev_loss_and_the_best(workspace, capsys):
    root, model_dir, data = workspace
    common = ["--model", model_dir, "--max-steps", "10", "--batch-size", "4", "--logging-steps", "5"]
    argv = ["tune-lr", "--stage", "universal", "--data", data["general"], "--dev", data["general"], *common]
    argv += ["--variant", "res", "--domains", "alpha", "--candidates", "1e-7", "1e-2"]
    assert main([*argv, "--output", str(root / "choice.json")]) == 0
    choice = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert choice["stage"] == "universal" and choice["chosen"] == 1e-2
    assert choice["dev_loss"]["0.01"] < choice["dev_loss"]["1e-07"] <= choice["before_dev_loss"] * 1.01
    assert json.loads((root / "choice.json").read_text()) == choice
    assert not (root / "run").exists()  # nothing is saved
