"""Speed of the default pesc checker on one CPU core, beside what a user had before: the learned misspelling
decision (the default) against the gain-threshold checker (``decision="threshold"``, the previous default) and
the unigram checker on the same sentences; and the time from a new process to its first corrected sentence with
a warm dictionary cache against a cold one (what every process paid before the cache).

Last, one line of about 1 MB, in microseconds per character beside the sentences one per line (work is linear in a
clause's length).

Usage: python bench/pesc_speed.py [--data data/pesc/test.jsonl] [--limit N] [--lm PATH] [--starts 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

_IMPORT = "import time; start = time.perf_counter(); import pesc; print(time.perf_counter() - start)"
# a new process: import, load what the first sentence needs, correct it; timed from the interpreter's start
_FIRST_SENTENCE = (
    "import time; start = time.perf_counter(); from pesc import SpellChecker; "
    "SpellChecker().correct('我今天很gaoxing，我们要保护环竟。'); print(time.perf_counter() - start)"
)


def _seconds(code: str, env: dict | None = None) -> float:
    """What ``code`` printed last: its own timing, taken inside the new process."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return float(result.stdout.strip().splitlines()[-1])


def _throughput(checker, sources: list[str]) -> float:
    """Sentences per second once the checker's models are loaded and warm, each checker starting from the same
    empty segmentation caches (they are shared by every checker of a process, keyed by text and model)."""
    from pesc import lattice

    checker.load()
    # a first pass makes what each process makes once (the lexicon's entry lists for the readings these sentences
    # ask about, the confusion pools), so that no checker pays for it on behalf of the ones measured after it
    checker.correct_batch(sources)
    lattice._segment_cached.cache_clear()
    lattice._mixed_span_words.cache_clear()
    start = time.perf_counter()
    checker.correct_batch(sources)
    return len(sources) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/pesc/test.jsonl")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--lm", default="auto", help="the language model of the LM checkers (default: auto)")
    parser.add_argument("--starts", type=int, default=3, help="new processes timed per cache state (median)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, children included

    imports = [_seconds(_IMPORT) for _ in range(5)]
    with tempfile.TemporaryDirectory() as empty:
        cold = []
        for index in range(args.starts):  # each start in a cache of its own, empty: it builds the tables
            cold.append(_seconds(_FIRST_SENTENCE, {**os.environ, "LMCOMMON_CACHE": f"{empty}/{index}"}))
    _seconds(_FIRST_SENTENCE)  # make sure the user's cache holds the tables
    warm = [_seconds(_FIRST_SENTENCE) for _ in range(args.starts)]

    from lmcommon.data import read_jsonl
    from pesc import CheckerConfig, SpellChecker
    from pesc.lexicon import default_lexicon

    sources = [row["source"] for row in read_jsonl(args.data)[: args.limit]]
    lexicon = default_lexicon()
    learned = SpellChecker(lexicon=lexicon, lm=args.lm)
    threshold = SpellChecker(CheckerConfig(decision="threshold"), lexicon=lexicon, lm=args.lm)
    unigram = SpellChecker(CheckerConfig(decision="threshold"), lexicon=lexicon, lm="unigram")
    speeds = {
        name: _throughput(checker, sources)
        for name, checker in (("learned", learned), ("threshold", threshold), ("unigram", unigram))
    }
    characters = sum(len(s) for s in sources) / len(sources)
    print(f"{'import pesc (median of 5, new process)':<58} {statistics.median(imports) * 1000:>9.0f} ms")
    print(f"{'new process -> first sentence, cold cache (median)':<58} {statistics.median(cold):>9.2f} s")
    print(f"{'new process -> first sentence, warm cache (median)':<58} {statistics.median(warm):>9.2f} s")
    print(f"{'cold / warm':<58} {statistics.median(cold) / statistics.median(warm):>9.1f}x")
    print(f"{'sentences on ' + args.data:<58} {len(sources):>9d}   ({characters:.0f} characters each)")
    print(
        f"{'learned decision (default), sentences/s (one core)':<58} {speeds['learned']:>9.1f}   ({learned.lm.name})"
    )
    print(f"{'gain threshold (previous default), sentences/s':<58} {speeds['threshold']:>9.1f}")
    print(f"{'unigram checker (threshold), sentences/s':<58} {speeds['unigram']:>9.1f}")
    print(f"{'learned / threshold':<58} {speeds['learned'] / speeds['threshold']:>9.2f}x")
    _long_line(learned, sources)


def _long_line(checker, sources: list[str]) -> None:
    """One line of about 1 MB (the test sentences joined without a break, one clause where no punctuation falls)
    against the same sentences one per line: the time per character should be the same, work being linear in a
    clause's length."""
    line, size = "", 0
    while size < 1_000_000:
        for source in sources:
            line += source
            size += len(source.encode("utf-8"))
    clause = "我今天很高兴" * (1_000_000 // len("我今天很高兴".encode()))  # one clause: no punctuation at all
    per_line = sum(len(s) for s in sources)
    start = time.perf_counter()
    checker.correct_batch(sources)
    short = (time.perf_counter() - start) / per_line
    for name, text in (("1 MB line (the sentences joined)", line), ("1 MB clause without punctuation", clause)):
        start = time.perf_counter()
        checker.correct(text)
        seconds = time.perf_counter() - start
        per_char = seconds / len(text)
        print(
            f"{name + ', us/character':<58} {per_char * 1e6:>9.1f}   ({len(text)} characters, {seconds:.1f} s; "
            f"{per_char / short:.2f}x the per-character time of the sentences one per line)"
        )


if __name__ == "__main__":
    main()
