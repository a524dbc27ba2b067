"""What the default checker builds from its dictionaries (the lexicon and the character model), kept on disk so
that a new process corrects its first sentence in about a second instead of rebuilding them for several.

Entries live in lmcommon's cache (``$LMCOMMON_CACHE``, see :mod:`lmcommon.cache`): written atomically with a
manifest, verified before use, rebuilt with one warning when damaged, and named by everything their contents
depend on (pesc's version and table format, jieba's and pypinyin's versions, the Python version that wrote the
:mod:`marshal` file), so that an upgrade builds a fresh entry rather than reading a stale one.
"""

from __future__ import annotations

import importlib.metadata
import logging
import marshal
import shutil
import sys
from collections.abc import Callable

from lmcommon.cache import cached_folder

logger = logging.getLogger(__name__)

TABLES_FORMAT = 1  # raise when Lexicon.to_tables or CharacterModel.to_tables change shape
_FILE = "tables.marshal"


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:  # a source tree on sys.path: no metadata to read
        return "unknown"


def entry_name(what: str) -> str:
    """The cache entry's name: what it holds and every version its contents depend on."""
    from pesc import __version__

    python = f"py{sys.version_info.major}{sys.version_info.minor}"
    versions = f"jieba{_version('jieba')}-pypinyin{_version('pypinyin')}-{python}"
    return f"pesc-{__version__}-{what}-v{TABLES_FORMAT}-{versions}"


def cached_tables(what: str, build: Callable[[], dict], description: str) -> dict:
    """The tables ``build()`` returns, read from the cache (built and written on first use).

    A file that verifies but does not load (written by a different interpreter, or damaged in a way its size and
    time do not show) is removed and built again.
    """
    name = entry_name(what)

    def write(folder) -> None:
        logger.info("building %s once; later processes read it from the cache", description)
        (folder / _FILE).write_bytes(marshal.dumps(build()))

    folder = cached_folder(name, write, description)
    try:
        return marshal.loads((folder / _FILE).read_bytes())
    except (EOFError, ValueError, TypeError, OSError) as error:
        logger.warning("pesc cache: %s in %s does not load (%s); rebuilding it", description, folder, error)
        shutil.rmtree(folder, ignore_errors=True)
        return marshal.loads((cached_folder(name, write, description) / _FILE).read_bytes())
