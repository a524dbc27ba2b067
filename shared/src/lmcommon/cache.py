"""A disk cache of derived files (a converted model, dictionaries built into tables) that cannot poison its user.

Each entry is a folder under :func:`cache_dir`, built in a temporary folder and renamed into place, with a
manifest of every file's size, modification time and SHA-256. An entry is verified before it is used: a
missing file or a wrong size (a truncated copy, a full disk) fails at once; a file whose modification time
changed is checked against its SHA-256. A damaged entry is rebuilt with one warning line. Where the cache folder
cannot be written, the entry is built in a temporary folder for this process, with a warning that names
``LMCOMMON_CACHE``. Standard library only: pesc's core uses it without torch.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

CACHE_ENV = "LMCOMMON_CACHE"
MANIFEST = "lmcommon-manifest.json"
_CHUNK = 1 << 20


def cache_dir() -> Path:
    """The cache root: ``$LMCOMMON_CACHE``, else ``$XDG_CACHE_HOME/lmcommon``, else ``~/.cache/lmcommon``."""
    for variable in (CACHE_ENV, "XDG_CACHE_HOME"):
        value = os.environ.get(variable)
        if value:
            try:
                folder = Path(value).expanduser()
            except RuntimeError:  # ~someone for a user this machine does not have
                raise ValueError(f"${variable}={value}: no such user's home folder to expand") from None
            return folder if variable == CACHE_ENV else folder / "lmcommon"
    return Path.home() / ".cache" / "lmcommon"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


def write_manifest(folder: Path) -> None:
    """Records the size, modification time and SHA-256 of every file in ``folder``."""
    records = {}
    for path in _files(folder):
        stat = path.stat()
        records[path.relative_to(folder).as_posix()] = {
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "sha256": _sha256(path),
        }
    (folder / MANIFEST).write_text(json.dumps({"files": records}, indent=1), encoding="utf-8")


def damage(folder: Path) -> str | None:
    """Why the entry in ``folder`` cannot be trusted (one phrase naming the file), or None when it verifies."""
    try:
        records = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["files"]
    except FileNotFoundError:
        return f"no {MANIFEST} (an interrupted build, or a cache written by an older version)"
    except (OSError, ValueError, KeyError, TypeError) as error:
        return f"{MANIFEST} is unreadable ({error})"
    for name, record in records.items():
        path = folder / name
        try:
            stat = path.stat()
        except OSError:
            return f"{name} is missing"
        if stat.st_size != record["size"]:
            return f"{name} has {stat.st_size} bytes, {record['size']} were written"
        if stat.st_mtime_ns != record["mtime_ns"] and _sha256(path) != record["sha256"]:
            return f"{name} was changed after it was written (SHA-256 differs)"
    return None


def cached_folder(name: str, build: Callable[[Path], None], description: str) -> Path:
    """The verified cache entry ``name``, built by ``build(folder)`` when it is missing, damaged or stale.

    Key ``name`` by whatever the contents depend on (package and data versions): a new version is a new entry.

    Args:
        name: the entry's folder name under :func:`cache_dir`.
        build: writes the entry's files into the (empty) folder it is given.
        description: what the entry holds, for messages ("SmolLM2-135M-Instruct as safetensors").

    Returns:
        The entry's folder: in the cache, or a temporary folder (removed at exit) when the cache is not writable.
    """
    root = cache_dir()
    target = root / name
    if target.is_dir():
        problem = damage(target)
        if problem is None:
            return target
        logger.warning("lmcommon cache: %s in %s is damaged (%s); rebuilding it", description, target, problem)
    try:
        root.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    except OSError as error:
        building = Path(tempfile.mkdtemp(prefix=f"lmcommon-{name}."))
        atexit.register(shutil.rmtree, building, True)
        logger.warning(
            "lmcommon cache: %s is not writable (%s); %s is built in %s for this process only; set %s to a "
            "writable folder to keep it",
            root,
            error.strerror or error,
            description,
            building,
            CACHE_ENV,
        )
        build(building)
        write_manifest(building)
        return building
    try:
        build(building)
        write_manifest(building)
        if target.exists():  # the damaged entry goes aside first: a folder cannot be renamed over a full one
            with contextlib.suppress(OSError):
                shutil.rmtree(target.rename(root / f".{name}.damaged.{os.getpid()}"))
        try:
            os.replace(building, target)
        except OSError:
            if damage(target) is not None:
                raise
            # another process finished first; its copy verifies and is equally valid
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target
