"""Correcting a corpus with several processes, in input order.

The default checker is pure Python, so threads would share one core; processes do not. Where ``fork`` exists
(Linux) the workers inherit the parent's lexicon and language model, already loaded; elsewhere each worker
builds its own checker from the configuration once.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

_worker_checker = None  # the checker each worker process corrects with


def _start_worker(checker_or_recipe) -> None:
    global _worker_checker
    if isinstance(checker_or_recipe, tuple):  # spawned: build the checker from (config, lm path or name)
        from pesc.checker import SpellChecker

        config, lm, script = checker_or_recipe
        checker_or_recipe = SpellChecker(config, lm=lm, script=script)
    _worker_checker = checker_or_recipe


def _correct_chunk(texts: list[str], return_exceptions: bool) -> list:
    from pesc.checker import correct_one

    return [correct_one(_worker_checker, text, return_exceptions) for text in texts]


def _recipe(checker):
    """What a spawned worker needs to rebuild ``checker``: its configuration and its language model's name."""
    from pesc.lexicon import default_lexicon
    from pesc.lm import KenLM

    if checker._lexicon is not None and checker._lexicon is not default_lexicon():
        raise ValueError("jobs > 1 without fork cannot carry a custom lexicon; correct with jobs=1")
    lm = checker.lm
    return checker.config, str(lm.path) if isinstance(lm, KenLM) else "unigram", checker.script


def correct_in_processes(
    checker, texts: Sequence[str], jobs: int, chunk_size: int = 64, return_exceptions: bool = False
) -> list:
    """``checker.correct`` over ``texts`` in ``jobs`` (> 1, checked by ``SpellChecker.correct_batch``)
    processes; the results keep the order of ``texts`` (with each failure in its place if ``return_exceptions``)."""
    texts = list(texts)
    chunks = [texts[start : start + chunk_size] for start in range(0, len(texts), chunk_size)]
    if "fork" in multiprocessing.get_all_start_methods() and os.name == "posix":
        checker.load()  # the lexicon and the models load once, before the workers inherit them
        context, payload = multiprocessing.get_context("fork"), checker
    else:
        context, payload = multiprocessing.get_context("spawn"), _recipe(checker)
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(payload,)) as pool:
        flags = [return_exceptions] * len(chunks)
        return [correction for chunk in pool.map(_correct_chunk, chunks, flags) for correction in chunk]
