"""The whole experiment on a tiny in-process model: every system, the plug-in comparison, the files, resuming."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from modula.experiment import Experiment, Profile, run_experiment, take_rows
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
        dev_examples=2,
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
    for system in ("modula-flan", "modula-res", "modula-res+finance"):  # answers the domain experts change
        changed = rows[system]["answers_changed_by_experts"]
        assert set(changed) == {"math", "medical", "finance"} and all(0 <= v <= 1 for v in changed.values())
    assert "answers_changed_by_experts" not in rows["molora"]
    for system in ("modula-flan", "modula-res", "modula-res+finance"):  # the routing signal, on dev rows
        assert set(rows[system]["expert_losses"]) == {"math", "medical", "finance"}
    plugged = rows["modula-res+finance"]["expert_losses"]["finance"]
    assert set(plugged["experts"]) == {"math", "medical", "finance"} and plugged["own_expert"] is not None
    assert rows["modula-res"]["expert_losses"]["finance"]["own_expert"] is None  # not plugged in yet
    assert "expert_losses" not in rows["molora"] and "The routing signal" in table
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

    # a rerun reads every system's results instead of training again, and recomputes the answer statistics of
    # results written before a statistic existed from the replies the system gave
    lora_file = output / "results" / "lora.json"
    older = json.loads(lora_file.read_text())
    del older["medical_answers"]["macro_f1_interval"]
    lora_file.write_text(json.dumps(older))
    res_file = output / "results" / "modula-res.json"  # scored before the expert losses were measured
    res_file.write_text(
        json.dumps({k: v for k, v in json.loads(res_file.read_text()).items() if k != "expert_losses"})
    )
    caplog.set_level("INFO", logger="modula.experiment")
    caplog.clear()
    again = run_experiment(output, root / "data", profile, model=model_dir)
    assert again["rows"] == results["rows"]
    assert json.loads(lora_file.read_text())["medical_answers"] == rows["lora"]["medical_answers"]
    assert json.loads(res_file.read_text())["expert_losses"] == rows["modula-res"]["expert_losses"]  # saved model
    assert sum("done in an earlier run" in r.message for r in caplog.records) == len(systems)


def test_dev_rows_are_held_out_and_expert_rows_repeat_past_the_split(setup):
    root, model_dir, profile = setup
    profile = Profile(**{**profile.__dict__, "expert_examples_by_domain": {"medical": 9}})
    experiment = Experiment(root / "run", root / "data", profile, model=model_dir)
    for domain in ("math", "medical", "finance", "general"):
        dev = {id(row) for row in experiment.dev_rows[domain]}  # the tiny rows repeat their text: compare rows
        assert len(dev) == 2
        trained = experiment.general_rows if domain == "general" else experiment.expert_rows[domain]
        assert not dev & {id(row) for row in trained}, domain
    assert len(experiment.expert_rows["medical"]) == 9 and len(experiment.expert_rows["math"]) == 4
    # 6 rows remain beside the dev rows: the 7th to 9th are the first three again (a second epoch)
    assert experiment.expert_rows["medical"][6:] == experiment.expert_rows["medical"][:3]


def test_a_label_balanced_domain_trains_on_every_label_equally(setup):
    root, model_dir, profile = setup
    # the tiny finance split (6 rows beside the dev rows) is 1/3 each label; make it lopsided: 4 neutral, 2 others
    rows = [{**row, "answer": "neutral"} for row in _rows("finance", 4)] + _rows("finance", 2)
    profile = Profile(**{**profile.__dict__, "expert_examples": 9, "label_balanced_domains": ("finance",)})
    experiment = Experiment(root / "run", root / "data", profile, model=model_dir)
    drawn = experiment.draw_expert_rows("finance", rows)
    assert len(drawn) == 9
    assert collections.Counter(row["answer"] for row in drawn) == {"neutral": 3, "negative": 3, "positive": 3}
    assert experiment.draw_expert_rows("math", _rows("math", 6)) == take_rows(_rows("math", 6), 9)  # in order
    with pytest.raises(ValueError, match=r"only .*'finance'.* have labels"):
        Profile("x", 1, 1, 1, label_balanced_domains=("math",))


def test_take_rows_cycles_and_profile_checks_its_overrides():
    assert take_rows([1, 2, 3], 2) == [1, 2] and take_rows([1, 2], 5) == [1, 2, 1, 2, 1]
    with pytest.raises(ValueError, match="no rows"):
        take_rows([], 1)
    with pytest.raises(ValueError, match="expert_examples_by_domain"):
        Profile("x", 1, 1, 1, expert_examples_by_domain={"chemistry": 4})
    with pytest.raises(ValueError, match="expert_learning_rates_by_domain"):
        Profile("x", 1, 1, 1, expert_learning_rates_by_domain={"math": 0.0})
    with pytest.raises(ValueError, match=r"Profile\.routing_loss_weight"):
        Profile("x", 1, 1, 1, routing_loss_weight=-1.0)


def test_each_stage_trains_at_its_own_learning_rate(setup):
    root, model_dir, profile = setup
    rates = {"universal_learning_rate": 1e-1, "expert_learning_rate": 2e-1, "router_learning_rate": 3e-1}
    rates |= {"baseline_learning_rate": 4e-1, "expert_learning_rates_by_domain": {"medical": 5e-1}}
    experiment = Experiment(root / "run", root / "data", Profile(**{**profile.__dict__, **rates}), model=model_dir)
    assert [experiment.profile.learning_rate(s) for s in ("universal", "expert", "router", "joint")] == [
        1e-1,
        2e-1,
        3e-1,
        4e-1,
    ]
    assert experiment.profile.learning_rate("expert", "math") == 2e-1
    assert experiment.profile.learning_rate("expert", "medical") == 5e-1


def test_learning_rates_are_chosen_per_stage_on_dev_rows_and_resumed(setup, caplog):
    root, model_dir, profile = setup
    experiment = Experiment(root / "run", root / "data", profile, model=model_dir)
    choices = experiment.choose_learning_rates([1e-2, 1e-7])
    assert set(choices) == {"universal", "expert-math", "expert-medical", "expert-finance", "baseline"}
    for label, choice in choices.items():
        assert choice["chosen"] in (1e-2, 1e-7) and set(choice["dev_loss"]) == {"0.01", "1e-07"}, label
        # the tiny tasks are learnable: the larger rate lowers the dev loss below where it started
        assert choice["chosen"] == 1e-2 and choice["dev_loss"]["0.01"] < choice["before_dev_loss"], label
    assert json.loads((root / "run" / "learning-rates.json").read_text()) == choices
    caplog.set_level("INFO", logger="modula.lr_search")
    caplog.clear()
    assert experiment.choose_learning_rates([1e-2, 1e-7]) == choices
    assert not [r for r in caplog.records if "learning rate" in r.message]  # nothing tried again


def test_the_default_profile_uses_the_rates_chosen_on_dev_rows():
    from modula.experiment import PROFILES, SCORED_DOMAINS

    chosen = json.loads((Path(__file__).parents[2] / "docs" / "results" / "modula-learning-rates.json").read_text())
    profile = PROFILES["default"]
    assert profile.learning_rate("universal") == chosen["universal"]["chosen"]
    for domain in SCORED_DOMAINS:
        assert profile.learning_rate("expert", domain) == chosen[f"expert-{domain}"]["chosen"], domain
    assert profile.learning_rate("joint") == chosen["baseline"]["chosen"]


@pytest.mark.parametrize("fast_bf16", [True, False])
def test_bf16_on_cpu_only_where_the_cpu_runs_it_fast(setup, monkeypatch, fast_bf16):
    import lmcommon.device

    root, _, profile = setup
    monkeypatch.setattr(lmcommon.device, "cpu_bf16_supported", lambda: fast_bf16)
    for wanted in (True, False):
        experiment = Experiment(root / "run", root / "data", Profile(**{**profile.__dict__, "bf16_on_cpu": wanted}))
        experiment.device = "cpu"  # the CPU rule is under test; on a CUDA machine the card decides
        args = experiment.training_args("stage", 1e-3)
        assert args.bf16 is (wanted and fast_bf16)
        assert args.learning_rate == 1e-3


def test_a_profile_runs_only_its_systems(setup, monkeypatch):
    import modula.train

    root, model_dir, profile = setup
    systems = ("base", "lora", "modula-res", "modula-res+finance")
    changes = {"systems": systems, "changed_answer_prompts": 0, "note": "Quick.", "routing_loss_weight": 0.5}
    profile = Profile(**{**profile.__dict__, **changes})
    stages = []
    train_stage = modula.train.train_stage

    def recording_train_stage(model, stage, *args, **kwargs):
        stages.append((stage, kwargs["routing_loss_weight"]))
        return train_stage(model, stage, *args, **kwargs)

    monkeypatch.setattr(modula.train, "train_stage", recording_train_stage)
    output = root / "subset"
    results = run_experiment(output, root / "data", profile, model=model_dir)
    # the profile's routing term reaches both router stages (MoDULA-Res, its plug-in) and no other stage
    assert [weight for stage, weight in stages if stage == "router"] == [0.5, 0.5]
    assert {weight for stage, weight in stages if stage != "router"} == {0.0}
    assert [row["system"] for row in results["rows"]] == list(systems)
    assert sorted(
        path.stem for path in (output / "results").glob("*.json") if path.stem != "universal-costs"
    ) == sorted(systems)
    assert not (output / "models" / "modula-flan").exists()  # nothing of the systems left out was trained
    rows = {row["system"]: row for row in results["rows"]}
    assert "answers_changed_by_experts" not in rows["modula-res"]  # measured only when asked for
    assert "expert_losses" in rows["modula-res"]
    assert results["plug_in"]["molora_retrain"] is None and results["plug_in"]["ratio"] == {}
    verdicts = {claim["claim"]: claim["verdict"] for claim in results["claims"]}
    assert verdicts["MoDULA-Res beats MoLoRA"] == "not measurable here"
    assert {(v["system"], v["domain"]) for v in results["learned"]} == {
        (system, domain) for system in systems[1:] for domain in ("math", "medical", "finance")
    }
    table = (output / "results.md").read_text()
    assert table.startswith("Quick.\n\n| system |") and "Which domains each system learned" in table


def test_profile_rejects_unknown_or_disordered_systems_and_tasks():
    with pytest.raises(ValueError, match=r"Profile\.systems"):
        Profile("x", 1, 1, 1, systems=("base", "gpt"))
    with pytest.raises(ValueError, match="keep the order"):
        Profile("x", 1, 1, 1, systems=("lora", "base"))
    with pytest.raises(ValueError, match="plugs into modula-res"):
        Profile("x", 1, 1, 1, systems=("base", "modula-res+finance"))
    with pytest.raises(ValueError, match="arithmetic_tasks"):
        Profile("x", 1, 1, 1, arithmetic_tasks=("5D+",))
    with pytest.raises(ValueError, match="balanced_test_domains"):
        Profile("x", 1, 1, 1, balanced_test_domains=("math",))


def test_arithmetic_tasks_choose_the_math_rows_trained_and_scored(tmp_path, setup):
    _, model_dir, profile = setup
    tasks = ("2D+", "3D-", "2Dx")
    math = [{**row, "task": tasks[i % 3]} for i, row in enumerate(_rows("math", 12))]
    splits = {d: {"train": _rows(d, 8), "test": _rows(d, 6)} for d in ("medical", "finance", "general")}
    write_domain_data({**splits, "math": {"train": math, "test": math}}, tmp_path / "data")
    profile = Profile(
        **{**profile.__dict__, "arithmetic_tasks": ("2D+", "2Dx"), "expert_examples": 100, "eval_arithmetic": 100}
    )
    experiment = Experiment(tmp_path / "run", tmp_path / "data", profile, model=model_dir)
    assert {row["task"] for row in experiment.expert_rows["math"]} == {"2D+", "2Dx"}
    assert [row["task"] for row in experiment.test_rows["math"]] == ["2D+", "2Dx"] * 4
    # 8 rows of the two tasks: 2 dev rows, 6 trained on, repeated to 100
    assert len({id(row) for row in experiment.expert_rows["math"]}) == 6


def test_a_balanced_test_domain_scores_as_many_rows_of_every_label(tmp_path, setup):
    _, model_dir, profile = setup
    labels = ["neutral"] * 5 + ["positive", "neutral", "negative", "positive", "negative", "neutral", "negative"]
    finance = [
        {**row, "answer": label, "response": label} for row, label in zip(_rows("finance", 12), labels, strict=True)
    ]
    for index, row in enumerate(finance):
        row["prompt"] = f"tweet {index}"
    splits = {d: {"train": _rows(d, 8), "test": _rows(d, 3)} for d in ("math", "medical", "general")}
    write_domain_data({**splits, "finance": {"train": _rows("finance", 8), "test": finance}}, tmp_path / "data")
    profile = Profile(**{**profile.__dict__, "balanced_test_domains": ("finance",), "eval_finance": 100})
    experiment = Experiment(tmp_path / "run", tmp_path / "data", profile, model=model_dir)
    scored = experiment.test_rows["finance"]
    assert collections.Counter(row["answer"] for row in scored) == {"neutral": 2, "positive": 2, "negative": 2}
    assert [row["prompt"] for row in scored] == [f"tweet {i}" for i in (0, 1, 5, 7, 8, 9)]  # the split's order
    small = Profile(**{**profile.__dict__, "eval_finance": 3})  # one of each label
    assert len(Experiment(tmp_path / "run", tmp_path / "data", small, model=model_dir).test_rows["finance"]) == 3
    with pytest.raises(ValueError, match="balanced test set"):
        Experiment(tmp_path / "run", tmp_path / "data", Profile(**{**profile.__dict__, "eval_finance": 2}))
