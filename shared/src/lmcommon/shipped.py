"""Finding the data sets that demos and defaults read (``data/...`` paths of the repository) wherever the code runs.

In order: the path as given (where the user stands), the same path in the source checkout an editable install
runs from, then the small demo copy a method packages in its wheel under ``<package>/demo/`` with the repository's
layout (``pesc/demo/data/csc/...``), so that ``pesc demo`` runs from ``pip install`` outside the repository.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

_ANNOUNCED: set[str] = set()  # demo copies already announced (once per path and process)


def packaged_demo_folder(package: str) -> Path | None:
    """The ``demo/`` folder inside an installed package, or None when it has none (or is not installed)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "demo"
        if folder.is_dir():
            return folder
    return None


def _in_source_checkout(path: Path) -> Path | None:
    for folder in Path(__file__).resolve().parents:
        if (folder / path).exists():
            return folder / path
    return None


def find_data(value: str | Path, package: str | None = None) -> Path:
    """Where a repository data path is: as given, in the source checkout, else in ``package``'s demo copy.

    Args:
        value: a path such as ``data/csc`` or ``data/htcgen/train.jsonl``.
        package: the method whose wheel may carry a demo copy (None: look in the checkout only).

    Returns:
        The path as given when it exists (or is absolute), else the checkout's or the demo copy's absolute path.
        Using the demo copy is logged once per path, as it holds a subset of the repository's rows.

    Raises:
        FileNotFoundError: found in none of the places (the message names them).
    """
    path = Path(value)
    if path.exists() or path.is_absolute():
        return path
    found = _in_source_checkout(path)
    if found is not None:
        return found
    demo = packaged_demo_folder(package) if package else None
    if demo is not None and (demo / path).exists():
        if str(path) not in _ANNOUNCED:
            _ANNOUNCED.add(str(path))
            logger.warning(
                "%s: not in %s; using the demo copy packaged with %s (a subset of the repository's data, "
                "described in %s)",
                value,
                Path.cwd(),
                package,
                demo / "PROVENANCE.md",
            )
        return demo / path
    demo_note = f", nor in the demo data packaged with {package}" if package else ""
    raise FileNotFoundError(
        f"{value}: not found in {Path.cwd()}, nor in a source checkout of this package{demo_note}; pass its path "
        "(the full data sets are in the repository's data/ folder)"
    )
