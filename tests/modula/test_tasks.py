from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from lmcommon.errors import DataError
from modula.tasks import arithmetic_problems, build_domain_data, pubmedqa_rows, read_domain_split, tfns_rows

REPO = Path(__file__).resolve().parents[2]


def test_arithmetic_problems_are_correct_seeded_and_balanced():
    rows = arithmetic_problems(700, seed=3)
    assert rows == arithmetic_problems(700, seed=3)
    assert rows != arithmetic_problems(700, seed=4)
    assert Counter(r["task"] for r in rows) == {k: 100 for k in ("2D+", "3D+", "4D+", "2D-", "3D-", "4D-", "2Dx")}
    for row in rows:
        question = row["prompt"].removeprefix("What is ").split("?")[0]
        a, operation, b = question.split()
        expected = {"plus": int(a) + int(b), "minus": int(a) - int(b), "times": int(a) * int(b)}[operation]
        assert row["answer"] == row["response"] == str(expected)
        digits = int(row["task"][0])
        assert len(a) == len(b) == digits
        assert "number only" in row["prompt"]


def test_shipped_splits_are_what_build_data_writes():
    splits = build_domain_data(REPO / "data" / "instruct", seed=13)
    for domain, parts in splits.items():
        for part, rows in parts.items():
            assert read_domain_split(REPO / "data" / "modula", domain, part) == json.loads(json.dumps(rows)), (
                f"data/modula/{domain}/{part}.jsonl is stale: rerun `modula build-data`"
            )
    # the test sets are held out: no prompt is in both parts
    for domain, parts in splits.items():
        assert not {r["prompt"] for r in parts["train"]} & {r["prompt"] for r in parts["test"]}, domain
    assert {r["answer"] for r in splits["medical"]["test"]} == {"yes", "no", "maybe"}
    assert len(splits["medical"]["test"]) == 500  # PubMedQA's official test PMIDs


def test_bad_finance_label_names_file_and_line(tmp_path):
    path = tmp_path / "tfns.csv"
    path.write_text("text,label\n$X up,1\n$Y down,7\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"tfns\.csv:3: field 'label'"):
        tfns_rows(path)


def test_missing_split_says_how_to_build_it(tmp_path):
    with pytest.raises(DataError, match="modula build-data"):
        read_domain_split(tmp_path, "math", "train")


def _pubmedqa_files(tmp_path, item):
    labelled, test_ids = tmp_path / "ori_pqal.json", tmp_path / "test_ground_truth.json"
    labelled.write_text(json.dumps({"1": item, "2": {**item, "final_decision": "no"}}), encoding="utf-8")
    test_ids.write_text(json.dumps({"2": "no"}), encoding="utf-8")
    return labelled, test_ids


def test_pubmedqa_settings_read_the_conclusion_or_the_cut_abstract(tmp_path):
    item = {
        "QUESTION": "Does X help?",
        "CONTEXTS": ["Background " * 60, "Methods."],
        "LONG_ANSWER": "X helped every patient.",
        "final_decision": "yes",
    }
    files = _pubmedqa_files(tmp_path, item)
    (train,), (test,) = pubmedqa_rows(*files)  # reasoning-free by default
    assert train["prompt"].startswith("Conclusion: X helped every patient.\nQuestion: Does X help?")
    assert (train["answer"], test["answer"]) == ("yes", "no")
    assert train["task"] == "pubmedqa-reasoning-free"
    (train,), _ = pubmedqa_rows(*files, setting="reasoning-required")
    assert train["prompt"].startswith("Context: Background") and "helped" not in train["prompt"]
    assert train["prompt"].index("Question:") < 420 + len("Context: ")  # the abstract is cut
    with pytest.raises(ValueError, match="reasoning-free"):
        pubmedqa_rows(*files, setting="oracle")


def test_pubmedqa_item_without_its_conclusion_names_the_field(tmp_path):
    files = _pubmedqa_files(tmp_path, {"QUESTION": "Q?", "CONTEXTS": ["c"], "final_decision": "yes"})
    with pytest.raises(DataError, match="LONG_ANSWER"):
        pubmedqa_rows(*files)
    assert len(pubmedqa_rows(*files, setting="reasoning-required")[0]) == 1
