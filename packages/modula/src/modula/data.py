"""Prompt/response rows for MoDULA: reading them and the balanced domain mix of the router stage (tokenising
with the loss on the response only is :mod:`lmcommon.sft`)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lmcommon.data import read_jsonl
from lmcommon.errors import DataError


def read_chat_rows(path: str | Path, *, require_domain: bool = False) -> list[dict[str, Any]]:
    """Reads JSONL rows with ``prompt`` and ``response`` (and ``domain`` when ``require_domain``).

    Raises:
        DataError: a malformed line or a missing/empty field, naming file and line.
    """
    required = ("prompt", "response", "domain") if require_domain else ("prompt", "response")
    rows = read_jsonl(path, required=required)
    if not rows:
        raise DataError("no examples", path=path)
    for line, row in enumerate(rows, start=1):
        for field in required:
            if not isinstance(row[field], str):
                raise DataError(
                    f"must be a string, got {type(row[field]).__name__}", path=path, line=line, field=field
                )
    return rows


def balanced_mix(
    rows: Sequence[dict[str, Any]],
    domains: Sequence[str],
    samples_per_domain: int | None = None,
    seed: int = 0,
    key: str = "domain",
) -> list[dict[str, Any]]:
    """An equal number of rows from every domain, shuffled (stage 3 trains the routers on this mix).

    Args:
        rows: rows with a ``domain`` field (or the field named by ``key``).
        domains: the domains to draw; each must have rows.
        samples_per_domain: rows per domain; default the largest domain's count (smaller domains repeat,
            each pass in a new seeded order).
        seed: the shuffling seed.
        key: the field that groups the rows; ``"answer"`` draws a label-balanced set of one domain's rows.

    Raises:
        ValueError: a domain has no rows, or a row names a domain outside ``domains``.
    """
    by_domain: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row[key] not in domains:
            raise ValueError(f"row with {key} {row[key]!r} is not one of {list(domains)}")
        by_domain[row[key]].append(row)
    missing = [d for d in domains if not by_domain[d]]
    if missing:
        raise ValueError(f"no rows with {key} {missing}; every one of {list(domains)} needs rows")
    count = samples_per_domain or max(len(by_domain[d]) for d in domains)
    generator = random.Random(seed)
    mix = []
    for domain in domains:
        pool: list[dict[str, Any]] = []
        while len(pool) < count:
            shuffled = list(by_domain[domain])
            generator.shuffle(shuffled)
            pool.extend(shuffled)
        mix.extend(pool[:count])
    generator.shuffle(mix)
    return mix
