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
    shape = _manifest_shape_problem(records)
    if shape is not None:
        return f"{MANIFEST} is not a manifest ({shape})"
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


def _manifest_shape_problem(records) -> str | None:
    """Why ``records`` (the manifest's "files") is not what :func:`write_manifest` writes, or None."""
    if not isinstance(records, dict) or not records:
        return "no file records"
    for name, record in records.items():
        if Path(name).is_absolute() or ".." in Path(name).parts:
            return f"{name!r} lies outside the entry"
        if not isinstance(record, dict):
            return f"the record of {name!r} is not an object"
        for key, kind in (("size", int), ("mtime_ns", int), ("sha256", str)):
            if not isinstance(record.get(key), kind) or isinstance(record.get(key), bool):
                return f"the record of {name!r} has no {kind.__name__} {key!r}"
    return None


def _remove_abandoned_builds(root: Path, name: str) -> None:
    """Removes the building folders of ``name`` whose process is gone (killed mid-build); a live one is another
    process building the same entry at this moment, and is left alone."""
    for entry in root.glob(f".{name}.build-*"):
        pid = entry.name.rsplit("-", 2)[-2] if entry.name.count("-") >= 2 else ""
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


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
        _remove_abandoned_builds(root, name)
        building = Path(tempfile.mkdtemp(prefix=f".{name}.build-{os.getpid()}-", dir=root))
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
