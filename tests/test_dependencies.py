"""The dependency check of ``hatch run lint`` (tools/check_dependencies.py): it passes on the repository and fails
on an undeclared import or a declared dependency nothing imports."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "check_dependencies.py"


def _tool():
    spec = importlib.util.spec_from_file_location("check_dependencies", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _package(folder: Path, dependencies: list[str], source: str) -> Path:
    (folder / "src" / "toy").mkdir(parents=True)
    (folder / "src" / "toy" / "__init__.py").write_text(source, encoding="utf-8")
    quoted = ", ".join(f'"{d}"' for d in dependencies)
    (folder / "pyproject.toml").write_text(f'[project]\nname = "toy"\ndependencies = [{quoted}]\n', encoding="utf-8")
    return folder


def test_the_repository_declares_what_it_imports():
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
    assert "0 problem(s)" in result.stdout


def test_an_undeclared_import_is_named_with_its_file_and_line(tmp_path):
    folder = _package(tmp_path, ["lmcommon"], "import json\nfrom lmcommon.data import read_jsonl\nimport jieba\n")
    (problem,) = _tool().check(folder)
    assert problem.endswith("src/toy/__init__.py:3: imports 'jieba' (from jieba), which toy does not declare")


def test_a_declared_dependency_nothing_imports_is_named(tmp_path):
    folder = _package(tmp_path, ["lmcommon", "jieba>=0.42"], "from lmcommon.data import read_jsonl\n")
    assert _tool().check(folder) == [f"{folder.name}/pyproject.toml: declares 'jieba', which nothing in it imports"]


def test_imports_for_type_checkers_only_are_not_counted(tmp_path):
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import jieba\n"
    assert _tool().check(_package(tmp_path, [], source)) == []
