from __future__ import annotations

from pathlib import Path

import pytest

from lmcommon.errors import DataError
from pesc import Edit, apply_edits
from pesc.benchmark import (
    DEV_ERRATA,
    Pair,
    apply_errata,
    build_rows,
    build_shipped_benchmark,
    make_row,
    read_errata,
    read_pairs,
)
from pesc.detect import find_pinyin_runs
from pesc.inject import InjectionConfig
from pesc.pinyin import split_syllables

DATA = Path(__file__).resolve().parents[2] / "data" / "csc"
ALWAYS = InjectionConfig(pinyin_sentence_rate=1.0, spelling_sentence_rate=1.0)


def _as_edits(row):
    return [Edit(e["start"], e["end"], e["original"], e["replacement"], e["kind"]) for e in row["edits"]]


@pytest.fixture(scope="module")
def small_benchmark():
    return build_shipped_benchmark(DATA, seed=7, limit=40)


def test_every_recorded_edit_turns_the_source_into_the_target(small_benchmark):
    for rows in small_benchmark.values():
        for row in rows:
            assert apply_edits(row["source"], _as_edits(row)) == row["target"], row["id"]
            kinds = {e["kind"] for e in row["edits"]}
            assert row["kind"] == (({"pinyin", "spelling"} == kinds and "both") or (kinds.pop() if kinds else "none"))
            assert (row["source"] == row["target"]) == (row["kind"] == "none")


def test_deterministic_per_seed(small_benchmark):
    assert build_shipped_benchmark(DATA, seed=7, limit=40) == small_benchmark
    assert build_shipped_benchmark(DATA, seed=8, limit=40)["test"] != small_benchmark["test"]


def test_a_split_built_alone_has_the_rows_of_the_full_build(small_benchmark):
    assert build_shipped_benchmark(DATA, seed=7, limit=40, splits=["test"]) == {"test": small_benchmark["test"]}
    assert build_shipped_benchmark(DATA, seed=7, limit=40, splits=["dev"]) == {"dev": small_benchmark["dev"]}


@pytest.mark.parametrize("splits", [[], ["validation"]])
def test_unknown_or_no_splits_are_refused(splits):
    with pytest.raises(ValueError, match=r"splits: expected one or more of \['train', 'dev', 'test'\]"):
        build_shipped_benchmark(DATA, splits=splits)


def test_splits_subsets_and_ids(small_benchmark):
    assert set(small_benchmark) == {"train", "dev", "test"}
    for split, rows in small_benchmark.items():
        assert {r["subset"] for r in rows} == {"human", "synthetic"}
        assert len({r["id"] for r in rows}) == len(rows)
        assert all(r["id"].startswith(f"{split}-") for r in rows)
    targets = {split: {r["target"] for r in rows} for split, rows in small_benchmark.items()}
    assert not targets["train"] & targets["test"] and not targets["dev"] & targets["test"]


def test_pinyin_spans_are_valid_pinyin_in_every_form():
    pair = Pair("我们明天一起去图书馆学习", "我们明天一起去图书馆学习", "hand")
    forms = set()
    for seed in range(40):
        row = make_row(pair, "synthetic", f"r{seed}", ALWAYS, seed)
        for edit in row["edits"]:
            if edit["kind"] != "pinyin":
                continue
            forms.add(edit["form"])
            latin = "".join(ch for ch in edit["original"].lower() if ch.isascii() and ch.isalpha())
            assert latin, edit
            if edit["form"] == "initials":
                assert len(latin) == len(edit["replacement"])
            else:
                assert split_syllables(latin), edit
            if edit["form"] == "mixed":
                assert any(not ch.isascii() for ch in edit["original"])  # part characters, part pinyin
    assert forms == {"full", "initials", "mixed"}


def test_injected_pinyin_is_found_by_the_detector():
    pair = Pair("我今天非常高兴地去了北京", "我今天非常高兴地去了北京", "hand")
    config = InjectionConfig(pinyin_sentence_rate=1.0, spelling_sentence_rate=0.0, form_weights={"full": 1.0})
    for seed in range(20):
        row = make_row(pair, "synthetic", f"r{seed}", config, seed)
        spans = {(e["start"], e["end"]) for e in row["edits"]}
        found = {(r.start, r.end) for r in find_pinyin_runs(row["source"])}
        assert spans <= found | {s for s in spans if any(f[0] <= s[0] and s[1] <= f[1] for f in found)}, row


def test_human_pairs_keep_their_misspellings_as_spelling_edits():
    pair = Pair("我跟我朋唷去法国", "我跟我朋友去法国", "sighan")
    row = make_row(pair, "human", "h1", InjectionConfig(pinyin_sentence_rate=0.0), 1)
    assert row["edits"] == [
        {"start": 4, "end": 5, "original": "唷", "replacement": "友", "kind": "spelling", "form": "human"}
    ]
    assert row["kind"] == "spelling"


def test_traditional_input_goes_through_opencc(tmp_path):
    path = tmp_path / "trad.txt"
    path.write_text("1\t我們明天去臺北\t我們明天去台北\n", encoding="utf-8")
    (pair,) = read_pairs(path, "t", traditional=True)
    assert (pair.source, pair.target) == ("我们明天去台北", "我们明天去台北")


def test_bad_pair_file_names_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("0\t好\t好\nonly one column\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.txt:2: expected 2 or 3 tab-separated columns"):
        read_pairs(path, "x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pinyin_sentence_rate": 1.5}, r"pinyin_sentence_rate must be in \[0, 1\]"),
        ({"max_pinyin_words": 0}, "max_pinyin_words must be >= 1"),
        ({"form_weights": {"full": 1.0, "cursive": 1.0}}, "form_weights must give"),
    ],
)
def test_injection_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        InjectionConfig(**kwargs)


def test_build_rows_rejects_unknown_subset():
    with pytest.raises(ValueError, match="subset must be"):
        build_rows([], "other", "test", InjectionConfig(), 0)


def test_shipped_files_match_a_fresh_build():
    from lmcommon.data import read_jsonl

    fresh = build_shipped_benchmark(DATA, seed=13)
    for split, rows in fresh.items():
        assert read_jsonl(DATA.parent / "pesc" / f"{split}.jsonl") == rows, split


def test_an_erratum_fixes_the_target_and_keeps_what_the_writer_wrote():
    errata = {"他门己经走了": "他们已经走了", "罗式几何": "罗氏几何"}
    human = Pair("他门己经走了", "他门己经走了", "h")  # the annotators missed both misspellings
    annotated = Pair("他门己经走咯", "他门己经走了", "h")  # they caught one and missed two
    clean = Pair("罗式几何", "罗式几何", "s")
    untouched = Pair("你好", "你好", "s")
    assert apply_errata([annotated, clean, untouched], errata) == [
        Pair("他门己经走咯", "他们已经走了", "h"),
        Pair("罗氏几何", "罗氏几何", "s"),
        untouched,
    ]
    # a pair whose source equals its target is clean text, fixed on both sides
    assert apply_errata([human], errata) == [Pair("他们已经走了", "他们已经走了", "h")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("只有一列\n", r"errata\.tsv:1: expected target<TAB>fixed target, got 1 columns"),
        ("好的\t好\n", r"errata\.tsv:1: a fix replaces characters one for one"),
        ("好的\t好的\n", r"errata\.tsv:1: a fix replaces characters one for one and changes at least one"),
        ("真得\t真的\n\n真得\t真地\n", r"errata\.tsv:3: this target is listed twice"),
    ],
)
def test_bad_errata_name_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "errata.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_errata(path)


def test_every_dev_erratum_reaches_the_shipped_dev_split():
    from lmcommon.data import read_jsonl

    errata = read_errata(DATA / DEV_ERRATA)
    targets = {row["target"] for row in read_jsonl(DATA.parent / "pesc" / "dev.jsonl")}
    assert len(errata) == 22
    assert set(errata.values()) <= targets  # every fix is in the split (an erratum that matches nothing is stale)
    assert not set(errata) & targets  # and no misspelled target is left
