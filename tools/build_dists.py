"""Builds the wheel and the sdist of lmcommon, modula, pesc and htcgen into one folder (``hatch run build``).

Builds run without isolation, with the hatchling of the development environment, so that they need no download;
tests/test_wheels.py installs what this writes into fresh virtual environments.

Usage: python tools/build_dists.py [--outdir dist]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"lmcommon": ROOT / "shared", **{p: ROOT / "packages" / p for p in ("modula", "pesc", "htcgen")}}


def build_all(outdir: Path) -> list[Path]:
    """Builds every package's sdist and wheel into ``outdir``; returns the files written, in build order.

    Raises:
        subprocess.CalledProcessError: a build failed (its output has been printed).
    """
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for folder in PACKAGES.values():
        with tempfile.TemporaryDirectory() as scratch:  # then what this build wrote is all that is in it
            command = [sys.executable, "-m", "build", "--no-isolation", "--outdir", scratch, str(folder)]
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            for built in sorted(Path(scratch).iterdir()):
                written.append(Path(shutil.move(built, outdir / built.name)))  # replaces an older build
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", type=Path, default=ROOT / "dist", help="where to write them (default: dist/)")
    args = parser.parse_args(argv)
    for path in build_all(args.outdir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
