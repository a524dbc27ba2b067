"""The demo copies inside the wheels (written by tools/make_demo_data.py) answer as the repository's data does, carry
their licences and provenance, and are what the commands' default paths find outside a checkout."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from lmcommon.cli import shipped_data
from lmcommon.shipped import find_data, packaged_demo_folder

ROOT = Path(__file__).resolve().parents[1]


def _demo(package: str) -> Path:
    return ROOT / "packages" / package / "src" / package / "demo"


def test_pesc_demo_builds_the_same_test_rows_from_the_copy_as_from_the_full_data():
    from pesc.benchmark import build_shipped_benchmark

    full = build_shipped_benchmark(ROOT / "data" / "csc", limit=100, splits=["test"])["test"]
    copy = build_shipped_benchmark(_demo("pesc") / "data" / "csc", limit=100, splits=["test"])["test"]
    assert len(full) == 400 and copy == full


def test_htcgen_demo_samples_the_same_documents_and_tests_on_the_whole_split():
    from htcgen.data import read_documents, sample_per_leaf, truncate_labels
    from htcgen.taxonomy import Taxonomy

    def sample(folder: Path) -> list[dict]:
        return sample_per_leaf(truncate_labels(read_documents(folder / "htcgen" / "train.jsonl"), 2), 1, 0)

    demo = _demo("htcgen") / "data"
    assert sample(demo) == sample(ROOT / "data")
    assert read_documents(demo / "htcgen" / "test.jsonl") == read_documents(ROOT / "data/htcgen/test.jsonl")
    taxonomy = demo / "htc" / "hwv" / "hwv.taxonomy"
    assert Taxonomy.from_file(taxonomy).children == Taxonomy.from_file(ROOT / "data/htc/hwv/hwv.taxonomy").children


@pytest.mark.parametrize("domain", ["general", "math", "medical", "finance"])
def test_modula_demo_rows_are_the_first_rows_of_each_domain(domain):
    copy = (_demo("modula") / "data" / "modula" / domain / "train.jsonl").read_text(encoding="utf-8").splitlines()
    full = (ROOT / "data" / "modula" / domain / "train.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(copy) == 50 and copy == full[:50]
    assert all(json.loads(line)["domain"] == domain for line in copy)


@pytest.mark.parametrize("package", ["pesc", "htcgen", "modula"])
def test_each_demo_copy_is_small_and_carries_its_provenance_and_licences(package):
    demo = _demo(package)
    provenance = (demo / "PROVENANCE.md").read_text(encoding="utf-8")
    rows = [p for p in demo.rglob("*") if p.is_file() and not p.name.startswith(("LICENSE", "PROVENANCE"))]
    for path in rows:  # every file is described
        assert path.name in provenance, path
    row_count = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in rows if p.suffix != ".taxonomy")
    assert row_count <= 450
    assert list(demo.rglob("LICENSE*")) or "licence" in provenance.lower()


def test_installed_packages_find_their_demo_folder():
    assert packaged_demo_folder("pesc") == _demo("pesc")
    assert packaged_demo_folder("lmcommon") is None
    assert packaged_demo_folder("no_such_package_here") is None


def test_a_path_missing_everywhere_else_is_read_from_the_packaged_copy(tmp_path, monkeypatch, caplog):
    # outside a checkout: a package whose demo/ holds data/sets/rows.jsonl, found by its import name
    package = tmp_path / "site" / "toy_method"
    (package / "demo" / "data" / "sets").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "demo" / "data" / "sets" / "rows.jsonl").write_text("{}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.chdir(tmp_path)
    with caplog.at_level("WARNING", logger="lmcommon.shipped"):
        found = find_data("data/sets/rows.jsonl", "toy_method")
        again = find_data("data/sets/rows.jsonl", "toy_method")
    assert found == again == package / "demo" / "data" / "sets" / "rows.jsonl"
    (message,) = caplog.messages  # announced once
    assert "using the demo copy packaged with toy_method" in message
    assert shipped_data("toy_method")("data/sets/rows.jsonl") == str(found)
    with pytest.raises(argparse.ArgumentTypeError, match="nor in the demo data packaged with toy_method"):
        shipped_data("toy_method")("data/sets/other.jsonl")


def test_the_users_own_file_and_the_checkout_come_before_the_demo_copy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_data("data/csc", "pesc") == ROOT / "data" / "csc"  # an editable install reads the full data
    (tmp_path / "data" / "csc").mkdir(parents=True)
    assert find_data("data/csc", "pesc") == Path("data/csc")
