"""EDA-style augmentation (Wei & Zou, 2019), the baseline the generated data is compared with: each new copy of
a document gets one edit of about ``alpha`` of its words: random swaps, random deletions, or insertions of
in-domain words (words of other documents with the same label path, so the label stays true)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

OPERATIONS = ("swap", "delete", "insert")


def _edit(words: list[str], operation: str, count: int, pool: Sequence[str], rng: random.Random) -> list[str]:
    words = list(words)
    if operation == "swap":
        for _ in range(count):
            i, j = rng.randrange(len(words)), rng.randrange(len(words))
            words[i], words[j] = words[j], words[i]
    elif operation == "delete":
        doomed = set(rng.sample(range(len(words)), min(count, len(words) - 1)))  # never delete every word
        words = [w for i, w in enumerate(words) if i not in doomed]
    else:
        for _ in range(count):
            words.insert(rng.randrange(len(words) + 1), rng.choice(pool))
    return words


def eda_augment(documents: Sequence[dict], copies: int = 1, alpha: float = 0.1, seed: int = 0) -> list[dict]:
    """``copies`` edited copies of every document, with its labels; ``source`` is ``"eda"``.

    Args:
        documents: ``{"id", "text", "labels"}`` documents.
        copies: new documents per document.
        alpha: share of a document's words that one edit touches (at least one word).
        seed: the edits' seed.

    Raises:
        ValueError: ``copies`` < 0 or ``alpha`` outside (0, 1].
    """
    if copies < 0:
        raise ValueError(f"copies must be >= 0, got {copies}")
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    rng = random.Random(seed)
    vocabulary: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for document in documents:
        words = [w for w in document["text"].split() if w.isalpha() and w.lower() not in ENGLISH_STOP_WORDS]
        vocabulary[tuple(document["labels"])].extend(words)
    augmented = []
    for index, document in enumerate(documents):
        words = document["text"].split()
        pool = vocabulary[tuple(document["labels"])] or words
        for copy in range(copies):
            count = max(1, round(alpha * len(words)))
            text = document["text"]
            for _ in range(10):  # a swap of two equal words changes nothing: draw again
                operation = rng.choice(OPERATIONS if len(words) > 1 else ("insert",))
                text = " ".join(_edit(words, operation, count, pool, rng))
                if text != document["text"]:
                    break
            augmented.append(
                {
                    "id": f"{document.get('id', index)}-eda{copy}",
                    "text": text,
                    "labels": list(document["labels"]),
                    "source": "eda",
                }
            )
    return augmented
