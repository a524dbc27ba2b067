"""Checks each package's declared dependencies against its imports (part of ``hatch run lint``).

For every package (``shared`` and ``packages/*``): each third-party module its source imports must belong to a
distribution the package declares (in ``dependencies`` or an extra), and each declared distribution must be
imported somewhere in the package, unless it is listed in :data:`NEEDED_WITHOUT_IMPORT` with the reason.
Imports under ``if TYPE_CHECKING:`` are for type checkers only and are not counted. Modules are mapped to
distributions with ``importlib.metadata.packages_distributions()``, so the check runs in the environment where
every package is installed (the hatch workspace).

Usage: python tools/check_dependencies.py [PACKAGE_FOLDER ...]   (exit status 1 when a rule is broken)
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# distributions a package needs at run time without importing them itself, and why
NEEDED_WITHOUT_IMPORT = {
    "accelerate": "the Hugging Face Trainer requires it to train",
    "gguf": "transformers reads the packaged SmolLM2 GGUF file through it",
}
# (package, module) imported only when present, by design, and why
OPTIONAL_IMPORTS = {
    ("lmcommon", "numpy"): "lmcommon.seed seeds NumPy where it is installed; the core stays standard-library only",
}


def workspace_modules() -> dict[str, str]:
    """Top-level module -> distribution for the workspace's own packages (installed editable, which
    ``packages_distributions`` does not always see)."""
    modules = {}
    for folder in [ROOT / "shared", *sorted((ROOT / "packages").iterdir())]:
        name, _ = declared(folder / "pyproject.toml")
        for module in (folder / "src").iterdir():
            if module.is_dir() and (module / "__init__.py").is_file():
                modules[module.name] = name
    return modules


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(pyproject: Path) -> tuple[str, set[str]]:
    """The package's own name and the distributions it declares (core and extras), normalised."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return _normalise(project["name"]), {_normalise(re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0]) for r in requirements}


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        test = getattr(node, "test", None)
        if isinstance(node, ast.If) and isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imported_modules(source_folder: Path) -> dict[str, str]:
    """Top-level module -> the first ``file:line`` importing it, for every absolute import in the folder."""
    found: dict[str, str] = {}
    for path in sorted(source_folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skipped = _type_checking_lines(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            if node.lineno in skipped:
                continue
            for name in names:
                where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                found.setdefault(name.split(".")[0], f"{where}:{node.lineno}")
    return found


def check(package_folder: Path) -> list[str]:
    """The broken rules of one package, one line each."""
    name, wanted = declared(package_folder / "pyproject.toml")
    distributions = importlib.metadata.packages_distributions()
    own = workspace_modules()
    problems, used = [], set()
    for module, where in sorted(imported_modules(package_folder / "src").items()):
        if module in sys.stdlib_module_names or module == "__future__" or (name, module) in OPTIONAL_IMPORTS:
            continue
        owners = {own[module]} if module in own else {_normalise(d) for d in distributions.get(module, [])}
        if not owners:
            problems.append(f"{where}: imports {module!r}, which no declared or installed distribution provides")
        elif name in owners:
            continue  # the package's own modules
        elif owners & wanted:
            used |= owners & wanted
        else:
            owner = ", ".join(sorted(owners))
            problems.append(f"{where}: imports {module!r} (from {owner}), which {name} does not declare")
    for unused in sorted(wanted - used - set(NEEDED_WITHOUT_IMPORT) - {name}):
        problems.append(f"{package_folder.name}/pyproject.toml: declares {unused!r}, which nothing in it imports")
    return problems


def main(folders: list[str]) -> int:
    packages = [Path(f).resolve() for f in folders] or [ROOT / "shared", *sorted((ROOT / "packages").iterdir())]
    problems = [line for folder in packages for line in check(folder)]
    for line in problems:
        print(line)
    print(f"dependencies: {len(packages)} packages checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
