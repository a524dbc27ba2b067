"""lmcommon.paths and the checks `run` applies to every command: an output is never an input, a device or a FIFO,
whatever the spelling; a folder being written is locked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from lmcommon.cli import make_parser, run
from lmcommon.paths import input_path, output_file, output_folder, run_folder

pytestmark = pytest.mark.faults


def _tool(func=lambda args: 0):
    parser, commands = make_parser("tool", "a test tool", "1")
    go = commands.add_parser("go")
    go.add_argument("--data", nargs="+", type=input_path, default=[])
    go.add_argument("--output", type=output_file)
    go.add_argument("--folder", type=output_folder("train.jsonl", "test.jsonl"))
    go.add_argument("--model", type=output_folder())
    go.add_argument("--run", type=run_folder)
    go.set_defaults(func=func)
    return parser


def _refused(capsys, argv, needle) -> None:
    ran = []
    assert run(_tool(lambda args: ran.append(1)), ["go", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err, err
    assert ran == []  # refused before any work


@pytest.mark.parametrize("spelling", ["same", "dotted", "symlink", "hard link", "relative"])
def test_an_output_that_is_an_input_is_refused_in_any_spelling(tmp_path, capsys, monkeypatch, spelling):
    data = tmp_path / "gold.jsonl"
    data.write_text("{}\n")
    output = {
        "same": str(data),
        "dotted": str(tmp_path / "sub" / ".." / "gold.jsonl"),
        "symlink": str(tmp_path / "link.jsonl"),
        "hard link": str(tmp_path / "hard.jsonl"),
        "relative": "gold.jsonl",
    }[spelling]
    if spelling == "symlink":
        os.symlink(data, output)
    if spelling == "hard link":
        os.link(data, output)
    monkeypatch.chdir(tmp_path)
    _refused(capsys, ["--data", str(data), "--output", output], "is the --data input")
    assert data.read_text() == "{}\n"


def test_an_output_folder_holding_an_input_it_would_replace_is_refused(tmp_path, capsys):
    (tmp_path / "train.jsonl").write_text("{}\n")
    (tmp_path / "raw.jsonl").write_text("{}\n")
    _refused(capsys, ["--data", str(tmp_path / "train.jsonl"), "--folder", str(tmp_path)], "would replace")
    # an input the set does not write is carried over untouched, so it may sit in the folder
    assert run(_tool(), ["go", "--data", str(tmp_path / "raw.jsonl"), "--folder", str(tmp_path)]) == 0
    # a folder written without fixed names may hold no input at all
    _refused(capsys, ["--data", str(tmp_path / "raw.jsonl"), "--model", str(tmp_path)], "holds the --data input")


def test_a_run_folder_may_be_read_by_its_own_command(tmp_path):
    (tmp_path / "modula_config.json").write_text("{}")
    assert run(_tool(), ["go", "--data", str(tmp_path), "--run", str(tmp_path)]) == 0


@pytest.mark.parametrize("flag", ["--output", "--folder", "--run"])
def test_a_device_is_never_an_output(capsys, flag):
    _refused(capsys, [flag, os.devnull], "is a device")
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)


def test_a_fifo_is_never_an_output(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    _refused(capsys, ["--output", str(fifo)], "not a regular file")


def test_a_folder_given_as_an_output_file_names_the_folder_not_a_temporary_file(tmp_path, capsys):
    _refused(capsys, ["--output", str(tmp_path)], f"--output {tmp_path}: is a folder; a file was expected")


def test_a_file_given_as_an_output_folder_is_refused(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    _refused(capsys, ["--run", str(tmp_path / "f")], "is a file; a folder was expected")


def test_two_outputs_on_one_path_are_refused(tmp_path, capsys):
    _refused(capsys, ["--folder", str(tmp_path / "a"), "--model", str(tmp_path / "a")], "name the same path")


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from lmcommon.cli import make_parser, run
    from lmcommon.paths import run_folder
    parser, commands = make_parser("tool", "d", "1")
    go = commands.add_parser("go")
    go.add_argument("--run", type=run_folder)
    go.set_defaults(func=lambda args: print("holding", flush=True) or time.sleep(60))
    raise SystemExit(run(parser, ["go", "--run", sys.argv[1]]))
    """
)


def test_a_second_writer_of_a_folder_gets_one_line_naming_the_holder(tmp_path, capsys):
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "holding\n"
        _refused(capsys, ["--run", str(tmp_path / "run")], f"is being written by pid {holder.pid}")
    finally:
        holder.kill()
        holder.wait()
    # a killed holder leaves no lock behind: the next writer goes ahead
    assert run(_tool(), ["go", "--run", str(tmp_path / "run")]) == 0
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".run")]


def test_the_lock_records_its_holder(tmp_path):
    from lmcommon.outputs import folder_lock

    with folder_lock(tmp_path / "run", holder="modula train --stage expert"):
        record = json.loads((tmp_path / ".run.lock").read_text())
        assert record["pid"] == os.getpid() and record["command"] == "modula train --stage expert"
        with folder_lock(tmp_path / "run"):  # re-entrant within one process
            pass
        assert (tmp_path / ".run.lock").exists()
    assert not (tmp_path / ".run.lock").exists()


def test_a_full_disk_is_one_line_saying_the_old_outputs_are_kept(tmp_path, capsys):
    import errno

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out.jsonl"))

    assert run(_tool(full), ["go", "--output", str(tmp_path / "out.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "previous outputs are kept" in err
