"""Saving and loading a trained checker: config, backbone config, vocabulary and safetensors weights."""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from transformers import BertConfig

from lmcommon.data import atomic_write, read_json
from lmcommon.errors import reading_saved_file
from pesc.neural.config import PESCConfig
from pesc.neural.encode import CharVocab
from pesc.neural.model import PESCModel

WEIGHTS_NAME = "model.safetensors"
BACKBONE_CONFIG_NAME = "backbone_config.json"


def save_pesc(model: PESCModel, vocab: CharVocab, directory: str | Path) -> Path:
    """Writes everything :func:`load_pesc` needs into ``directory`` (each file atomically)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.config.save(directory)
    vocab.save(directory)
    with atomic_write(directory / BACKBONE_CONFIG_NAME) as handle:
        handle.write(model.backbone.config.to_json_string())
    state = {name: tensor.detach().contiguous().cpu() for name, tensor in model.state_dict().items()}
    with atomic_write(directory / WEIGHTS_NAME, "wb") as handle:
        handle.write(safetensors_bytes(state, metadata={"format": "pt"}))
    return directory


def load_weights(model: PESCModel, directory: str | Path) -> None:
    """Loads saved weights into a model of the same shape.

    Raises:
        ValueError: the weights do not fit the model (names the missing or unexpected tensors).
    """
    path = Path(directory) / WEIGHTS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; is {directory} a trained pesc model?")
    with reading_saved_file(path):
        state = load_file(str(path))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{path}: weights do not fit the model; missing {missing[:5]}, unexpected {unexpected[:5]}")


def load_pesc(directory: str | Path) -> tuple[PESCModel, CharVocab]:
    """The model (eval mode, CPU) and vocabulary saved in ``directory``."""
    directory = Path(directory)
    config = PESCConfig.load(directory)
    vocab = CharVocab.load(directory)
    path = directory / BACKBONE_CONFIG_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; is {directory} a trained pesc model?")
    backbone_config = BertConfig(**read_json(path))
    model = PESCModel(backbone_config, config)
    load_weights(model, directory)
    return model.eval(), vocab
