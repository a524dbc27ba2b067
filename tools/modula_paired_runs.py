"""The paired difference in accuracy between two `modula demo` runs on the same test rows (e.g. over a 4-bit and a
float base), per system and domain, with a percentile bootstrap interval over the rows.

Each run folder's ``replies/<system>.jsonl`` holds every scored row with its ``correct`` flag; the two runs must
have scored the same prompts in the same order (the same profile and data).

Usage: python tools/modula_paired_runs.py RUN_A RUN_B [--domains math finance]   (prints B minus A, in points)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lmcommon.data import read_jsonl
from lmcommon.metrics import bootstrap_interval


def paired_difference(first: list[dict], second: list[dict]) -> dict[str, float]:
    """Accuracy of ``second`` minus that of ``first`` on the same rows, in points, with its 95% interval.

    Raises:
        ValueError: the two lists are not the same prompts in the same order.
    """
    if [r["prompt"] for r in first] != [r["prompt"] for r in second]:
        raise ValueError("the two runs scored different rows; compare runs of the same profile and data")
    a, b = [bool(r["correct"]) for r in first], [bool(r["correct"]) for r in second]
    return bootstrap_interval(len(a), lambda rows: 100 * sum(b[i] - a[i] for i in rows) / len(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--domains", nargs="+", default=["math", "medical", "finance"])
    args = parser.parse_args()
    print(f"| system | domain | rows | {args.second.name} minus {args.first.name} (points) | 95% interval |")
    print("|---|---|---:|---:|---|")
    for path in sorted((args.first / "replies").glob("*.jsonl")):
        other = args.second / "replies" / path.name
        if not other.is_file():
            continue
        mine, theirs = read_jsonl(path), read_jsonl(other)
        for domain in args.domains:
            first = [r for r in mine if r["domain"] == domain]
            second = [r for r in theirs if r["domain"] == domain]
            if first:
                got = paired_difference(first, second)
                print(
                    f"| {path.stem} | {domain} | {len(first)} | {got['estimate']:+.1f} | "
                    f"[{got['low']:+.1f}, {got['high']:+.1f}] |"
                )


if __name__ == "__main__":
    main()
