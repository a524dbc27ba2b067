from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def checker():
    """The default checker; its lexicon takes a few seconds to build, once per session."""
    from pesc import SpellChecker

    instance = SpellChecker()
    instance.correct("预热")  # builds the lexicon
    return instance
