"""Correcting a corpus with several processes, in input order.

The default checker is pure Python, so threads would share one core; processes do not. Where ``fork`` exists
(Linux) the workers inherit the parent's lexicon and language model, already loaded; elsewhere each worker
builds its own checker from the configuration once.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

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
    """``checker.correct`` over ``texts`` in up to ``jobs`` (> 1, checked by ``SpellChecker.correct_batch``)
    processes, never more than there are chunks; the results keep the order of ``texts`` (with each failure in
    its place if ``return_exceptions``).

    A worker that dies (killed, out of memory) loses no other text: the chunks it took down are corrected again one
    text at a time, so that only a text that kills its process again fails, with :class:`WorkerDied`.
    """
    from pesc.checker import correct_one

    texts = list(texts)
    chunks = [texts[start : start + chunk_size] for start in range(0, len(texts), chunk_size)]
    if len(chunks) < 2:  # one chunk is one process's work: no pool at all
        return [correct_one(checker, text, return_exceptions) for text in texts]
    if "fork" in multiprocessing.get_all_start_methods() and os.name == "posix":
        checker.load()  # the lexicon and the models load once, before the workers inherit them
        context, payload = multiprocessing.get_context("fork"), checker
    else:
        context, payload = multiprocessing.get_context("spawn"), _recipe(checker)

    def pool(workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(payload,))

    results: list[list | None] = [None] * len(chunks)
    with pool(max(1, min(jobs, len(chunks)))) as executor:
        futures = [executor.submit(_correct_chunk, chunk, return_exceptions) for chunk in chunks]
        for index, future in enumerate(futures):
            with contextlib.suppress(BrokenProcessPool):  # taken down with a dying worker: corrected again below
                results[index] = future.result()
    for index, chunk in enumerate(chunks):
        if results[index] is None:
            results[index] = _one_at_a_time(pool, chunk, return_exceptions)
    return [correction for chunk_results in results for correction in chunk_results]


class WorkerDied(RuntimeError):
    """The process correcting a text died (killed by a signal, or by the system for lack of memory)."""


def _one_at_a_time(pool, texts: list[str], return_exceptions: bool) -> list:
    """Each text in a worker of its own pool, one after the other: a text that kills its worker is the one named."""
    results, executor = [], None
    try:
        for text in texts:
            executor = executor or pool(1)
            try:
                results.append(executor.submit(_correct_chunk, [text], return_exceptions).result()[0])
            except BrokenProcessPool:
                executor.shutdown(wait=True)
                executor = None
                error = WorkerDied("the process correcting this text died (killed, or out of memory)")
                if not return_exceptions:
                    raise error from None
                results.append(error)
    finally:
        if executor is not None:
            executor.shutdown(wait=True)
    return results
