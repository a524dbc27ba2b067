"""Run by tests/test_wheels.py with the python of a fresh virtual environment (not collected by pytest): for each
package named on the command line, checks it was imported from that environment (the installed wheel, not a
checkout) and runs every sub-command's ``--help`` in process. Prints one JSON line of what it found, with the
sub-commands whose help failed and their error output."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import sys
import sysconfig
from pathlib import Path


def probe(package: str) -> dict:
    module = importlib.import_module(package)
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    origin = Path(module.__file__).resolve()
    cli = importlib.import_module(f"{package}.cli")
    parser = cli.build_parser()
    subcommands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    failures = []
    for name in subcommands:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = cli.main([name, "--help"])
            except SystemExit as exit_:  # argparse exits after printing the help
                status = exit_.code
        if status != 0 or f"usage: {package} {name}" not in out.getvalue():
            failures.append({"command": name, "status": status, "stderr": err.getvalue()[-500:]})
    return {
        "package": package,
        "installed": origin.is_relative_to(site),
        "version": module.__version__,
        "subcommands": sorted(subcommands),
        "failures": failures,
    }


if __name__ == "__main__":
    print(json.dumps([probe(package) for package in sys.argv[1:]]))
