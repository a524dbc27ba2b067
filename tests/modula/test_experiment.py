"""The whole experiment on a tiny in-process model: every system, the plug-in comparison, the files, resuming."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from modula.experiment import Profile, run_experiment
from modula.tasks import write_domain_data

WORDS = [
    "what",
    "is",
    "one",
    "two",
    "three",
    "plus",
    "yes",
    "no",
    "maybe",
    "negative",
    "positive",
    "neutral",
    "hello",
    "world",
    "tell",
    "me",
]


def _rows(domain, count):
    rows = []
    for i in range(count):
        if domain == "math":
            rows.append({"prompt": "what is one plus two", "response": "3", "answer": "3", "task": "2D+"})
        elif domain == "medical":
            label = ("yes", "no", "maybe")[i % 3]
            rows.append({"prompt": f"tell me {label}", "response": label, "answer": label, "task": "pubmedqa"})
        elif domain == "finance":
            label = ("negative", "positive", "neutral")[i % 3]
            rows.append({"prompt": f"tell me {label}", "response": label, "answer": label, "task": "tfns"})
        else:
            rows.append({"prompt": "hello", "response": "hello world", "answer": "hello world", "task": "chat"})
    return [{**row, "domain": domain} for row in rows]


@pytest.fixture
def setup(tmp_path, chat_tokenizer, tiny_llama):
    tokenizer = chat_tokenizer([*WORDS, "3"])
    model_dir = tmp_path / "base"
    tiny_llama(len(tokenizer)).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    splits = {d: {"train": _rows(d, 8), "test": _rows(d, 3)} for d in ("math", "medical", "finance", "general")}
    write_domain_data(splits, tmp_path / "data")
    profile = Profile(
        "test",
        universal_examples=4,
        expert_examples=4,
        router_examples_per_domain=2,
        batch_size=2,
        max_length=32,
        eval_arithmetic=3,
        eval_medical=3,
        eval_finance=3,
        eval_general=3,
        eval_batch_size=2,
    )
    return tmp_path, str(model_dir), profile


def test_experiment_runs_every_system_and_resumes(setup, caplog):
    root, model_dir, profile = setup
    output = root / "run"
    results = run_experiment(output, root / "data", profile, model=model_dir)
    systems = [row["system"] for row in results["rows"]]
    assert systems == [
        "base",
        "lora",
        "molora",
        "modula-flan",
        "modula-res",
        "modula-res+finance",
        "molora-retrained+finance",
    ]
    rows = {row["system"]: row for row in results["rows"]}
    assert rows["base"]["trainable_parameters"] == 0 and rows["base"]["tokens_seen"] == 0
    for system in systems[1:]:
        assert rows[system]["trainable_parameters"] > 0 and rows[system]["tokens_seen"] > 0, system
        for key in ("math", "medical", "finance"):
            assert 0.0 <= rows[system][key] <= 1.0
        assert rows[system]["general_ppl"] > 1.0
    # the plug-in trains one expert and the routers; the re-trained MoLoRA trains everything on more data
    plug = results["plug_in"]
    assert plug["ratio"]["trainable_parameters"] < 0.5 and plug["ratio"]["tokens_seen"] < 1.0
    # same examples: the baselines' budget is the union of what MoDULA's stages saw
    assert rows["lora"]["examples"] == rows["molora"]["examples"] == rows["modula-res"]["examples"]
    # the old experts are bit-for-bit the ones before the plug-in
    for expert in ("universal", "math", "medical"):
        before = load_file(output / "models" / "modula-res" / expert / "adapter_model.safetensors")
        after = load_file(output / "models" / "modula-res-plus-finance" / expert / "adapter_model.safetensors")
        assert before.keys() == after.keys()
        assert all((before[k] == after[k]).all() for k in before)
    table = (output / "results.md").read_text()
    scores_table = table.split("\n\n")[0]
    assert scores_table.count("| modula-") == 3 and "| lora |" in scores_table and "| base |" in scores_table
    assert "domain experts / universal" in table and "| modula-res | medical |" in table  # the other two tables
    for system in ("molora", "modula-flan", "modula-res", "modula-res+finance"):  # each part's share of the output
        assert set(rows[system]["contributions"]) == {"math", "medical", "finance"}
        assert rows[system]["contributions"]["math"]["universal_over_base"] > 0
    assert "contributions" not in rows["lora"] and "contributions" not in rows["base"]
    for row in results["rows"]:  # every accuracy stands beside what answering the majority label scores
        for domain in ("math", "medical", "finance"):
            answers = row[f"{domain}_answers"]
            assert answers["accuracy"] == row[domain] and 0 < answers["majority_rate"] <= 1
            assert answers["accuracy_interval"][0] <= answers["accuracy"] <= answers["accuracy_interval"][1]
    assert json.loads((output / "results.json").read_text())["rows"] == results["rows"]
    # routing before and after the plug-in: every domain's prompts, the weight on each domain's own expert
    before, after = rows["modula-res"]["routing"], rows["modula-res+finance"]["routing"]
    assert before["outputs"] == ["math", "medical"] and after["outputs"] == ["math", "medical", "finance"]
    assert set(before["groups"]) == set(after["groups"]) == {"math", "medical", "finance"}
    assert set(before["own_expert"]) == {"math", "medical"} and set(after["own_expert"]) == set(after["outputs"])
    assert plug["routing_after"]["finance"] == after["own_expert"]["finance"]["overall"]
    for system, path in results["router_heatmaps"].items():
        assert path is None or Path(path).stat().st_size > 0, system
    assert [claim["verdict"] for claim in results["claims"]]  # each paper claim judged (rules: tests/test_claims)
    replies = (output / "replies" / "modula-res.jsonl").read_text().splitlines()
    assert len(replies) == 9

    # a rerun reads every system's results instead of training again
    caplog.set_level("INFO", logger="modula.experiment")
    caplog.clear()
    again = run_experiment(output, root / "data", profile, model=model_dir)
    assert again["rows"] == results["rows"]
    assert sum("done in an earlier run" in r.message for r in caplog.records) == len(systems)
