"""The packages install on their own: each depends on lmcommon and third-party libraries, never on a sibling."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("modula", "pesc", "htcgen")


def _requirement_names(pyproject: Path) -> set[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    names = set()
    for requirement in requirements:
        name = requirement.split(";")[0]
        for stop in "[<>=!~ ":
            name = name.split(stop)[0]
        names.add(name.strip().lower())
    return names


@pytest.mark.parametrize("package", METHODS)
def test_methods_never_depend_on_siblings(package):
    names = _requirement_names(ROOT / "packages" / package / "pyproject.toml")
    assert "lmcommon" in names
    assert not names & (set(METHODS) - {package})


def test_pesc_core_does_not_declare_torch_or_peft():
    project = tomllib.loads((ROOT / "packages/pesc/pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = " ".join(project["dependencies"]).lower()
    assert "torch" not in core and "peft" not in core and "[models]" not in core


@pytest.mark.slow
def test_pesc_installs_alone_in_a_fresh_venv(tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(ROOT / "shared"), str(ROOT / "packages" / "pesc")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    probe = (
        "import importlib.util, sys, pesc;"
        "present = [m for m in ('peft', 'modula', 'htcgen', 'torch') if importlib.util.find_spec(m)];"
        "assert not present, present"
    )
    check = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    cli = subprocess.run([str(env_dir / "bin" / "pesc"), "--help"], capture_output=True, text=True, check=False)
    assert cli.returncode == 0 and "usage: pesc" in cli.stdout, cli.stderr


def test_running_python_is_the_workspace_env():
    # the test suite must run inside the hatch environment, where every member is installed
    import lmcommon

    assert Path(lmcommon.__file__).resolve().is_relative_to(ROOT / "shared"), sys.executable
