"""Settings of the neural checker, saved next to its weights."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from lmcommon.data import read_dataclass, write_json

CONFIG_NAME = "pesc_config.json"


@dataclass
class PESCConfig:
    """Shape, losses and decoding of the pinyin-enhanced checker."""

    backbone: str = field(default="tiny", metadata={"help": "'tiny' or a Hugging Face BERT checkpoint (name or path)"})
    max_length: int = field(default=128, metadata={"help": "longest unit sequence (characters + pinyin slots)"})
    max_pinyin_letters: int = field(default=6, metadata={"help": "letters of a syllable the pinyin encoder reads"})
    pinyin_embedding_dim: int = field(default=32, metadata={"help": "letter embedding width of the pinyin encoder"})
    detection_weight: float = field(default=0.5, metadata={"help": "weight of the detection loss"})
    correction_weight: float = field(default=1.0, metadata={"help": "weight of the correction loss"})
    detection_threshold: float = field(
        default=0.5, metadata={"help": "an ordinary character changes only if P(wrong) exceeds this"}
    )
    correction_threshold: float = field(
        default=0.5, metadata={"help": "... and the new character's probability exceeds this"}
    )

    def __post_init__(self) -> None:
        if self.max_length < 8:
            raise ValueError(f"max_length must be >= 8, got {self.max_length}")
        if self.max_pinyin_letters < 1 or self.pinyin_embedding_dim < 1:
            raise ValueError("max_pinyin_letters and pinyin_embedding_dim must be >= 1")
        if self.detection_weight < 0 or self.correction_weight <= 0:
            raise ValueError("detection_weight must be >= 0 and correction_weight > 0")
        for name in ("detection_threshold", "correction_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")

    def save(self, directory: str | Path) -> None:
        write_json(Path(directory) / CONFIG_NAME, asdict(self))

    @classmethod
    def load(cls, directory: str | Path) -> PESCConfig:
        path = Path(directory) / CONFIG_NAME
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing; is {directory} a trained pesc model?")
        return read_dataclass(path, cls)
