"""Writes the demo copies each wheel carries (``packages/<name>/src/<name>/demo/``) from the repository's ``data/``.

A demo copy keeps the repository's layout (``pesc/demo/data/csc/...``), so the commands' default paths find it
from an installed wheel (``lmcommon.shipped``), and holds exactly the rows the demo reads:
- pesc: the test sources' lines that ``pesc demo`` (100 rows per source) selects, in the order it selects them,
  so that the demo builds the same rows from the copy as from the full data;
- htcgen: the taxonomy, the training documents that ``htcgen demo`` samples (one per depth-2 label path, seed 0)
  and the test split;
- modula: the first 50 training rows of each domain, for the package page's quick start.
tests/test_demo_data.py checks that each copy still answers as the full data does. Licences are copied beside the
rows; each copy's PROVENANCE.md (written by hand) says where they come from.

Usage: python tools/make_demo_data.py
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
PESC_DEMO_LIMIT = 100  # `pesc demo --limit`'s default
HTCGEN_DEMO_DEPTH, HTCGEN_DEMO_SEED = 2, 0  # `htcgen demo`'s one setting
MODULA_ROWS = 50


def demo_folder(package: str) -> Path:
    return ROOT / "packages" / package / "src" / package / "demo"


def _write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _copy(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination)


def make_pesc() -> None:
    from pesc.benchmark import SHIPPED_RECIPE, Pair, _read_source, iter_tsv_pairs
    from pesc.script import opencc_converter

    out = demo_folder("pesc") / "data" / "csc"
    used: set[str] = set()
    for spec in SHIPPED_RECIPE["test"]:  # the demo builds the test split only
        selected = [p for p in _read_source(DATA / "csc", spec, seed=13) if p.target not in used][:PESC_DEMO_LIMIT]
        used.update(p.target for p in selected)
        converter = opencc_converter("t2s") if spec.traditional else None
        raw = {}  # the pair each line reads as -> the line as written (the last wins, as in _read_source)
        lines = (DATA / "csc" / spec.path).read_text(encoding="utf-8").split("\n")  # as iter_tsv_pairs counts
        for line_number, source, target in iter_tsv_pairs(DATA / "csc" / spec.path):
            if converter is not None:
                source, target = converter.convert(source), converter.convert(target)
            if spec.targets_only:
                source = target
            raw[Pair(source, target, spec.origin)] = lines[line_number - 1]
        _write_lines(out / spec.path, [raw[pair] for pair in selected])
        licence = Path(spec.path).parts[0] + "/LICENSE.ECSpell.txt"
        _copy(DATA / "csc" / licence, out / licence)


def make_htcgen() -> None:
    from htcgen.data import read_documents, sample_per_leaf, truncate_labels

    out = demo_folder("htcgen") / "data"
    train = read_documents(DATA / "htcgen" / "train.jsonl")
    sampled = sample_per_leaf(truncate_labels(train, HTCGEN_DEMO_DEPTH), 1, HTCGEN_DEMO_SEED)
    keep = {document["id"] for document in sampled}
    lines = (DATA / "htcgen" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    _write_lines(out / "htcgen" / "train.jsonl", [line for line in lines if json.loads(line)["id"] in keep])
    _copy(DATA / "htcgen" / "test.jsonl", out / "htcgen" / "test.jsonl")
    _copy(DATA / "htc" / "hwv" / "hwv.taxonomy", out / "htc" / "hwv" / "hwv.taxonomy")


def make_modula() -> None:
    out = demo_folder("modula") / "data" / "modula"
    for domain in sorted(p.name for p in (DATA / "modula").iterdir() if p.is_dir()):
        lines = (DATA / "modula" / domain / "train.jsonl").read_text(encoding="utf-8").splitlines()
        _write_lines(out / domain / "train.jsonl", lines[:MODULA_ROWS])
    for licence in [
        DATA / "instruct" / "math_gsm8k" / "LICENSE.grade-school-math.MIT.txt",
        DATA / "instruct" / "medical_pubmedqa" / "LICENSE.pubmedqa.MIT.txt",
        DATA / "instruct" / "oasst_en100" / "LICENSE.Open-Assistant.Apache-2.0.txt",
    ]:
        _copy(licence, out / licence.name)


def main() -> int:
    for make in (make_pesc, make_htcgen, make_modula):
        make()
    print("written:", ", ".join(str(demo_folder(p).relative_to(ROOT)) for p in ("pesc", "htcgen", "modula")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
