from __future__ import annotations

import math

import pytest
import torch

from modula.scoring import answer_statistics, extract_label, response_perplexity, score_reply


def _row(domain, answer, task=None):
    return {"domain": domain, "answer": answer, "task": task or domain}


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("124", True),
        ("The answer is 124.", True),
        ("48 plus 76 is 124", True),  # last number wins
        ("124.0", True),
        ("1,24", False),  # not a grouped thousands number: two numbers, last is 24
        ("I do not know", False),  # no number at all
        ("", False),
        ("-124", False),
    ],
)
def test_numeric_scorer(reply, expected):
    assert score_reply(_row("math", "124"), reply) is expected


def test_numeric_scorer_negative_and_grouped_answers():
    assert score_reply(_row("math", "-550"), "-550")
    assert score_reply(_row("math", "1234"), "It comes to 1,234 dollars.")


@pytest.mark.parametrize(
    ("reply", "label"),
    [
        ("yes", "yes"),
        ("Yes.", "yes"),
        ("MAYBE", "maybe"),
        ("The answer is: No, because the study was small.", "no"),
        ("Yes or no? I would say no", "yes"),  # the first label named is the answer
        ("yesterday it rained", None),  # whole words only
        ("", None),
    ],
)
def test_extract_label(reply, label):
    assert extract_label(reply, ("yes", "no", "maybe")) == label


def test_label_scorers_by_domain():
    assert score_reply(_row("medical", "no"), "No.")
    assert not score_reply(_row("medical", "no"), "Maybe not")  # "maybe" comes first
    assert score_reply(_row("finance", "negative"), "Negative sentiment")
    assert not score_reply(_row("finance", "neutral"), "bullish")  # not one of the labels: wrong
    with pytest.raises(ValueError, match="general"):
        score_reply(_row("general", "text"), "text")


@pytest.mark.parametrize("selective", ["per row", "union", "every position"])
def test_response_perplexity_matches_hand_computed_loss(chat_tokenizer, tiny_llama, monkeypatch, selective):
    from lmcommon import target_logits

    # the vocabulary logits at the response positions (per row or their union), or at all of them: the same loss
    monkeypatch.setattr(target_logits, "_slices_per_row", lambda: selective == "per row")
    if selective == "every position":
        monkeypatch.setattr(target_logits, "supports_target_logits", lambda model: False)
    words = ["a", "b", "c", "d", "e"]
    tokenizer = chat_tokenizer(words)
    model = tiny_llama(len(tokenizer)).eval()
    rows = [{"prompt": "a b", "response": "c d"}, {"prompt": "e", "response": "a b c"}]
    nll, count = 0.0, 0
    for row in rows:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": row["prompt"]}, {"role": "assistant", "content": row["response"]}],
            tokenize=False,
        )
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": row["prompt"]}], tokenize=False, add_generation_prompt=True
        )
        ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        start = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        with torch.no_grad():
            logits = model(ids).logits[0]
        log_probs = logits.log_softmax(-1)
        for position in range(start, ids.shape[1]):
            nll -= log_probs[position - 1, ids[0, position]].item()
            count += 1
    expected = math.exp(nll / count)
    assert response_perplexity(model, tokenizer, rows, batch_size=2) == pytest.approx(expected, rel=1e-4)
    assert response_perplexity(model, tokenizer, rows, batch_size=1) == pytest.approx(expected, rel=1e-4)


def test_answer_statistics_expose_a_constant_answer():
    rows = [{"domain": "medical", "answer": a} for a in ["yes"] * 6 + ["no"] * 3 + ["maybe"]]
    always_yes = ["Yes."] * 10
    correct = [score_reply(row, reply) for row, reply in zip(rows, always_yes, strict=True)]
    stats = answer_statistics(rows, always_yes, correct)
    assert stats["accuracy"] == 0.6 == stats["majority_rate"] and stats["majority_answer"] == "yes"
    assert stats["top_reply_share"] == 1.0 and stats["top_reply"] == "yes"
    # F1 of "yes": P 0.6, R 1 -> 0.75; "no" and "maybe" never predicted -> 0; macro = 0.25
    assert stats["macro_f1"] == pytest.approx(0.25) == stats["majority_macro_f1"]
    low, high = stats["accuracy_interval"]
    assert low < 0.6 < high and stats["questions"] == 10


def test_answer_statistics_give_macro_f1_an_interval_and_a_trivial_baseline():
    rows = [{"domain": "finance", "answer": a} for a in ["neutral"] * 6 + ["positive"] * 2 + ["negative"] * 2]
    replies = ["neutral"] * 5 + ["positive"] + ["positive"] * 2 + ["negative", "neutral"]
    correct = [score_reply(row, reply) for row, reply in zip(rows, replies, strict=True)]
    stats = answer_statistics(rows, replies, correct)
    # neutral: P 5/6, R 5/6 -> 0.833; positive: P 2/3, R 1 -> 0.8; negative: P 1, R 1/2 -> 0.667
    assert stats["macro_f1"] == pytest.approx((5 / 6 + 0.8 + 2 / 3) / 3)
    # always "neutral": F1 2 * 0.6 / 1.6 = 0.75 for neutral, 0 for the others
    assert stats["majority_macro_f1"] == pytest.approx(0.25)
    low, high = stats["macro_f1_interval"]
    assert low < stats["macro_f1"] < high <= 1.0


def test_answer_statistics_of_math_count_numbers_not_wording():
    rows = [{"domain": "math", "answer": str(n)} for n in (12, 12, 7, -550)]
    replies = ["12", "The answer is 12.", "7", "The answer is -550."]
    stats = answer_statistics(rows, replies, [True] * 4)
    assert stats["accuracy"] == 1.0 and stats["accuracy_interval"] == [1.0, 1.0]
    assert stats["majority_rate"] == 0.5 and stats["top_reply_share"] == 0.5 and stats["top_reply"] == "12"
    assert "macro_f1" not in stats
    with pytest.raises(ValueError, match="as many rows"):
        answer_statistics(rows, replies[:2], [True] * 4)
