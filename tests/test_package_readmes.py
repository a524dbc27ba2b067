"""The quick starts on the package pages run: every Python block marked ``<!-- runnable -->`` in a package's
README.md is executed from the repository root (where its data paths point), writing under a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import runnable_blocks

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("package", ["modula", "pesc", "htcgen"])
def test_each_package_page_has_a_quick_start_marked_runnable(package):
    assert len(runnable_blocks(package)) == 1


@pytest.mark.integration
@pytest.mark.parametrize("package", ["modula", "pesc", "htcgen"])
def test_package_quick_start_runs(package, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    (code,) = runnable_blocks(package)
    code = code.replace('"runs/', f'"{tmp_path}/runs/')  # outputs go to the test's folder, not the checkout
    namespace: dict = {"__name__": f"{package}_readme"}
    exec(compile(code, f"packages/{package}/README.md", "exec"), namespace)
