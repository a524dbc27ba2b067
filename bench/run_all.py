"""Runs every benchmark script in bench/ in turn (or those named), each in its own process.

Usage: python bench/run_all.py [model_load ...]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    scripts = sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name)
    if names:
        known = {p.stem: p for p in scripts}
        unknown = [n for n in names if n not in known]
        if unknown:
            print(f"unknown benchmark(s) {unknown}; available: {sorted(known)}", file=sys.stderr)
            return 2
        scripts = [known[n] for n in names]
    status = 0
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        status |= subprocess.run([sys.executable, str(script)], check=False).returncode
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
