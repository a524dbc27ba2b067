"""The resume file of a sampling run: each chunk of samples is appended as it is drawn, and a rerun reads back the
whole chunks that match its requests (:func:`htcgen.generator.sample_documents`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from lmcommon.data import write_jsonl

logger = logging.getLogger(__name__)


def resume_path(output: str | Path) -> Path:
    """Where the samples bound for ``output`` accumulate while they are drawn."""
    output = Path(output)
    return output.with_name(output.name + ".partial")


def read_resume_file(path: Path, requests: Sequence[dict], chunk_size: int, run: dict | None = None) -> list[dict]:
    """The samples a resume file holds for the leading requests, in whole chunks. A line torn by a kill, a chunk
    left half written, and anything after the first sample whose prompt is not its request's are dropped, and the
    file is rewritten (atomically) to what is kept, so that the next chunk appends after it.

    Args:
        run: what shapes the samples (model, adapter, sampling settings, seed; see :func:`run_fingerprint`). The
            file's first line records it; a file written by a run with other settings is not resumed but started
            again, with one notice naming what changed.
    """
    run = run or {}
    header = {RUN_KEY: run}
    if not path.is_file():
        write_jsonl(path, [header])
        return []
    # lines end at "\n" only: a sample may hold U+2028 or U+0085, which str.splitlines would take as line ends
    lines = path.read_bytes().decode("utf-8", errors="replace").split("\n")
    recorded = _recorded_run(lines[0])
    if recorded != run:
        changed = sorted(k for k in set(run) | set(recorded or {}) if (recorded or {}).get(k) != run.get(k))
        reason = "no record of its settings" if recorded is None else f"other {', '.join(changed)}"
        logger.warning("%s: written by a run with %s; sampling from the start", path, reason)
        write_jsonl(path, [header])
        return []
    rows = []
    for line in lines[1:]:
        try:
            row = json.loads(line)
        except ValueError:
            break  # the last line, cut off by the kill (or the empty string after the last line end)
        index = len(rows)
        if index >= len(requests) or not isinstance(row, dict) or row.get("prompt") != requests[index]["prompt"]:
            break
        rows.append(row)
    whole = len(rows) if len(rows) == len(requests) else len(rows) - len(rows) % chunk_size
    if whole:
        logger.info("%s: resuming after %d of %d samples", path, whole, len(requests))
    elif any(line.strip() for line in lines[1:]):
        logger.warning("%s: holds no whole chunk of these requests; sampling from the start", path)
    write_jsonl(path, [header, *rows[:whole]])
    return rows[:whole]


RUN_KEY = "htcgen-sampling-run"


def _recorded_run(line: str) -> dict | None:
    try:
        first = json.loads(line)
    except ValueError:
        return None
    recorded = first.get(RUN_KEY) if isinstance(first, dict) else None
    return recorded if isinstance(recorded, dict) else None


def run_fingerprint(settings: dict, adapter: str | Path | None, seed: int, chunk_size: int) -> dict:
    """What a resumed run must share with the one that wrote the file: every generator setting, the seed, the
    chunk size, and the adapter (its path and the size and time of its weights, so that a retrained adapter in the
    same folder is a new run). JSON values only, as the file stores them."""
    weights = None
    if adapter is not None:
        path = Path(adapter) / "adapter_model.safetensors"
        if path.is_file():
            stat = path.stat()
            weights = [stat.st_size, stat.st_mtime_ns]
    return json.loads(
        json.dumps(
            {
                **settings,
                "adapter": None if adapter is None else str(adapter),
                "adapter_weights": weights,
                "seed": seed,
                "chunk_size": chunk_size,
            }
        )
    )
