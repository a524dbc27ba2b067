from __future__ import annotations

from pathlib import Path

import pytest

from htcgen.data import read_documents
from htcgen.taxonomy import Taxonomy
from lmcommon.errors import DataError

HWV = Path(__file__).resolve().parents[2] / "data" / "htc" / "hwv"


@pytest.fixture(scope="module")
def hwv():
    return Taxonomy.from_file(HWV / "hwv.taxonomy")


def test_file_and_data_paths_agree_on_hwv(hwv):
    documents = read_documents(HWV / "hwv_val.json.gz", hwv)
    from_data = Taxonomy.from_paths(d["labels"] for d in documents)
    for label in from_data.labels:  # every label the data uses sits at the same place in both trees
        assert from_data.path(label) == hwv.path(label)
    assert set(from_data.level(1)) == set(hwv.level(1)) and len(hwv.level(1)) == 11
    assert len(hwv) == 1186 and hwv.max_depth == 6


def test_queries(hwv):
    assert hwv.path("Fungi") == ["Biological and health sciences", "Organisms", "Fungi"]
    assert hwv.ancestors("Fungi") == ["Biological and health sciences", "Organisms"]
    assert "Fungi" not in hwv.siblings("Fungi") and hwv.siblings("Fungi")
    assert hwv.depth["Organisms"] == 2
    assert hwv.is_leaf("Fungi") != bool(hwv.children_of("Fungi"))
    two = hwv.truncate(2)
    assert two.max_depth == 2 and set(two.level(2)) == set(hwv.level(2))
    with pytest.raises(KeyError, match="unknown label 'Nope'"):
        hwv.path("Nope")


def test_bad_path_is_reported_with_the_document(hwv):
    with pytest.raises(ValueError, match=r"doc-7: label path \['People', 'Organisms'\] breaks at 'Organisms'"):
        hwv.validate_path(["People", "Organisms"], document="doc-7")
    with pytest.raises(ValueError, match="unknown label 'Elves'"):
        hwv.validate_path(["People", "Elves"])


def test_bad_path_in_a_file_names_file_and_line(tmp_path, hwv):
    path = tmp_path / "docs.jsonl"
    path.write_text(
        '{"text": "a fungus", "labels": ["Biological and health sciences", "Organisms", "Fungi"]}\n'
        '{"text": "a person", "labels": ["People", "Fungi"]}\n',
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=r"docs\.jsonl:2: field 'labels': label path \['People', 'Fungi'\] breaks"):
        read_documents(path, hwv)


def test_structure_errors():
    with pytest.raises(ValueError, match="has two parents"):
        Taxonomy({"Root": ["a", "b"], "a": ["c"], "b": ["c"]})
    with pytest.raises(ValueError, match="not connected to the root"):
        Taxonomy({"Root": ["a"], "x": ["y"]})


def test_a_taxonomy_file_that_is_not_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "labels.taxonomy"
    path.write_bytes(b"Root\tA\tB\n" + "A\tCaf\u00e9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"labels\.taxonomy:2: not UTF-8 text"):
        Taxonomy.from_file(path)


@pytest.mark.faults
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Root\tA\nA\tRoot\n", r"t\.taxonomy: the root 'Root' is listed as a child of 'A'"),
        ("", r"t\.taxonomy: no labels"),
        ("\n\n", r"t\.taxonomy: no labels"),
        ("Root\tA\tB\nA\tC\nB\tC\n", r"t\.taxonomy: label 'C' has two parents"),
    ],
)
def test_a_bad_taxonomy_file_is_named_with_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "t.taxonomy"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        Taxonomy.from_file(path)


@pytest.mark.faults
def test_an_empty_taxonomy_is_blamed_before_the_test_file(tmp_path, capsys):
    from htcgen.cli import main

    (tmp_path / "t.taxonomy").write_text("", encoding="utf-8")
    (tmp_path / "test.jsonl").write_text('{"text": "x", "labels": ["A"]}\n', encoding="utf-8")
    arguments = ["evaluate", "--train", str(tmp_path / "test.jsonl"), "--test", str(tmp_path / "test.jsonl")]
    assert main([*arguments, "--taxonomy", str(tmp_path / "t.taxonomy"), "--classifier", "flat-svm"]) == 2
    assert f"{tmp_path / 't.taxonomy'}: no labels" in capsys.readouterr().err


@pytest.mark.faults
def test_a_taxonomy_saved_with_a_byte_order_mark_reads_as_without(tmp_path):
    lines = "Root\tSports\tScience\nSports\tTennis\n"
    (tmp_path / "plain.taxonomy").write_text(lines, encoding="utf-8")
    (tmp_path / "bom.taxonomy").write_text(lines, encoding="utf-8-sig")  # as Windows editors save it
    plain, bom = Taxonomy.from_file(tmp_path / "plain.taxonomy"), Taxonomy.from_file(tmp_path / "bom.taxonomy")
    assert bom.children == plain.children and "Sports" in bom.children
