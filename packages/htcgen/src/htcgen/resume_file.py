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


def read_resume_file(path: Path, requests: Sequence[dict], chunk_size: int) -> list[dict]:
    """The samples a resume file holds for the leading requests, in whole chunks. A line torn by a kill, a chunk
    left half written, and anything after the first sample whose prompt is not its request's are dropped, and the
    file is rewritten (atomically) to what is kept, so that the next chunk appends after it."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            break  # the last line, cut off by the kill
        index = len(rows)
        if index >= len(requests) or not isinstance(row, dict) or row.get("prompt") != requests[index]["prompt"]:
            break
        rows.append(row)
    whole = len(rows) if len(rows) == len(requests) else len(rows) - len(rows) % chunk_size
    if whole:
        logger.info("%s: resuming after %d of %d samples", path, whole, len(requests))
    elif rows or path.stat().st_size:
        logger.warning("%s: holds no whole chunk of these requests; sampling from the start", path)
    write_jsonl(path, rows[:whole])
    return rows[:whole]
