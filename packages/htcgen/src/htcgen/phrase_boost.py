"""Decoding that makes the given phrases appear: a logits processor that raises, in each row of a batch, the next
token of every phrase the row has not yet written.

A generator tuned on a hundred documents mostly ignores the phrases in its prompt (issue 7 measured about 20%
coverage). Raising the logit of a phrase's first token invites it; once the row has written a phrase's first k
tokens, its (k+1)-th token is raised, so a begun phrase tends to be finished; a finished phrase is raised no more.
The boost is added before sampling's temperature and top-p, so it shifts the distribution without forcing it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import LogitsProcessor


def _written_prefix(generated: list[int], phrase: list[int]) -> int:
    """The length of the longest proper prefix of ``phrase`` that ``generated`` ends with (0: none)."""
    for length in range(min(len(phrase) - 1, len(generated)), 0, -1):
        if generated[-length:] == phrase[:length]:
            return length
    return 0


def _contains(generated: list[int], phrase: list[int]) -> bool:
    n = len(phrase)
    return any(generated[i : i + n] == phrase for i in range(len(generated) - n + 1))


class PhraseBoostLogitsProcessor(LogitsProcessor):
    """Adds ``boost`` to the logit of the next token of each of a row's phrases not yet written in full.

    Args:
        phrase_ids: per batch row, its phrases as token-id lists (empty lists are ignored).
        prompt_length: the (left-padded) prompt length of the batch: tokens after it are the generated ones.
        boost: added to the chosen logits (> 0).
    """

    def __init__(self, phrase_ids: Sequence[Sequence[Sequence[int]]], prompt_length: int, boost: float):
        if boost <= 0:
            raise ValueError(f"boost must be > 0, got {boost}")
        self.phrase_ids = [[list(p) for p in phrases if len(p)] for phrases in phrase_ids]
        self.prompt_length, self.boost = prompt_length, boost

    def __call__(self, input_ids: torch.LongTensor, scores: torch.Tensor) -> torch.Tensor:
        if input_ids.shape[0] != len(self.phrase_ids):
            raise ValueError(f"phrases were given for {len(self.phrase_ids)} rows, the batch has {input_ids.shape[0]}")
        raised = torch.zeros_like(scores, dtype=torch.bool)
        for row, phrases in enumerate(self.phrase_ids):
            generated = input_ids[row, self.prompt_length :].tolist()
            for phrase in phrases:
                if not _contains(generated, phrase):
                    raised[row, phrase[_written_prefix(generated, phrase)]] = True
        return torch.where(raised, scores + self.boost, scores)


def phrase_token_ids(tokenizer, phrases: Sequence[str]) -> list[list[int]]:
    """Each phrase as the generator writes it inside running text: tokenised after a space, no special tokens."""
    return [tokenizer(" " + phrase, add_special_tokens=False)["input_ids"] for phrase in phrases if phrase.strip()]
