"""Generator prompts: the label path (semantic-level information) and a random subset of the document's
phrases (phrase-level information), and the training pairs prompt -> document."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from htcgen.phrases import phrases_in
from htcgen.semantic import SEPARATOR
from htcgen.taxonomy import Taxonomy

MODES = ("full", "path", "phrases")  # both kinds of information, the label path only, phrases only


def build_prompt(path: Sequence[str], phrases: Sequence[str], mode: str = "full", contrast: Sequence[str] = ()) -> str:
    """The instruction for one document.

    Args:
        path: the target label path.
        phrases: phrases the document should use.
        mode: "full" (path and phrases), "path" (semantic-level only) or "phrases" (phrase-level only).
        contrast: labels the document is not about (siblings of the path's deepest label), named after the path;
            a prompt without the path names none.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    parts = ["Write the introduction of an encyclopedia article."]
    if mode in ("full", "path"):
        parts.append(f"Category: {SEPARATOR.join(path)}.")
        if contrast:
            parts.append(f"Not: {', '.join(contrast)}.")
    if mode in ("full", "phrases") and phrases:
        parts.append(f"Use these phrases: {', '.join(phrases)}.")
    return " ".join(parts)


def contrast_labels(path: Sequence[str], taxonomy: Taxonomy | None, count: int, rng: random.Random) -> list[str]:
    """Up to ``count`` siblings of the path's deepest label, drawn with ``rng`` (none, and no draw, when ``count``
    is 0): the labels a document of this path is most easily mistaken for, named so that the generator writes
    what sets the path apart from them."""
    if count < 0:
        raise ValueError(f"contrast count must be >= 0, got {count}")
    if count == 0 or taxonomy is None or not path:
        return []
    siblings = sorted(taxonomy.siblings(path[-1]))
    return siblings if len(siblings) <= count else sorted(rng.sample(siblings, count))


def lead(text: str, max_words: int) -> str:
    """The first sentences of ``text`` within ``max_words`` words; cut mid-sentence only where whole sentences
    would fill less than half of the budget."""
    if max_words < 1:
        raise ValueError(f"max_words must be >= 1, got {max_words}")
    words = text.split()
    if len(words) <= max_words:
        return text.strip()
    head = " ".join(words[:max_words])
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s)", head + " ")]
    if ends and len(head[: ends[-1]].split()) >= max_words // 2:
        return head[: ends[-1]]
    return head


def path_phrases(path: Sequence[str], phrase_table: dict, deepest: int | None = None) -> list[str]:
    """The mined phrases of every label on ``path`` (a label's own plus those it inherits), each once, in path
    order; with ``deepest``, only those of the ``deepest`` labels nearest the leaf that have phrases."""
    if deepest is not None and deepest < 1:
        raise ValueError(f"deepest must be >= 1 or None, got {deepest}")
    labels = [label for label in path if phrase_table.get(label, {}).get("own")]
    if deepest is not None:
        labels = labels[-deepest:]
    return list(dict.fromkeys(phrase for label in labels for phrase, _ in phrase_table[label]["own"]))


def document_phrases(text: str, path: Sequence[str], phrase_table: dict, deepest: int | None = None) -> list[str]:
    """The mined phrases of the labels on ``path`` (own and inherited; see :func:`path_phrases` for ``deepest``)
    that occur in ``text``."""
    return phrases_in(text, path_phrases(path, phrase_table, deepest))


def training_pairs(
    documents: Sequence[dict],
    phrase_table: dict,
    *,
    max_phrases: int = 5,
    mode: str | Sequence[str] = "full",
    lead_words: int | None = None,
    phrase_labels: int | None = None,
    seed: int = 0,
    taxonomy: Taxonomy | None = None,
    contrast_siblings: int = 0,
) -> list[dict]:
    """``{"prompt", "response", "labels"}`` per document: the response is the document itself, the prompt its
    path and a random subset (1 to ``max_phrases``) of the phrases it contains, drawn anew per document.

    ``lead_words`` cuts each response to its :func:`lead` and offers only the phrases of that lead. Set it to about
    what generation will write (``max_new_tokens``): a phrase offered in training then always shows up within the
    length a sample has, so the generator learns to use what it is given early, and to end a document there.

    ``phrase_labels`` offers only the phrases of the path's N deepest labels that have phrases, as generation
    with the same setting draws them. Those are the phrases the path's name does not already suggest (an upper
    label's phrases, such as "species", are written anyway), so the generator learns to follow what it is given.

    ``mode`` is one of :data:`MODES`, or several of them: each document then gets one drawn at random, so that one
    generator learns to follow every kind of prompt (the ablations then differ only in what they are given).

    ``contrast_siblings`` names up to that many siblings of the deepest label (from ``taxonomy``) after the path
    (:func:`contrast_labels`), as generation with the same setting does.
    """
    if max_phrases < 1:
        raise ValueError(f"max_phrases must be >= 1, got {max_phrases}")
    modes = [mode] if isinstance(mode, str) else list(mode)
    if not modes or any(m not in MODES for m in modes):
        raise ValueError(f"mode must be one or more of {MODES}, got {mode!r}")
    rng = random.Random(seed)
    pairs = []
    for document in documents:
        response = document["text"] if lead_words is None else lead(document["text"], lead_words)
        phrases = document_phrases(response, document["labels"], phrase_table, phrase_labels)
        subset = rng.sample(phrases, rng.randint(1, min(max_phrases, len(phrases)))) if phrases else []
        chosen = modes[0] if len(modes) == 1 else rng.choice(modes)
        contrast = contrast_labels(document["labels"], taxonomy, contrast_siblings, rng)
        pairs.append(
            {
                "prompt": build_prompt(document["labels"], subset, chosen, contrast),
                "response": response,
                "labels": document["labels"],
            }
        )
    return pairs
