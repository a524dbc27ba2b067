"""How every package writes a folder: staged beside the target and swapped in whole, under a lock.

A set of files that belong together (a benchmark's train/dev/test, a saved model) is written into a staging
folder next to the target; only when every file is complete does the staging folder take the target's place,
in one atomic exchange where the system has one (Linux ``renameat2(RENAME_EXCHANGE)``). Files of the old folder
that the new set does not write (a user's notes, earlier stages' reports, checkpoints) are carried over by hard
link, so they stay exactly as they were. A crash leaves the old set or the new one, never a mix, and the next
writer clears what a killed one left. A folder being written holds a lock file beside it; a second writer gets
one line naming the holder.

Standard library only: pesc's core writes through it without torch.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

_STAGING = ".staging"  # .<name>.staging-<pid>: the set being written
_OLD = ".replaced"  # .<name>.replaced-<pid>: the old set between the two renames where there is no exchange
_LOCK = ".lock"  # .<name>.lock: the writer's lock, beside the folder (the folder itself is swapped)

_RENAME_EXCHANGE = 2
_held_locks: dict[Path, int] = {}  # folder -> how many times this process entered its lock


class FolderLockedError(RuntimeError):
    """Another process is writing the folder; the message names it (pid, host, command, since when)."""


def _sibling(folder: Path, suffix: str, pid: int | None = None) -> Path:
    name = f".{folder.name}{suffix}"
    return folder.parent / (name if pid is None else f"{name}-{pid}")


def refuse_special_file(path: str | Path, what: str = "output") -> None:
    """Raises ``ValueError`` when ``path`` exists and is not a regular file or folder (a device, a FIFO, a socket):
    writing "over" it would replace it with a regular file, or (``/dev/null``) lose the output."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    import stat

    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        kind = "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"
        raise ValueError(f"{path} is {kind}; an {what} must be a regular file or a folder")


@contextlib.contextmanager
def folder_lock(folder: str | Path, holder: str | None = None) -> Iterator[None]:
    """Holds ``.<folder>.lock`` (beside ``folder``) while the block runs; re-entrant within one process.

    The lock is an ``flock`` on that file, so a killed holder releases it with its last file descriptor: no stale
    lock outlives its process. The file records who holds it, for the message a second writer gets.

    Args:
        folder: the folder about to be written (need not exist yet).
        holder: what is writing it, for that message (default: this process's command line).

    Raises:
        FolderLockedError: another process holds the lock.
    """
    import fcntl

    folder = Path(os.path.abspath(folder))
    if folder in _held_locks:
        _held_locks[folder] += 1
        try:
            yield
        finally:
            _held_locks[folder] -= 1
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    path = _sibling(folder, _LOCK)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FolderLockedError(
                f"{folder} is being written by {_lock_holder(path)}; wait for it to finish"
            ) from None
        # the previous holder may have removed the file between our open and our lock: lock the file that is there
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": holder or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps(record).encode("utf-8"))
    _held_locks[folder] = 1
    try:
        yield
    finally:
        del _held_locks[folder]
        with contextlib.suppress(OSError):
            os.unlink(path)  # while still locked: a writer waiting on this inode sees it gone and retries
        os.close(fd)


def _lock_holder(path: Path) -> str:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {record['pid']} on {record['host']} ({record['command']}) since {record['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def clear_debris(folder: str | Path) -> None:
    """Restores or removes what a killed writer of ``folder`` left beside it: an old set moved aside with no new
    set in its place goes back; staging folders are removed. Call it holding the folder's lock."""
    folder = Path(folder)
    if not folder.parent.is_dir():
        return
    for entry in folder.parent.iterdir():
        if entry.name.startswith(f".{folder.name}{_OLD}-"):
            if not os.path.lexists(folder):
                os.rename(entry, folder)  # killed between the two renames: the old set is the whole one
            else:
                shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(f".{folder.name}{_STAGING}-"):
            shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def replace_folder(folder: str | Path) -> Iterator[Path]:
    """Yields an empty staging folder beside ``folder``; when the block succeeds, what it wrote replaces those
    files of ``folder`` as one set (files it did not write stay, carried over by hard link). When the block
    raises, ``folder`` is untouched and the staging folder is removed.

    Raises:
        NotADirectoryError: ``folder`` exists and is not a folder.
        FolderLockedError: another process is writing ``folder``.
    """
    folder = Path(folder)
    if os.path.lexists(folder) and not folder.is_dir():
        raise NotADirectoryError(f"{folder}: exists and is not a folder")
    refuse_special_file(folder)
    with folder_lock(folder):
        clear_debris(folder)
        staging = _sibling(folder, _STAGING, os.getpid())
        staging.mkdir(parents=True)
        try:
            yield staging
            _fsync_tree(staging)
            if folder.is_dir():
                _carry_over(folder, staging)
            _swap_in(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _carry_over(old: Path, new: Path) -> None:
    """Hard-links into ``new`` every file of ``old`` that ``new`` does not have (copies where links fail)."""
    for entry in old.iterdir():
        target = new / entry.name
        if entry.is_dir() and not entry.is_symlink():
            if target.exists() and not target.is_dir():
                continue  # the new set replaced a folder by a file
            target.mkdir(exist_ok=True)
            _carry_over(entry, target)
        elif not os.path.lexists(target):
            if entry.is_symlink():
                os.symlink(os.readlink(entry), target)
                continue
            try:
                os.link(entry, target)
            except OSError:
                shutil.copy2(entry, target)


def _fsync_tree(folder: Path) -> None:
    """Forces the staged files to disk before they are swapped in: after a power cut the swapped-in set is whole."""
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _swap_in(staging: Path, folder: Path) -> None:
    """Puts ``staging`` at ``folder`` (the old folder, if any, is removed): one exchange on Linux; elsewhere two
    renames, which :func:`clear_debris` completes if the process dies between them."""
    if not folder.exists():
        os.rename(staging, folder)
        return
    if _exchange(staging, folder):
        shutil.rmtree(staging, ignore_errors=True)  # staging now holds the old set
        return
    aside = _sibling(folder, _OLD, os.getpid())
    os.rename(folder, aside)
    os.rename(staging, folder)
    shutil.rmtree(aside, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swaps two paths atomically (Linux ``renameat2``); False where the system or file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_cwd = -100
    if renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))
