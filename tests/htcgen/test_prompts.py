from __future__ import annotations

import random

import pytest

from htcgen.generator import plan_samples
from htcgen.prompts import build_prompt, contrast_labels, document_phrases, lead, path_phrases, training_pairs
from htcgen.taxonomy import Taxonomy
from lmcommon.sft import IGNORE_INDEX, tokenize_example

PHRASES = {
    "Sports": {"own": [["match", 0.5]], "inherited": []},
    "Football": {"own": [["striker", 0.9], ["penalty area", 0.8], ["racket", 0.1]], "inherited": [["match", 0.5]]},
}
DOCUMENT = {"text": "The striker scored from the penalty area to win the match.", "labels": ["Sports", "Football"]}
SPORTS = Taxonomy({"Root": ["Sports", "Arts"], "Sports": ["Football", "Tennis", "Golf", "Rowing"], "Arts": ["Opera"]})


def test_prompt_modes():
    assert build_prompt(["Sports", "Football"], ["striker"]) == (
        "Write the introduction of an encyclopedia article. Category: Sports > Football. Use these phrases: striker."
    )
    assert "Use these phrases" not in build_prompt(["Sports"], ["striker"], mode="path")
    assert "Category" not in build_prompt(["Sports"], ["striker"], mode="phrases")
    with pytest.raises(ValueError, match="mode must be one of"):
        build_prompt(["Sports"], [], mode="both")


def test_document_phrases_are_the_path_phrases_the_text_contains():
    assert document_phrases(DOCUMENT["text"], DOCUMENT["labels"], PHRASES) == ["match", "striker", "penalty area"]


def test_path_phrases_of_the_deepest_labels_with_phrases():
    path = ["Sports", "Football", "Goalkeepers"]  # the leaf has no phrases: Football is the deepest that has
    assert path_phrases(path, PHRASES) == ["match", "striker", "penalty area", "racket"]
    assert path_phrases(path, PHRASES, deepest=1) == ["striker", "penalty area", "racket"]
    assert path_phrases(path, PHRASES, deepest=5) == path_phrases(path, PHRASES)
    with pytest.raises(ValueError, match="deepest"):
        path_phrases(path, PHRASES, deepest=0)


def test_training_pairs_offer_only_the_deepest_labels_phrases():
    pairs = training_pairs([DOCUMENT] * 30, PHRASES, max_phrases=3, phrase_labels=1, seed=3)
    offered = [p["prompt"].split("Use these phrases: ")[1] for p in pairs]
    assert all("match" not in o for o in offered)  # Sports' phrase: in the text, but not the deepest label's
    assert any("striker" in o for o in offered) and any("penalty area" in o for o in offered)


def test_training_pairs_draw_random_subsets_and_keep_the_document():
    pairs = training_pairs([DOCUMENT] * 30, PHRASES, max_phrases=2, seed=3)
    assert all(p["response"] == DOCUMENT["text"] and "Sports > Football" in p["prompt"] for p in pairs)
    assert len({p["prompt"] for p in pairs}) > 1  # different subsets: diversity
    assert all("racket" not in p["prompt"] for p in pairs)  # a phrase absent from the document is never offered
    assert training_pairs([DOCUMENT] * 30, PHRASES, max_phrases=2, seed=3) == pairs


def test_lead_keeps_whole_sentences_within_the_budget():
    text = "Alpha beta gamma. Delta epsilon zeta eta. Theta iota kappa lambda mu nu."
    assert lead(text, 20) == text
    assert lead(text, 12) == "Alpha beta gamma. Delta epsilon zeta eta."
    assert lead(text, 5) == "Alpha beta gamma."
    # whole sentences would fill less than half the budget: cut mid-sentence instead
    long_second = "One. Two three four five six seven eight nine ten eleven."
    assert lead(long_second, 8) == "One. Two three four five six seven eight"
    with pytest.raises(ValueError, match="max_words"):
        lead(text, 0)


def test_training_on_leads_offers_only_the_phrases_of_the_lead():
    document = {
        "text": "The striker scored late. The match went on. Later the penalty area was rebuilt.",
        "labels": ["Sports", "Football"],
    }
    pairs = training_pairs([document] * 20, PHRASES, max_phrases=3, lead_words=9, seed=0)
    assert all(p["response"] == "The striker scored late. The match went on." for p in pairs)
    offered = {phrase for p in pairs for phrase in p["prompt"].split("phrases: ")[1].rstrip(".").split(", ")}
    assert offered == {"striker", "match"}  # "penalty area" lies beyond the lead


def test_loss_falls_on_the_document_only(chat_tokenizer):
    pair = training_pairs([DOCUMENT], PHRASES, max_phrases=1, seed=0)[0]
    tokenizer = chat_tokenizer((pair["prompt"] + " " + pair["response"]).split())
    example = tokenize_example(tokenizer, pair["prompt"], pair["response"], max_length=256)
    labelled = [t for t, label in zip(example["input_ids"], example["labels"], strict=True) if label != IGNORE_INDEX]
    assert tokenizer.decode(labelled) == DOCUMENT["text"] + " </s>"


def test_a_prompt_that_names_the_path_names_the_siblings_to_contrast():
    assert build_prompt(["Sports", "Football"], [], mode="path", contrast=["Golf", "Tennis"]) == (
        "Write the introduction of an encyclopedia article. Category: Sports > Football. Not: Golf, Tennis."
    )
    assert "Not:" not in build_prompt(["Sports", "Football"], ["striker"], mode="phrases", contrast=["Golf"])
    assert build_prompt(["Sports"], ["striker"], contrast=[]) == build_prompt(["Sports"], ["striker"])


def test_contrast_labels_are_siblings_of_the_deepest_label_and_draw_nothing_when_off():
    rng = random.Random(0)
    for _ in range(20):
        drawn = contrast_labels(["Sports", "Football"], SPORTS, 2, rng)
        assert len(drawn) == 2 and set(drawn) <= {"Tennis", "Golf", "Rowing"} and drawn == sorted(drawn)
    assert contrast_labels(["Sports", "Football"], SPORTS, 5, rng) == ["Golf", "Rowing", "Tennis"]
    assert contrast_labels(["Arts", "Opera"], SPORTS, 2, rng) == []  # an only child has nothing to contrast
    assert contrast_labels(["Sports"], SPORTS, 1, rng) == ["Arts"]
    state = rng.getstate()
    assert contrast_labels(["Sports", "Football"], SPORTS, 0, rng) == []
    assert contrast_labels(["Sports", "Football"], None, 2, rng) == []
    assert rng.getstate() == state  # off: no draw, so runs without contrast repeat as before
    with pytest.raises(ValueError, match="contrast count must be >= 0"):
        contrast_labels(["Sports"], SPORTS, -1, rng)


def test_training_and_generation_prompts_name_the_same_kind_of_contrast():
    pairs = training_pairs([DOCUMENT] * 30, PHRASES, seed=3, mode=("full", "path", "phrases"))
    contrasted = training_pairs(
        [DOCUMENT] * 30, PHRASES, seed=3, mode=("full", "path", "phrases"), taxonomy=SPORTS, contrast_siblings=1
    )
    named = [p["prompt"].split("Not: ")[1].split(".")[0] for p in contrasted if "Category:" in p["prompt"]]
    assert named and set(named) <= {"Tennis", "Golf", "Rowing"} and len(set(named)) > 1
    assert all("Not:" not in p["prompt"] for p in contrasted if "Category:" not in p["prompt"])
    assert all("Not:" not in p["prompt"] for p in pairs)  # off by default
    requests = plan_samples([DOCUMENT], PHRASES, 20, mode="path", seed=1, taxonomy=SPORTS, contrast_siblings=2)
    assert all(len(r["prompt"].split("Not: ")[1].split(", ")) == 2 for r in requests)
    assert plan_samples([DOCUMENT], PHRASES, 20, mode="path", seed=1) == plan_samples(
        [DOCUMENT], PHRASES, 20, mode="path", seed=1, taxonomy=SPORTS, contrast_siblings=0
    )
