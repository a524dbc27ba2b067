"""Speed of the default pesc checker on one CPU core: import time, first-use lexicon build, and sentences per
second on the shipped test split.

Usage: python bench/pesc_speed.py [--data data/pesc/test.jsonl] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

_IMPORT = "import time; start = time.perf_counter(); import pesc; print(time.perf_counter() - start)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/pesc/test.jsonl")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, children included

    imports = [
        float(subprocess.run([sys.executable, "-c", _IMPORT], capture_output=True, text=True, check=True).stdout)
        for _ in range(5)
    ]

    from lmcommon.data import read_jsonl
    from pesc import SpellChecker

    rows = read_jsonl(args.data)[: args.limit]
    checker = SpellChecker()
    start = time.perf_counter()
    checker.correct("预热")
    build = time.perf_counter() - start
    start = time.perf_counter()
    checker.correct_batch([row["source"] for row in rows])
    seconds = time.perf_counter() - start
    characters = sum(len(row["source"]) for row in rows)
    print(f"{'import pesc (median of 5, new process)':<44} {statistics.median(imports) * 1000:>9.0f} ms")
    print(f"{'first use: lexicon build':<44} {build:>9.1f} s")
    print(f"{'sentences on ' + args.data:<44} {len(rows):>9d}")
    print(f"{'sentences per second (one core)':<44} {len(rows) / seconds:>9.1f}")
    print(f"{'characters per second (one core)':<44} {characters / seconds:>9.0f}")


if __name__ == "__main__":
    main()
