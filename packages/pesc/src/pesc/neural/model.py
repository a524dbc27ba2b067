"""The PESC network: a BERT-style encoder whose input is each character's embedding plus an embedding of its
pinyin (letters read by a small GRU, as PLOME does), with a detection head and a correction head."""

from __future__ import annotations

import torch
from torch import nn
from transformers import BertConfig, BertModel

from pesc.neural.config import PESCConfig
from pesc.neural.features import LETTERS


class PinyinEncoder(nn.Module):
    """Letters of a syllable (or one initial) -> a vector of the encoder's width; no letters -> zeros."""

    def __init__(self, hidden_size: int, letter_dim: int):
        super().__init__()
        self.letters = nn.Embedding(len(LETTERS) + 1, letter_dim, padding_idx=0)  # 0 pads
        self.gru = nn.GRU(letter_dim, hidden_size, batch_first=True)

    def forward(self, letter_ids: torch.Tensor) -> torch.Tensor:
        # letter_ids: (batch, seq, max_letters) -> (batch, seq, hidden)
        batch, seq, width = letter_ids.shape
        flat = letter_ids.reshape(batch * seq, width)
        lengths = (flat != 0).sum(dim=1)
        output = torch.zeros(batch * seq, self.gru.hidden_size, device=flat.device, dtype=self.letters.weight.dtype)
        present = lengths > 0
        if present.any():
            packed = nn.utils.rnn.pack_padded_sequence(
                self.letters(flat[present]), lengths[present].cpu(), batch_first=True, enforce_sorted=False
            )
            _, last = self.gru(packed)  # last: (1, n, hidden)
            output[present] = last[0].to(output.dtype)
        return output.reshape(batch, seq, -1)


class PESCModel(nn.Module):
    """Encoder + pinyin encoder + detection head (is this position wrong) + correction head (which character).

    Args:
        backbone_config: the BERT configuration (its vocabulary is the character vocabulary).
        config: PESC settings (loss weights, pinyin encoder size).
        backbone: pretrained encoder weights to start from, or None for a randomly initialised one.
    """

    def __init__(self, backbone_config: BertConfig, config: PESCConfig, backbone: BertModel | None = None):
        super().__init__()
        self.config = config
        self.backbone = backbone if backbone is not None else BertModel(backbone_config, add_pooling_layer=False)
        hidden = backbone_config.hidden_size
        self.pinyin = PinyinEncoder(hidden, config.pinyin_embedding_dim)
        self.detection_head = nn.Linear(hidden, 1)
        self.correction_head = nn.Linear(hidden, backbone_config.vocab_size)

    def forward(
        self,
        input_ids: torch.Tensor,
        letter_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
        detection_labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        embeddings = self.backbone.get_input_embeddings()(input_ids) + self.pinyin(letter_ids)
        hidden = self.backbone(inputs_embeds=embeddings, attention_mask=attention_mask).last_hidden_state
        output = {"detection_logits": self.detection_head(hidden).squeeze(-1), "logits": self.correction_head(hidden)}
        if labels is not None:
            correction = nn.functional.cross_entropy(
                output["logits"].flatten(0, 1).float(), labels.flatten(), ignore_index=-100
            )
            loss = self.config.correction_weight * correction
            if detection_labels is not None and self.config.detection_weight > 0:
                mask = detection_labels != -100
                detection = nn.functional.binary_cross_entropy_with_logits(
                    output["detection_logits"][mask].float(), detection_labels[mask].float()
                )
                loss = loss + self.config.detection_weight * detection
            output["loss"] = loss
        return output
