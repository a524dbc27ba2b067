from __future__ import annotations

import logging
import os

import pytest

from lmcommon.cache import CACHE_ENV, MANIFEST, cached_folder, damage

pytestmark = pytest.mark.faults


class Builder:
    """Writes two files and counts how often it was asked to."""

    def __init__(self):
        self.calls = 0

    def __call__(self, folder):
        self.calls += 1
        (folder / "weights.bin").write_bytes(b"\x01" * 4096)
        (folder / "sub").mkdir()
        (folder / "sub" / "config.json").write_text('{"a": 1}')


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_an_entry_is_built_once_and_verified(cache):
    build = Builder()
    first = cached_folder("entry-v1", build, "a test entry")
    assert first == cache / "entry-v1"
    assert cached_folder("entry-v1", build, "a test entry") == first
    assert build.calls == 1
    assert damage(first) is None
    assert (first / MANIFEST).is_file()
    assert [p.name for p in cache.iterdir()] == ["entry-v1"]  # no temporary folder left behind


@pytest.mark.parametrize(
    ("harm", "reason"),
    [
        (lambda f: (f / "weights.bin").write_bytes(b"\x01" * 100), "weights.bin has 100 bytes, 4096 were written"),
        (lambda f: (f / "sub" / "config.json").unlink(), "sub/config.json is missing"),
        (lambda f: (f / MANIFEST).unlink(), f"no {MANIFEST}"),
        (lambda f: (f / MANIFEST).write_text("{"), f"{MANIFEST} is unreadable"),
        # valid JSON of the wrong shape: once never rebuilt, every use failing with a traceback
        (lambda f: (f / MANIFEST).write_text('{"files": {"x": 5}}'), "the record of 'x' is not an object"),
        (lambda f: (f / MANIFEST).write_text("[]"), f"{MANIFEST} is unreadable"),
        (lambda f: (f / MANIFEST).write_text("null"), f"{MANIFEST} is unreadable"),
        (lambda f: (f / MANIFEST).write_text('{"files": {}}'), "no file records"),
        (lambda f: (f / MANIFEST).write_text('{"files": {"../x": {}}}'), "lies outside the entry"),
        (
            lambda f: (f / MANIFEST).write_text('{"files": {"weights.bin": {"size": "4096"}}}'),
            "has no int 'size'",
        ),
        # same size, new contents: the changed modification time sends it to the checksum
        (lambda f: (f / "weights.bin").write_bytes(b"\x02" * 4096), "weights.bin was changed after it was written"),
    ],
)
def test_a_damaged_entry_names_its_file_and_is_rebuilt_with_one_warning(cache, caplog, harm, reason):
    build = Builder()
    folder = cached_folder("entry-v1", build, "a test entry")
    harm(folder)
    assert reason in damage(folder)
    with caplog.at_level(logging.WARNING, logger="lmcommon.cache"):
        again = cached_folder("entry-v1", build, "a test entry")
    assert again == folder and build.calls == 2
    assert damage(again) is None
    assert (again / "weights.bin").read_bytes() == b"\x01" * 4096
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and reason in warnings[0] and "rebuilding" in warnings[0]
    assert sorted(p.name for p in cache.iterdir()) == ["entry-v1"]


def test_an_unchanged_file_with_a_new_time_still_verifies(cache):
    folder = cached_folder("entry-v1", Builder(), "a test entry")
    os.utime(folder / "weights.bin", ns=(1, 1))  # copied without its times: the checksum decides
    assert damage(folder) is None


def test_a_failed_build_leaves_nothing_behind(cache):
    def broken(folder):
        (folder / "half.bin").write_bytes(b"\x00")
        raise RuntimeError("conversion failed")

    with pytest.raises(RuntimeError, match="conversion failed"):
        cached_folder("entry-v1", broken, "a test entry")
    assert list(cache.iterdir()) == []


def test_an_unwritable_cache_falls_back_to_a_temporary_folder_naming_the_variable(monkeypatch, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))  # cannot be created, even by root
    build = Builder()
    with caplog.at_level(logging.WARNING, logger="lmcommon.cache"):
        folder = cached_folder("entry-v1", build, "a test entry")
    assert (folder / "weights.bin").read_bytes() == b"\x01" * 4096
    assert not folder.is_relative_to(blocker)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert CACHE_ENV in warning and "not writable" in warning


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_cache_folder_falls_back_too(monkeypatch, tmp_path, caplog):
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o500)
    monkeypatch.setenv(CACHE_ENV, str(cache))
    try:
        with caplog.at_level(logging.WARNING, logger="lmcommon.cache"):
            folder = cached_folder("entry-v1", Builder(), "a test entry")
    finally:
        cache.chmod(0o700)
    assert not folder.is_relative_to(cache)
    assert any(CACHE_ENV in r.getMessage() for r in caplog.records)


def test_a_build_killed_mid_way_leaves_no_folder_behind_for_ever(cache):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    abandoned = cache / f".entry-v1.build-{dead.stdout.strip()}-abc123"  # what a killed builder left
    abandoned.mkdir(parents=True)
    (abandoned / "half.bin").write_bytes(b"\x00")
    live = cache / f".entry-v1.build-{os.getpid()}-def456"  # this process is alive: another build in progress
    live.mkdir()
    cached_folder("entry-v1", Builder(), "a test entry")
    assert sorted(p.name for p in cache.iterdir()) == [live.name, "entry-v1"]
