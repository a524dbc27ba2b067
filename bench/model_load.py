"""Load time of the default causal LM: straight from the packaged GGUF (what transformers does on every call
without our cache) against lmcommon's cached safetensors copy. Each load runs in a new process; imports are
done before the clock starts, so the figures are the load call itself.

Usage: python bench/model_load.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

_TIMED_LOAD = """
import time
import torch, transformers
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM  # imports outside the clock
from lmcommon.models import load_causal_lm
start = time.perf_counter()
load_causal_lm("default", device="cpu")
print(time.perf_counter() - start)
"""


def _timed_load(cache: str) -> float:
    env = {**os.environ, "LMCOMMON_CACHE": cache, "TQDM_DISABLE": "1"}
    result = subprocess.run([sys.executable, "-c", _TIMED_LOAD], env=env, capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cold, warm = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(_timed_load(cache))  # empty cache: de-quantise the GGUF, as a plain transformers load does
            warm.append(_timed_load(cache))  # second process: the cached safetensors copy
    cold_s, warm_s = statistics.median(cold), statistics.median(warm)
    print(f"{'load of SmolLM2-135M-Instruct (new process)':<48} {'median s':>9}")
    print(f"{'from GGUF (first call, no cache)':<48} {cold_s:>9.2f}")
    print(f"{'from lmcommon cache (later calls)':<48} {warm_s:>9.2f}")
    print(f"{'speed-up':<48} {cold_s / warm_s:>8.1f}x")


if __name__ == "__main__":
    main()
