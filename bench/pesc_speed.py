"""Speed of the default pesc checker on one CPU core: the KenLM checker against the unigram (jieba word
frequency) checker on the same sentences, plus import time and first-use costs.

Usage: python bench/pesc_speed.py [--data data/pesc/test.jsonl] [--limit N] [--lm PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

_IMPORT = "import time; start = time.perf_counter(); import pesc; print(time.perf_counter() - start)"


def _throughput(checker, sources: list[str]) -> tuple[float, float]:
    """(first-use seconds, sentences per second) for a checker that has not been used yet."""
    start = time.perf_counter()
    checker.load()  # the language model and the character model (the lexicon is already built)
    first_use = time.perf_counter() - start
    start = time.perf_counter()
    checker.correct_batch(sources)
    return first_use, len(sources) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/pesc/test.jsonl")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--lm", default="auto", help="the language model of the LM checker (default: auto)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, children included

    imports = [
        float(subprocess.run([sys.executable, "-c", _IMPORT], capture_output=True, text=True, check=True).stdout)
        for _ in range(5)
    ]

    from lmcommon.data import read_jsonl
    from pesc import SpellChecker
    from pesc.lexicon import default_lexicon

    sources = [row["source"] for row in read_jsonl(args.data)[: args.limit]]
    start = time.perf_counter()
    lexicon = default_lexicon()
    build = time.perf_counter() - start
    unigram = SpellChecker(lexicon=lexicon, lm="unigram")
    with_lm = SpellChecker(lexicon=lexicon, lm=args.lm)
    lm_open, lm_speed = _throughput(with_lm, sources)  # first: its load builds the shared character model
    _, unigram_speed = _throughput(unigram, sources)
    characters = sum(len(s) for s in sources) / len(sources)
    print(f"{'import pesc (median of 5, new process)':<48} {statistics.median(imports) * 1000:>9.0f} ms")
    print(f"{'first use: lexicon build':<48} {build:>9.1f} s")
    print(f"{'first use: language + character model':<48} {lm_open:>9.2f} s   ({with_lm.lm.name})")
    print(f"{'sentences on ' + args.data:<48} {len(sources):>9d}   ({characters:.0f} characters each)")
    print(f"{'unigram checker, sentences/s (one core)':<48} {unigram_speed:>9.1f}")
    print(f"{'LM checker, sentences/s (one core)':<48} {lm_speed:>9.1f}")
    print(f"{'LM / unigram':<48} {lm_speed / unigram_speed:>9.2f}x")


if __name__ == "__main__":
    main()
