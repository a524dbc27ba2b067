"""The generator comparison: which paths are sampled, what each generator is asked, and the end-to-end run on a
tiny model."""

from __future__ import annotations

import json

import pytest

from htcgen.comparison import (
    GENERATORS,
    REAL,
    ComparisonConfig,
    bootstrap_difference,
    compare_generators,
    comparison_requests,
    held_out_targets,
    permutation_test,
)
from htcgen.generator import GeneratorSettings
from htcgen.report import comparison_markdown

from .conftest import TAXONOMY, TOPICS, topic_documents

PHRASES = {
    "Sports": {"own": [["match", 1.0]]},
    "Football": {"own": [["striker", 1.0], ["goal", 0.5], ["penalty", 0.4]]},
    "Tennis": {"own": [["racket", 1.0]]},
}


def test_targets_are_distinct_held_out_paths():
    documents = topic_documents(per_path=3)
    targets = held_out_targets(documents, 3, seed=0)
    assert len({tuple(t["labels"]) for t in targets}) == 3
    assert all(t in documents for t in targets)
    assert len(held_out_targets(documents, 10, seed=0)) == len(TOPICS)  # never more than there are paths
    assert held_out_targets(documents, 3, seed=0) == targets


def test_requests_per_mode():
    targets = [{"labels": ["Sports", "Football"]}, {"labels": ["Sports", "Tennis"]}]
    full = comparison_requests(targets, PHRASES, "full", samples_per_path=4, max_phrases=2, seed=0)
    assert len(full) == 8 and [r["labels"] for r in full[:4]] == [["Sports", "Football"]] * 4
    pool = {"match", "striker", "goal", "penalty"}
    assert all(1 <= len(r["phrases"]) <= 2 and set(r["phrases"]) <= pool for r in full[:4])
    assert all(set(r["phrases"]) <= {"match", "racket"} for r in full[4:])
    assert all(p in r["prompt"] for r in full for p in r["phrases"])
    path_only = comparison_requests(targets, PHRASES, "path", samples_per_path=2, max_phrases=2, seed=0)
    assert all(r["phrases"] == [] and "Use these phrases" not in r["prompt"] for r in path_only)
    assert "Sports > Football" in path_only[0]["prompt"]
    deepest = comparison_requests(targets, PHRASES, "full", 4, max_phrases=2, seed=0, phrase_labels=1)
    assert all(set(r["phrases"]) <= {"striker", "goal", "penalty"} for r in deepest[:4])
    assert all(r["phrases"] == ["racket"] for r in deepest[4:])


def test_config_rejects_empty_sampling():
    with pytest.raises(ValueError, match="samples_per_path"):
        ComparisonConfig(samples_per_path=0)


def test_compare_generators_end_to_end(tmp_path, chat_tokenizer, tiny_llama):
    from htcgen.generator import add_lora
    from htcgen.prompts import build_prompt

    documents = topic_documents(per_path=4)
    words = {w for d in documents for w in d["text"].split()}
    for path in TOPICS:
        words |= set(build_prompt(list(path), ["striker", "goal", "match"], "full").split())
    tokenizer = chat_tokenizer(sorted(words))
    base = tmp_path / "base"
    tiny_llama(len(tokenizer)).save_pretrained(base)
    tokenizer.save_pretrained(base)
    from transformers import AutoModelForCausalLM

    add_lora(AutoModelForCausalLM.from_pretrained(base), rank=4).save_pretrained(tmp_path / "adapter")
    settings = GeneratorSettings(model=str(base), max_new_tokens=10, generation_batch_size=4)
    config = ComparisonConfig(paths=3, samples_per_path=2)
    test = [{**d, "id": f"test-{d['id']}"} for d in topic_documents(per_path=2)]
    results = compare_generators(
        tmp_path / "run", documents, test, TAXONOMY, PHRASES, tmp_path / "adapter", settings, config
    )
    assert set(results) == {*GENERATORS, REAL, "setup", "differences", "tests"}
    assert all(0.0 < test["p_value"] <= 1.0 for test in results["tests"].values())
    gap = results["differences"]["label_consistency: fine-tuned - prompted"]
    assert gap["low"] <= gap["difference"] <= gap["high"]
    for name in GENERATORS:
        samples = [json.loads(line) for line in (tmp_path / "run" / f"generated-comparison-{name}.jsonl").open()]
        assert len(samples) <= 6 and results[name]["samples"] == len(samples)
        assert 0.0 <= results[name]["label_consistency"] <= 1.0
    assert results[REAL]["samples"] == 3 and results[REAL]["distinct_2_within_path"] is None
    # the judge (TF-IDF on the topic documents) recognises real held-out documents of these clear-cut topics
    assert results[REAL]["label_consistency"] == 1.0
    assert json.loads((tmp_path / "run" / "comparison.json").read_text())["setup"]["paths"] == 3
    table = comparison_markdown(results)
    assert "| real held-out documents | 100.0 |" in table and "n/a" in table


def _share(samples):
    return sum(s["good"] for s in samples) / len(samples)


# two sample sets over paths a-d: the first is good everywhere, the second only on a and b
ALL_GOOD = [{"labels": [p], "good": 1} for p in "abcd" for _ in range(2)]
GOOD_ON_AB = [{"labels": [p], "good": int(p in "ab")} for p in "abcd" for _ in range(2)]


def test_bootstrap_difference_hand_made():
    assert bootstrap_difference(ALL_GOOD, ALL_GOOD, _share) == {"difference": 0.0, "low": 0.0, "high": 0.0}
    gap = bootstrap_difference(ALL_GOOD, GOOD_ON_AB, _share, resamples=500)
    assert gap["difference"] == pytest.approx(0.5)
    # a resample of paths can hold only a and b (difference 0) or only c and d (difference 1)
    assert 0.0 <= gap["low"] < 0.5 < gap["high"] <= 1.0
    with pytest.raises(ValueError, match="share no label path"):
        bootstrap_difference(ALL_GOOD, [{"labels": ["z"], "good": 0}], _share)


def test_permutation_test_hand_made():
    assert permutation_test(ALL_GOOD, ALL_GOOD, _share) == {"difference": 0.0, "p_value": 1.0}
    # swapping the sets on a and b changes nothing; the observed +0.5 comes back only when neither c nor d is
    # swapped: one resample in four
    test = permutation_test(ALL_GOOD, GOOD_ON_AB, _share, resamples=2000)
    assert test["difference"] == pytest.approx(0.5)
    assert 0.2 < test["p_value"] < 0.3
    with pytest.raises(ValueError, match="share no label path"):
        permutation_test(ALL_GOOD, [{"labels": ["z"], "good": 0}], _share)
