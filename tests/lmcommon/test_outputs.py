"""lmcommon.outputs: a folder's files are replaced as one set, and a single file atomically, whatever fails."""

from __future__ import annotations

import errno
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcommon.data import atomic_write, write_json, write_jsonl
from lmcommon.outputs import clear_debris, replace_folder

pytestmark = pytest.mark.faults


def _tree(folder):
    # bytes decoded, not read_text: text mode would read a file holding "\r" as "\n" (hypothesis found it)
    return {
        p.relative_to(folder).as_posix(): p.read_bytes().decode("utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_new_set_replaces_the_old_and_keeps_every_file_it_does_not_write(tmp_path):
    out = tmp_path / "out"
    with replace_folder(out) as staging:
        (staging / "train.jsonl").write_text("old train")
        (staging / "test.jsonl").write_text("old test")
    (out / "notes.txt").write_text("mine")
    (out / "reports").mkdir()
    (out / "reports" / "a.json").write_text("{}")
    with replace_folder(out) as staging:
        (staging / "train.jsonl").write_text("new train")
        (staging / "test.jsonl").write_text("new test")
    assert _tree(out) == {
        "notes.txt": "mine",
        "reports/a.json": "{}",
        "test.jsonl": "new test",
        "train.jsonl": "new train",
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging, lock or old set left behind


def test_a_failure_half_way_leaves_the_old_set_whole(tmp_path):
    out = tmp_path / "out"
    with replace_folder(out) as staging:
        for name in ("train", "dev", "test"):
            (staging / f"{name}.jsonl").write_text(f"old {name}")
    with pytest.raises(OSError, match="No space"), replace_folder(out) as staging:
        (staging / "train.jsonl").write_text("new train")
        (staging / "dev.jsonl").write_text("new dev")
        raise OSError(errno.ENOSPC, "No space left on device")  # the disk fills before test.jsonl
    assert _tree(out) == {"dev.jsonl": "old dev", "test.jsonl": "old test", "train.jsonl": "old train"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_kill_between_the_two_renames_is_undone_by_the_next_writer(tmp_path):
    # where the system has no atomic exchange, the old set is moved aside before the new one moves in
    out = tmp_path / "out"
    aside = tmp_path / ".out.replaced-123"
    aside.mkdir()
    (aside / "train.jsonl").write_text("old")
    (tmp_path / ".out.staging-123").mkdir()
    clear_debris(out)
    assert _tree(out) == {"train.jsonl": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_without_an_exchange_the_set_is_swapped_by_two_renames(tmp_path, monkeypatch):
    import lmcommon.outputs

    monkeypatch.setattr(lmcommon.outputs, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    for text in ("old", "new"):
        with replace_folder(out) as staging:
            (staging / "f").write_text(text)
    assert _tree(out) == {"f": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_file_is_not_a_folder_to_replace(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotADirectoryError), replace_folder(tmp_path / "f"):
        pass


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "secret.json"
    write_json(path, {"a": 1})
    os.chmod(path, 0o600)
    write_json(path, {"a": 2})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_new_file_gets_the_umask_without_the_umask_being_changed(tmp_path, monkeypatch):
    old = os.umask(0o027)
    try:
        monkeypatch.setattr(os, "umask", lambda mask: pytest.fail("atomic_write changed the process umask"))
        write_jsonl(tmp_path / "rows.jsonl", [{"a": 1}])
    finally:
        monkeypatch.undo()
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "rows.jsonl").stat().st_mode) == 0o640


def test_a_device_is_not_replaced_by_a_file(tmp_path):
    with pytest.raises(ValueError, match="is a device"), atomic_write(os.devnull) as handle:
        handle.write("x")
    assert not os.path.isfile(os.devnull)


def test_a_folder_is_named_when_given_as_a_file(tmp_path):
    with pytest.raises(IsADirectoryError, match=f"^{tmp_path}: is a folder"), atomic_write(tmp_path):
        pass
    assert list(tmp_path.iterdir()) == []


_NAMES = st.sampled_from(["train.jsonl", "dev.jsonl", "test.jsonl", "sub/a.json", "notes.txt"])


@given(
    old=st.dictionaries(_NAMES, st.text(max_size=5), max_size=5),
    new=st.dictionaries(_NAMES, st.text(max_size=5), min_size=1, max_size=5),
    fail_after=st.integers(min_value=0, max_value=6),
)
@settings(max_examples=60, deadline=None)
def test_a_folder_is_always_the_old_set_or_the_new_one_over_the_old(tmp_path_factory, old, new, fail_after):
    folder = tmp_path_factory.mktemp("sets") / "out"
    folder.mkdir()
    for name, text in old.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    written = 0
    try:
        with replace_folder(folder) as staging:
            for name, text in new.items():
                if written == fail_after:
                    raise OSError(errno.ENOSPC, "No space left on device")
                (staging / name).parent.mkdir(parents=True, exist_ok=True)
                (staging / name).write_text(text)
                written += 1
    except OSError:
        assert _tree(folder) == old  # failed: the old set, whole
    else:
        assert _tree(folder) == {**old, **new}  # done: every new file, every old file it did not write
    assert sorted(p.name for p in folder.parent.iterdir()) == ["out"]
