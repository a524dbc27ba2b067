"""The low-resource protocol end to end on tiny in-process models (generator: a tiny Llama; encoder: a tiny BERT)."""

from __future__ import annotations

import collections
import dataclasses
import json
import math

import pytest

from htcgen.experiment import METHODS, ExperimentConfig, run_experiment

from .conftest import TAXONOMY, TOPICS, tiny_experiment_config, topic_documents


def test_grid_runs_every_method_and_classifier_and_resumes(tmp_path, generator_folder, tiny_bert, caplog):
    train, test = topic_documents(per_path=4), topic_documents(per_path=3)
    test = [{**d, "id": f"test-{d['id']}"} for d in test]
    config = tiny_experiment_config(
        generator_folder,
        tiny_bert,
        seeds=(0, 1),
        methods=METHODS,
        classifiers=("tfidf", "encoder"),
        consistency_threshold=0.0,  # the tiny generator writes noise: keep it, the plumbing is under test
    )
    output = tmp_path / "run"
    results = run_experiment(output, train, test, TAXONOMY, config)
    assert len(results["rows"]) == 2 * 2 * 5  # seeds x classifiers x methods
    for row in results["rows"]:
        assert row["train_real"] == 8  # k = 2 documents for each of the 4 leaves
        assert 0.0 <= row["micro_f1"] <= 1.0 and set(row["levels"]) == {"1", "2"}  # read back from JSON
        if row["method"] == "none":
            assert row["train_augmented"] == 0
        if row["method"] == "eda":
            assert row["train_augmented"] == 8
    assert len(results["summary"]) == 2 * 5
    assert all(entry["seeds"] == 2 for entry in results["summary"])
    cell = output / "cells" / "depth2-k2-seed0"
    for method in ("path", "phrases", "full"):
        generated = [json.loads(line) for line in (cell / f"generated-{method}.jsonl").read_text().splitlines()]
        assert len(generated) == 8 and all(g["labels"] in [list(p) for p in TOPICS] for g in generated)
    report = json.loads((cell / "generation-report.json").read_text())
    assert report["full"]["filters"]["received"] == 8
    assert set(report["full"]["filters"]["dropped"]) == {"length", "near_duplicate", "label_consistency"}
    assert "| 2 | 2 | encoder | generated: semantic + phrase (full) |" in (output / "results.md").read_text()

    caplog.set_level("INFO", logger="htcgen")
    caplog.clear()
    again = run_experiment(output, train, test, TAXONOMY, config)
    assert again["rows"] == json.loads(json.dumps(results["rows"]))
    assert not [r for r in caplog.records if "samples" in r.message]  # nothing generated the second time
    assert not [r for r in caplog.records if "micro" in r.message]  # and no classifier trained

    (cell / "results" / "tfidf-eda.json").unlink()
    caplog.clear()
    rerun = run_experiment(output, train, test, TAXONOMY, config)["rows"]

    def scores(rows):  # the timing differs between runs; the recomputed scores must not
        return [{key: value for key, value in row.items() if key != "fit_time_s"} for row in rows]

    assert scores(rerun) == scores(again["rows"])
    assert [r.message.split(":")[0] for r in caplog.records if "micro" in r.message] == ["depth2-k2-seed0 tfidf eda"]


def test_config_rejects_unknown_methods():
    with pytest.raises(ValueError, match="unknown method"):
        ExperimentConfig(methods=("none", "backtranslation"))
    for fields, message in [
        ({"judge": "bert"}, "unknown judge"),
        ({"selection": "best"}, "unknown selection"),
        ({"keep_share": 0.0}, "keep_share"),
        ({"oversample": 0.5}, "oversample"),
    ]:
        with pytest.raises(ValueError, match=message):
            ExperimentConfig(**fields)


def test_the_encoder_judge_selects_a_share_and_the_oracle_reports_what_was_kept(tmp_path, generator_folder, tiny_bert):
    train, test = topic_documents(per_path=4), topic_documents(per_path=2)
    test = [{**d, "id": f"test-{d['id']}"} for d in test]
    config = tiny_experiment_config(
        generator_folder, tiny_bert, judge="encoder", selection="share", keep_share=0.5, oversample=1.5, oracle=True
    )
    output = tmp_path / "run"
    results = run_experiment(output, train, test, TAXONOMY, config)
    cell = output / "cells" / "depth2-k2-seed0"
    assert (cell / "judge-encoder" / "training-complete").is_file()  # the cell's own encoder judged
    assert (output / "oracle-depth2" / "training-complete").is_file()  # trained once, on every training document
    report = json.loads((cell / "generation-report.json").read_text())
    assert set(report["full"]["filters"]["dropped"]) == {"length", "near_duplicate", "judge_selection"}
    [row] = results["oracle"]
    generated = [json.loads(line) for line in (cell / "generated-full.jsonl").read_text().splitlines()]
    # 1.5 x the 8 real documents requested; the tiny generator may end a sample before its first word (dropped)
    assert row["method"] == "full" and row["generated"] == len(generated) and 8 < len(generated) <= 12
    # half of each path's documents that passed the length and duplicate filters, rounded up
    assert (
        report["full"]["filters"]["dropped"]["length"] == report["full"]["filters"]["dropped"]["near_duplicate"] == 0
    )
    per_path = collections.Counter(tuple(g["labels"]) for g in generated)
    assert row["kept"] == sum(math.ceil(count / 2) for count in per_path.values())
    for key in ("generated_share", "kept_share", "real_share"):
        assert 0.0 <= row[key] <= 1.0
    assert "The share whose oracle path equals the requested one" in (output / "results.md").read_text()


def test_the_joint_judge_asks_tfidf_and_the_cells_encoder(tmp_path, generator_folder, tiny_bert):
    from htcgen.experiment import Cell, cell_judge
    from htcgen.judges import JointJudge
    from htcgen.tfidf import TfidfHierarchyClassifier

    train, test = topic_documents(per_path=4), topic_documents(per_path=2)
    cell = Cell(tmp_path / "run", train, test, TAXONOMY, depth=2, k=2, seed=0)
    judge = cell_judge(cell, tiny_experiment_config(generator_folder, tiny_bert, judge="both"))
    assert isinstance(judge, JointJudge)
    tfidf, encoder = judge.judges
    assert isinstance(tfidf, TfidfHierarchyClassifier)
    assert (cell.folder / "judge-encoder" / "training-complete").is_file()  # the cell's own encoder, saved
    texts, paths = [d["text"] for d in test], [d["labels"] for d in test]
    both = [a and b for a, b in zip(tfidf.agrees(texts, paths, 0.0), encoder.agrees(texts, paths, 0.0), strict=True)]
    assert judge.agrees(texts, paths, 0.0) == both


def test_the_oracle_never_changes_what_a_cell_trains_on(tmp_path, generator_folder, tiny_bert):
    from htcgen.experiment import Cell, augmentations, cell_judge

    train, test = topic_documents(per_path=4), topic_documents(per_path=2)
    config = tiny_experiment_config(generator_folder, tiny_bert, selection="share")
    cell = Cell(tmp_path / "run", train, test, TAXONOMY, depth=2, k=2, seed=0)
    judge = cell_judge(cell, config)
    without = augmentations(cell, config, judge)

    class SpyOracle:
        """Labels every document with the wrong path and records what it was shown."""

        def __init__(self):
            self.shown = []

        def predict(self, texts):
            self.shown.append(list(texts))
            return [["Science", "Biology"]] * len(texts)

    oracle = SpyOracle()
    with_oracle = augmentations(cell, config, judge, oracle)  # the generated documents are read back, not redrawn
    assert with_oracle == without
    generated = [json.loads(line)["text"] for line in (cell.folder / "generated-full.jsonl").read_text().splitlines()]
    # what it was shown: the cell's real documents, then the generated ones, then the kept ones; nothing after
    assert oracle.shown == [[d["text"] for d in cell.train], generated, [d["text"] for d in without["full"]]]
    diagnostic = json.loads((cell.folder / "oracle-report.json").read_text())
    biology = sum(d["labels"] == ["Science", "Biology"] for d in cell.train)
    assert diagnostic["real"] == {"documents": 8, "agree": biology, "share": biology / 8}


def test_a_generator_can_see_every_level_and_the_siblings_while_cells_stay_at_their_depth(
    tmp_path, generator_folder, tiny_bert
):
    from htcgen.experiment import Cell, augmentations, cell_judge
    from htcgen.taxonomy import Taxonomy

    # a third level under every second-level label of the shared taxonomy; the cell classifies at depth 2
    leaves = {path[-1]: [f"{path[-1]}History", f"{path[-1]}People"] for path in TOPICS}
    taxonomy = Taxonomy({**{label: list(kids) for label, kids in TAXONOMY.children.items()}, **leaves})

    def deepen(documents):
        return [{**d, "labels": [*d["labels"], leaves[d["labels"][-1]][i % 2]]} for i, d in enumerate(documents)]

    train, test = deepen(topic_documents(per_path=4)), deepen(topic_documents(per_path=2))
    generator = dataclasses.replace(tiny_experiment_config(generator_folder, tiny_bert).generator, contrast_siblings=1)
    config = tiny_experiment_config(
        generator_folder, tiny_bert, methods=("none", "path"), full_label_paths=True, generator=generator
    )
    cell = Cell(tmp_path / "run", train, test, taxonomy, depth=2, k=2, seed=0)
    assert all(len(d["labels"]) == 2 for d in cell.train)
    assert [d["id"] for d in cell.train_whole_paths] == [d["id"] for d in cell.train]
    augmented = augmentations(cell, config, cell_judge(cell, config))
    generated = [json.loads(line) for line in (cell.folder / "generated-path.jsonl").read_text().splitlines()]
    assert generated
    whole_paths = {tuple(d["labels"]) for d in cell.train_whole_paths}
    for sample in generated:
        assert tuple(sample["labels"]) in whole_paths  # the whole path of one of the cell's documents
        leaf = sample["labels"][-1]
        other = next(label for label in leaves[sample["labels"][1]] if label != leaf)
        assert f"Category: {' > '.join(sample['labels'])}. Not: {other}." in sample["prompt"]
    # what reaches the judge and the classifier is labelled at the cell's depth
    assert augmented["path"] and all(len(d["labels"]) == 2 for d in augmented["path"])
