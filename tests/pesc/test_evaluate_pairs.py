"""`pesc evaluate --pairs`: any source<TAB>target file (LEMON's, one space between characters) is read, and a
checker's outputs or saved predictions are scored against hand-computed values."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lmcommon.errors import DataError
from pesc.benchmark import read_pair_rows
from pesc.cli import main
from pesc.metrics import bootstrap_sentence_intervals

# as LEMON writes them: one space between characters
PAIRS = [
    ("我 再 家", "我 在 家"),  # substitution, corrected
    ("他 很 高 兴", "他 很 高 兴"),  # correct, left alone
    ("今 天 天 气 好", "今 天 天 气 好"),  # correct, changed: a false alarm
    ("我 们 一 期 去", "我 们 一 起 去"),  # substitution: the right place, the wrong character
    ("我 要 去 北 京 京", "我 要 去 北 京"),  # a character too many, missed
]
PREDICTIONS = ["我在家", "他很高兴", "今天天汽好", "我们一骑去", "我要去北京京"]


@pytest.fixture
def pair_file(tmp_path):
    path = tmp_path / "domain.txt"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS), encoding="utf-8")
    return path


def test_pairs_are_read_without_the_spaces_and_given_their_kind(pair_file):
    rows = read_pair_rows(pair_file)
    assert [(r["source"], r["target"], r["kind"]) for r in rows] == [
        ("我再家", "我在家", "substitution"),
        ("他很高兴", "他很高兴", "none"),
        ("今天天气好", "今天天气好", "none"),
        ("我们一期去", "我们一起去", "substitution"),
        ("我要去北京京", "我要去北京", "length"),
    ]
    assert [r["id"] for r in rows] == [f"line-{i}" for i in range(1, 6)]


def test_a_line_without_a_target_is_named(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("我 在 家\t我 在 家\n只有一列\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"{path}:2: expected 2 or 3 tab-separated columns"):
        read_pair_rows(path)
    path.write_text("我 在 家\t \n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"{path}:1: empty target"):
        read_pair_rows(path)


def test_saved_predictions_score_as_computed_by_hand(pair_file, tmp_path, capsys):
    predictions = tmp_path / "predictions.txt"
    predictions.write_text("\n".join(PREDICTIONS) + "\n", encoding="utf-8")
    report_file = tmp_path / "report.json"
    assert (
        main(["evaluate", "--pairs", str(pair_file), "--predictions", str(predictions), "--output", str(report_file)])
        == 0
    )
    report = json.loads(report_file.read_text())
    overall = report["by_kind"]["all"]
    # 3 sentences need a change (1, 4, 5), 3 were changed (1, 3, 4); 1 corrected, 2 at the right places
    assert overall["needing_change"] == 3 and overall["changed"] == 3
    assert overall["correction"] == pytest.approx({"precision": 1 / 3, "recall": 1 / 3, "f1": 1 / 3})
    assert overall["detection"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})
    assert overall["false_positive_rate"] == pytest.approx(0.5)  # 1 of the 2 correct sentences changed
    assert report["by_kind"]["substitution"]["correction"]["f1"] == pytest.approx(0.5)
    assert report["by_kind"]["length"]["correction"]["recall"] == 0
    assert list(report["by_kind"]) == ["all", "substitution", "length", "none"]
    intervals = report["intervals"]
    assert intervals["correction_f1"]["estimate"] == pytest.approx(1 / 3)
    assert intervals["detection_f1"]["estimate"] == pytest.approx(2 / 3)
    assert intervals["correct_changed"]["estimate"] == pytest.approx(0.5)
    for interval in intervals.values():
        assert interval["low"] <= interval["estimate"] <= interval["high"]
    printed = capsys.readouterr().out
    assert "| substitution | 2 |" in printed and "| correct sentences changed | +0.500 |" in printed


def test_a_checker_runs_on_the_pairs_beside_a_baseline(pair_file, tmp_path, capsys):
    report_file = tmp_path / "report.json"
    arguments = ["evaluate", "--pairs", str(pair_file), "--checker", "lookup", "--baseline", "lookup"]
    assert main([*arguments, "--output", str(report_file)]) == 0
    report = json.loads(report_file.read_text())
    assert report["by_kind"]["all"]["sentences"] == 5
    for difference in report["difference_from_baseline"].values():  # the same checker twice: no difference
        assert difference == {"estimate": 0.0, "low": 0.0, "high": 0.0}


def test_pairs_take_a_checker_or_predictions_not_both(pair_file, capsys):
    assert main(["evaluate", "--pairs", str(pair_file)]) == 2
    assert "--pairs needs either --checker NAME or --predictions FILE" in capsys.readouterr().err


def test_the_intervals_of_a_perfect_checker_are_a_point():
    # every sentence needs a change, so that every resample has some: F1 is 1 and nothing correct is changed
    sources, targets = ["我再家", "他很号"], ["我在家", "他很好"]
    intervals = bootstrap_sentence_intervals(sources, targets, targets)
    assert intervals["correction_f1"] == {"estimate": 1.0, "low": 1.0, "high": 1.0}
    assert intervals["correct_changed"] == {"estimate": 0.0, "low": 0.0, "high": 0.0}


# what a UTF-8 line can hold: no surrogates, no line breaks, and no byte-order mark (stripped from a file's start)
_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\ufeff",
    ),
    max_size=12,
)


@given(st.lists(st.tuples(_text, _text.filter(lambda t: t.replace(" ", "").strip())), min_size=1, max_size=5))
def test_any_pair_file_reads_back_as_written_less_its_spaces(tmp_path_factory, pairs):
    path = tmp_path_factory.mktemp("pairs") / "pairs.txt"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    rows = read_pair_rows(path)
    assert [(r["source"], r["target"]) for r in rows] == [(s.replace(" ", ""), t.replace(" ", "")) for s, t in pairs]
    for row in rows:
        same_length = len(row["source"]) == len(row["target"])
        expected = "none" if row["source"] == row["target"] else "substitution" if same_length else "length"
        assert row["kind"] == expected
