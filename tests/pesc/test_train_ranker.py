from __future__ import annotations

import random

import pytest

from lmcommon.errors import DataError
from pesc.candidate_features import FEATURES, PairStatistics
from pesc.cli import main
from pesc.train_ranker import (
    RankerTrainingConfig,
    collect_examples,
    correction_counts,
    fit_ranker,
    inject_misspellings,
    read_training_pairs,
)


@pytest.mark.faults
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"pairs\.tsv: no misspelling pairs"),
        ("\n\n", r"pairs\.tsv: no misspelling pairs"),
        (
            "1\t我们要保护环竟\t我们要保护环境\n0\t我很好\t我很好吗\n",
            r"pairs\.tsv:2: source has 3 characters, target 4",
        ),
        (
            "只有一列\n",
            r"pairs\.tsv:1: expected 2 or 3 tab-separated columns "
            r"\(source<TAB>target or n<TAB>source<TAB>target\), got 1",
        ),
    ],
)
def test_bad_pair_files_name_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "pairs.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_training_pairs(str(path))


@pytest.mark.faults
def test_train_ranker_refuses_bad_pairs_before_any_work(tmp_path, capsys):
    path = tmp_path / "pairs.tsv"
    path.write_text("我很好\t我很好吗\n", encoding="utf-8")
    assert main(["train-ranker", "--pairs", str(path), "--output", str(tmp_path / "r.json")]) == 2
    assert f"{path}:1: source has 3 characters, target 4" in capsys.readouterr().err
    path.write_text("我很好\t我很好吗\n我很号\t我很好\n", encoding="utf-8")
    assert read_training_pairs(str(path), skip_unequal=True) == [("我很号", "我很好")]


def test_injection_is_per_sentence_and_seeded():
    sentences = ["我们要保护环境。", "他每天都很努力地学习。", "今天天气很好。"] * 3
    first = inject_misspellings(sentences, 1.0, seed=3)
    assert first == inject_misspellings(list(reversed(sentences)), 1.0, seed=3)[::-1]
    assert all(len(s) == len(t) and t in sentences for s, t in first)
    assert any(s != t for s, t in first)
    assert all(s == t for s, t in inject_misspellings(sentences, 0.0, seed=3))


def test_correction_counts():
    statistics = correction_counts([("在见", "再见"), ("在见", "再见"), ("我很好", "我很好")])
    assert statistics.pairs["在再"] == 2 and statistics.as_error["在"] == 2 and statistics.as_fix["再"] == 2


def test_examples_are_labelled_by_the_target_and_leave_their_own_pair_out(checker):
    from pesc.misspelling import MisspellingCorrector

    statistics = correction_counts([("我们要保护环竟。", "我们要保护环境。")])
    corrector = MisspellingCorrector(
        checker.lexicon, checker.lm, checker.config, 0.0, checker._character_model, statistics=statistics
    )
    features, labels, unreachable = collect_examples(
        corrector, [("我们要保护环竟。", "我们要保护环境。")], statistics, own_counts=True
    )
    assert unreachable == 0 and sum(labels) == 1
    positive = features[labels.index(1)]
    assert positive[FEATURES.index("pair_corrections")] == 0.0  # its own correction was taken out
    assert statistics.pairs["竟境"] == 1  # and put back


def test_the_exported_ensemble_answers_as_scikit_learn():
    rng = random.Random(0)
    features = [[rng.uniform(-5, 5) for _ in FEATURES] for _ in range(600)]
    labels = [int(row[0] + 0.5 * row[1] > 1.0) for row in features]
    ranker = fit_ranker(features, labels, RankerTrainingConfig(trees=20, depth=2), PairStatistics())
    assert len(ranker.trees) == 20 and ranker.features == FEATURES
    # fit_ranker compares its export with scikit-learn itself; the model also learnt the rule
    accuracy = sum((ranker.probability(x) > 0.5) == bool(y) for x, y in zip(features, labels, strict=True)) / 600
    assert accuracy > 0.9
    with pytest.raises(ValueError, match="single class"):
        fit_ranker(features, [0] * 600, RankerTrainingConfig(trees=2), PairStatistics())
