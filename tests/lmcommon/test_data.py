from __future__ import annotations

import gzip
import io
import json
import sys

import pytest

from lmcommon.data import (
    append_jsonl,
    atomic_write,
    read_dataclass,
    read_json,
    read_jsonl,
    read_stdin_lines,
    read_text_lines,
    write_json,
    write_jsonl,
)
from lmcommon.errors import DataError


def _write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_round_trip_keeps_unicode(tmp_path):
    rows = [{"text": "我今天很gaoxing", "labels": ["a", "b"]}, {"text": "emoji 🙂", "n": 2}]
    path = tmp_path / "out" / "rows.jsonl"
    assert write_jsonl(path, rows) == 2
    assert read_jsonl(path, required=("text",)) == rows
    assert "我今天很gaoxing" in path.read_text(encoding="utf-8")  # not \u-escaped


def test_blank_lines_are_skipped(tmp_path):
    path = _write_lines(tmp_path / "a.jsonl", ['{"a": 1}', "", "   ", '{"a": 2}'])
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}]


def test_malformed_line_names_file_and_line(tmp_path):
    path = _write_lines(tmp_path / "bad.jsonl", ['{"prompt": "x", "response": "y"}', "", '{"prompt": "x", '])
    with pytest.raises(DataError) as info:
        read_jsonl(path)
    assert info.value.line == 3
    assert str(info.value).startswith(f"{path}:3: invalid JSON")


def test_missing_field_names_file_line_and_field(tmp_path):
    path = _write_lines(tmp_path / "rows.jsonl", ['{"prompt": "a", "response": "b"}', '{"prompt": "a"}'])
    with pytest.raises(DataError, match=r"rows\.jsonl:2: field 'response': missing required field") as info:
        read_jsonl(path, required=("prompt", "response"))
    assert (info.value.line, info.value.field) == (2, "response")


def test_empty_required_field_is_an_error(tmp_path):
    path = _write_lines(tmp_path / "rows.jsonl", ['{"text": "  "}'])
    with pytest.raises(DataError, match=r":1: field 'text': required field is empty"):
        read_jsonl(path, required=("text",))


def test_non_object_line_is_an_error(tmp_path):
    path = _write_lines(tmp_path / "rows.jsonl", ["[1, 2]"])
    with pytest.raises(DataError, match=r":1: expected a JSON object, got list"):
        read_jsonl(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.jsonl"):
        read_jsonl(tmp_path / "nope.jsonl")


def test_appended_rows_follow_the_ones_already_there(tmp_path):
    path = tmp_path / "new" / "log.jsonl"  # the folder is made
    append_jsonl(path, [{"i": 1, "text": "甲"}])
    append_jsonl(path, [{"i": 2}, {"i": 3}])
    assert read_jsonl(path) == [{"i": 1, "text": "甲"}, {"i": 2}, {"i": 3}]
    assert "甲" in path.read_text(encoding="utf-8")  # written as UTF-8, not escaped


def test_gzipped_jsonl(tmp_path):
    path = tmp_path / "rows.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write('{"token": ["text"], "label": ["A", "B"]}\n')
    assert read_jsonl(path, required=("token", "label")) == [{"token": ["text"], "label": ["A", "B"]}]


def test_text_that_is_not_utf8_names_file_line_and_column(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_bytes("第一行\r\n第二行\n".encode() + b"ab\xffc\n")
    with pytest.raises(DataError, match=r"texts\.txt:3: not UTF-8 text \(byte 0xff at column 3\)") as info:
        read_text_lines(path)
    assert info.value.line == 3
    path.write_bytes("第一行\r\n第二行\n".encode())
    assert read_text_lines(path) == ["第一行", "第二行"]  # line ends, \r\n included, are dropped
    with pytest.raises(FileNotFoundError, match=r"nope\.txt"):
        read_text_lines(tmp_path / "nope.txt")


def test_stdin_is_read_as_utf8_whatever_the_locale(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("甲\r\n乙\n".encode()), encoding="ascii"))
    assert read_stdin_lines() == ["甲", "乙"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("甲\n乙\n"))  # a text stream without bytes underneath
    assert read_stdin_lines() == ["甲", "乙"]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a\nb\xfe\n")))
    with pytest.raises(DataError, match=r"<stdin>:2: not UTF-8 text \(byte 0xfe at column 2\)"):
        read_stdin_lines()


def test_jsonl_and_json_that_are_not_utf8_name_file_and_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": "\xe9"}\n')  # Latin-1, as a spreadsheet export may write it
    with pytest.raises(DataError, match=r"rows\.jsonl:2: not UTF-8 text \(byte 0xe9 at column 8\)"):
        read_jsonl(path)
    path = tmp_path / "config.json"
    path.write_bytes(b'{\n  "name": "\xe9"\n}\n')
    with pytest.raises(DataError, match=r"config\.json:2: not UTF-8 text \(byte 0xe9 at column 12\)"):
        read_json(path)


def test_interrupted_write_leaves_old_file_intact(tmp_path):
    path = tmp_path / "rows.jsonl"
    write_jsonl(path, [{"old": 1}])
    before = path.read_bytes()

    def rows():
        yield {"new": 1}
        raise KeyboardInterrupt  # the job dies halfway through writing

    with pytest.raises(KeyboardInterrupt):
        write_jsonl(path, rows())
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.jsonl"]  # no temporary file left behind


def test_unserialisable_row_leaves_old_file_intact(tmp_path):
    path = tmp_path / "rows.jsonl"
    write_jsonl(path, [{"old": 1}])
    with pytest.raises(TypeError):
        write_jsonl(path, [{"ok": 1}, {"bad": object()}])
    assert read_jsonl(path) == [{"old": 1}]


def test_atomic_write_binary_and_permissions(tmp_path):
    path = tmp_path / "blob.bin"
    with atomic_write(path, "wb") as handle:
        handle.write(b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert path.stat().st_mode & 0o044  # readable by group/others like a normally created file (umask 022)


def test_write_json(tmp_path):
    path = tmp_path / "config.json"
    write_json(path, {"name": "模型", "rank": 8})
    assert json.loads(path.read_text(encoding="utf-8")) == {"name": "模型", "rank": 8}


def test_read_json_names_file_and_line_of_bad_json(tmp_path):
    path = tmp_path / "config.json"
    write_json(path, {"a": [1, 2]})
    assert read_json(path) == {"a": [1, 2]}
    path.write_text('{\n  "a": [1,\n}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"config\.json:3: invalid JSON"):
        read_json(path)
    path.write_text("[1, 2]\n", encoding="utf-8")
    with pytest.raises(DataError, match="expected a JSON dict at the top level, got list"):
        read_json(path)
    assert read_json(path, expect=list) == [1, 2]
    with pytest.raises(FileNotFoundError, match=r"missing\.json"):
        read_json(tmp_path / "missing.json")


def test_read_dataclass_names_the_file_and_the_unknown_or_bad_field(tmp_path):
    import dataclasses

    @dataclasses.dataclass
    class Settings:
        steps: int = 1

        def __post_init__(self):
            if self.steps < 1:
                raise ValueError(f"steps must be >= 1, got {self.steps}")

    path = tmp_path / "settings.json"
    write_json(path, {"steps": 3})
    assert read_dataclass(path, Settings) == Settings(steps=3)
    write_json(path, {"steps": 3, "stpes": 4})
    with pytest.raises(DataError, match=r"settings\.json: unknown Settings field\(s\) \['stpes'\]"):
        read_dataclass(path, Settings)
    write_json(path, {"steps": 0})
    with pytest.raises(DataError, match=r"settings\.json: Settings: steps must be >= 1, got 0"):
        read_dataclass(path, Settings)


@pytest.mark.faults
def test_a_byte_order_mark_is_not_part_of_the_first_line(tmp_path):
    path = tmp_path / "rows.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "第一行\n第二行\n".encode())
    assert read_text_lines(path) == ["第一行", "第二行"]
    (tmp_path / "rows.jsonl").write_bytes(b"\xef\xbb\xbf" + b'{"a": 1}\n')
    assert read_jsonl(tmp_path / "rows.jsonl") == [{"a": 1}]
    (tmp_path / "c.json").write_bytes(b"\xef\xbb\xbf" + b'{"a": 1}')
    assert read_json(tmp_path / "c.json") == {"a": 1}


@pytest.mark.faults
def test_a_fifo_and_a_device_are_read_like_files(tmp_path):
    import os
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text("一\n二\n"))
    writer.start()
    assert read_text_lines(fifo) == ["一", "二"]
    writer.join()
    assert read_text_lines(os.devnull) == []


@pytest.mark.faults
@pytest.mark.parametrize("damage", ["truncated", "not gzip"])
def test_a_damaged_gzip_file_is_one_error_naming_it(tmp_path, damage):
    path = tmp_path / "rows.jsonl.gz"
    whole = gzip.compress(b'{"a": 1}\n' * 1000)
    path.write_bytes(whole[: len(whole) // 2] if damage == "truncated" else b'{"a": 1}\n')
    with pytest.raises(DataError, match=r"rows\.jsonl\.gz: damaged gzip file"):
        read_jsonl(path)
    with pytest.raises(DataError, match=r"rows\.jsonl\.gz: damaged gzip file"):
        read_json(path)
