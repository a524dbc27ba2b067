"""The packages install on their own: each depends on lmcommon and third-party libraries, never on a sibling."""

from __future__ import annotations

import sys
import tomllib
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


def test_running_python_is_the_workspace_env():
    # the test suite must run inside the hatch environment, where every member is installed
    import lmcommon

    assert Path(lmcommon.__file__).resolve().is_relative_to(ROOT / "shared"), sys.executable
