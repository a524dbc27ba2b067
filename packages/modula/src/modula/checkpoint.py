"""On-disk layout of a MoDULA model, one folder per expert:

    DIR/modula_config.json
    DIR/universal/adapter_config.json + adapter_model.safetensors   a standard peft LoRA checkpoint
    DIR/<domain>/adapter_config.json + adapter_model.safetensors    Flan: a standard peft LoRA checkpoint
    DIR/<domain>/modula_expert.json + adapter_model.safetensors     Res: same tensor names, reads h, not x
    DIR/router/router_config.json + router.safetensors              every layer's router, outputs in order

Tensor names follow peft (``base_model.model.<module>.lora_A.weight``), so ``PeftModel.from_pretrained(base,
DIR/"universal")`` loads the universal expert as is. Every file is written atomically; only safetensors are read.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from lmcommon.data import atomic_write, read_json, write_json
from lmcommon.errors import reading_saved_file
from lmcommon.quantization import quantization_of
from modula.config import CONFIG_NAME, MoDULAConfig

if TYPE_CHECKING:
    from modula.model import MoDULAModel

logger = logging.getLogger(__name__)

WEIGHTS_NAME = "adapter_model.safetensors"
PEFT_CONFIG_NAME = "adapter_config.json"
RES_EXPERT_CONFIG_NAME = "modula_expert.json"
ROUTER_FOLDER = "router"
ROUTER_WEIGHTS_NAME = "router.safetensors"
ROUTER_CONFIG_NAME = "router_config.json"
BASE_MODEL_NAME = "base_model.json"  # the base the experts were trained on (see base_fingerprint)
BASE_SAMPLES = 64
_PREFIX = "base_model.model."


def _write_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    data = safetensors_bytes({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, metadata={"format": "pt"})
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def _peft_lora_config(model: MoDULAModel, rank: int, alpha: float) -> dict:
    from peft import LoraConfig

    config = model.modula_config
    lora = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=config.dropout,
        target_modules=config.target_modules,
        bias="none",
        task_type="CAUSAL_LM",
        base_model_name_or_path=getattr(model.config, "_name_or_path", None) or None,
    )
    # as LoraConfig.save_pretrained writes it, but through an atomic write
    return {k: sorted(v) if isinstance(v, set) else v for k, v in lora.to_dict().items()}


def _expert_tensors(model: MoDULAModel, expert: str) -> dict[str, torch.Tensor]:
    tensors = {}
    for name, layer in model.modula_layers():
        module = layer.universal if expert == "universal" else layer.experts[expert]
        tensors[f"{_PREFIX}{name}.lora_A.weight"] = module.lora_A
        tensors[f"{_PREFIX}{name}.lora_B.weight"] = module.lora_B
    return tensors


def save_modula(model: MoDULAModel, directory: Path) -> Path:
    """Writes the config, each expert and the routers of ``model`` into ``directory``, as one set: staged beside it
    and swapped in whole, so that a save killed half-way leaves the model that was there (other files stay)."""
    from lmcommon.outputs import replace_folder

    with replace_folder(directory) as staging:
        _write_modula(model, staging)
    return directory


def _write_modula(model: MoDULAModel, directory: Path) -> None:
    config = model.modula_config
    write_json(directory / BASE_MODEL_NAME, base_fingerprint(model.base_model))
    config.save(directory)
    _write_tensors(directory / "universal" / WEIGHTS_NAME, _expert_tensors(model, "universal"))
    write_json(
        directory / "universal" / PEFT_CONFIG_NAME,
        _peft_lora_config(model, config.universal_rank, config.universal_alpha),
    )
    for domain in config.domains:
        _write_tensors(directory / domain / WEIGHTS_NAME, _expert_tensors(model, domain))
        if config.variant == "flan":
            lora = _peft_lora_config(model, config.expert_rank, config.expert_alpha)
            write_json(directory / domain / PEFT_CONFIG_NAME, lora)
        else:
            description = {
                "kind": "modula-res-expert",
                "domain": domain,
                "rank": config.expert_rank,
                "alpha": config.expert_alpha,
                "leaky_relu_slope": config.leaky_relu_slope,
                "note": "reads the universal expert's output h: y = W0 x + h + B LeakyReLU(A h); not a plain LoRA",
            }
            write_json(directory / domain / RES_EXPERT_CONFIG_NAME, description)
    routers = {f"{name}.weight": layer.router.weight for name, layer in model.modula_layers()}
    _write_tensors(directory / ROUTER_FOLDER / ROUTER_WEIGHTS_NAME, routers)
    write_json(directory / ROUTER_FOLDER / ROUTER_CONFIG_NAME, {"outputs": config.router_outputs})


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (an incomplete MoDULA checkpoint?)")
    with reading_saved_file(path):
        return load_file(str(path))


def _copy_into(parameter: torch.nn.Parameter, tensors: dict[str, torch.Tensor], key: str, path: Path) -> None:
    if key not in tensors:
        raise ValueError(f"{path}: tensor {key!r} is missing; the checkpoint does not fit this model")
    value = tensors[key]
    if value.shape != parameter.shape:
        raise ValueError(
            f"{path}: tensor {key!r} has shape {tuple(value.shape)}, the model expects {tuple(parameter.shape)}"
        )
    with torch.no_grad():
        parameter.copy_(value.to(dtype=parameter.dtype, device=parameter.device))


def _load_expert(layers: list, expert: str, path: Path) -> None:
    tensors = _read_tensors(path)
    for name, layer in layers:
        module = layer.universal if expert == "universal" else layer.experts[expert]
        _copy_into(module.lora_A, tensors, f"{_PREFIX}{name}.lora_A.weight", path)
        _copy_into(module.lora_B, tensors, f"{_PREFIX}{name}.lora_B.weight", path)


def load_universal_expert(model: MoDULAModel, folder: str | Path) -> None:
    """Loads a peft LoRA checkpoint folder (a MoDULA model's ``universal/``, or any LoRA of the same rank and
    target modules) into ``model``'s universal expert; the domain experts and routers are left as they are.

    Raises:
        FileNotFoundError: the folder has no adapter weights.
        ValueError: a tensor is missing or its shape does not fit.
    """
    _load_expert(list(model.modula_layers()), "universal", Path(folder) / WEIGHTS_NAME)


def load_adapter_weights(model: MoDULAModel, directory: Path) -> None:
    """Copies every expert's and router's tensors from ``directory`` into ``model``.

    Raises:
        FileNotFoundError: a file of the checkpoint is missing.
        ValueError: the checkpoint's domains, tensors or shapes do not fit the model.
    """
    config = model.modula_config
    saved = MoDULAConfig.load(directory)
    if saved.domains != config.domains or saved.variant != config.variant:
        raise ValueError(
            f"{directory / CONFIG_NAME}: checkpoint has variant {saved.variant!r} and domains {saved.domains}, "
            f"the model has {config.variant!r} and {config.domains}"
        )
    layers = list(model.modula_layers())
    for expert in ["universal", *config.domains]:
        _load_expert(layers, expert, directory / expert / WEIGHTS_NAME)
    router_config_path = directory / ROUTER_FOLDER / ROUTER_CONFIG_NAME
    outputs = read_json(router_config_path).get("outputs")
    if outputs != config.router_outputs:
        raise ValueError(f"{router_config_path}: router outputs {outputs} != the model's {config.router_outputs}")
    path = directory / ROUTER_FOLDER / ROUTER_WEIGHTS_NAME
    tensors = _read_tensors(path)
    for name, layer in layers:
        _copy_into(layer.router.weight, tensors, f"{name}.weight", path)


def load_modula(
    cls: type[MoDULAModel], base_model: torch.nn.Module, directory: Path, allow_other_base: bool = False
) -> MoDULAModel:
    check_base_model(base_model, directory, allow_other_base)
    model = cls(base_model, MoDULAConfig.load(directory))
    load_adapter_weights(model, directory)
    return model


def base_fingerprint(base_model: torch.nn.Module) -> dict:
    """What identifies the base model the experts were trained on: its name, its shape, and 64 values of its input
    embedding at fixed places. The values tell apart two models of the same shapes (a random Llama and a trained
    one, two fine-tunes), and survive loading in another precision (bf16, a quantised base keeps its embedding)."""
    embedding = base_model.get_input_embeddings().weight.detach().flatten()
    last = embedding.numel() - 1  # whole-number spacing: float32 linspace rounds past the end of a large table
    places = torch.tensor([i * last // (BASE_SAMPLES - 1) for i in range(BASE_SAMPLES)])
    config = base_model.config
    return {
        "name_or_path": getattr(config, "_name_or_path", None) or None,
        "model_type": getattr(config, "model_type", None),
        "embedding_shape": list(base_model.get_input_embeddings().weight.shape),
        "embedding_sample": [float(v) for v in embedding[places.to(embedding.device)].float().cpu()],
        # "nf4", "fp4", "int8" or None: experts move between precisions of one base, with a notice
        "quantization": quantization_of(base_model),
    }


def _described(fingerprint: dict) -> str:
    """A base model as a message names it: its name or path, else its type and embedding shape."""
    if fingerprint.get("name_or_path"):
        return repr(fingerprint["name_or_path"])
    return f"a {fingerprint.get('model_type')} model with a {fingerprint.get('embedding_shape')} embedding"


def check_base_model(base_model: torch.nn.Module, directory: Path, allow_other_base: bool = False) -> None:
    """Refuses to put experts on a base model other than the one they were trained on (a folder saved before the
    base was recorded is taken as it is).

    Raises:
        ValueError: the base differs (the folder, both names and ``--allow-other-base`` named), unless
            ``allow_other_base``, which logs one warning instead.
    """
    path = directory / BASE_MODEL_NAME
    if not path.is_file():
        return
    saved = read_json(path)
    mine = base_fingerprint(base_model)
    sample = saved.get("embedding_sample")
    same_shape = saved.get("embedding_shape") == mine["embedding_shape"]
    same = (
        same_shape
        and isinstance(sample, list)
        and len(sample) == BASE_SAMPLES
        and all(isinstance(v, int | float) for v in sample)
        and torch.allclose(torch.tensor(sample), torch.tensor(mine["embedding_sample"]), rtol=0.02, atol=1e-3)
    )
    if same:
        if "quantization" in saved and saved["quantization"] != mine["quantization"]:
            logger.warning(
                "%s: experts trained over a %s base, loaded onto a %s one: outputs differ by the quantisation error",
                directory,
                _precision(saved["quantization"]),
                _precision(mine["quantization"]),
            )
        return
    what = "shapes" if not same_shape else "weights"
    mismatch = (
        f"{directory}: its experts were trained on {_described(saved)}; the base model given "
        f"({_described(mine)}) has other {what}"
    )
    if not allow_other_base:
        raise ValueError(
            f"{mismatch}. Give --model the base they were trained on, or --allow-other-base to load them anyway"
        )
    logger.warning("%s (loading anyway: --allow-other-base)", mismatch)


def _precision(quantization: str | None) -> str:
    return "float" if quantization is None else f"{quantization} (bitsandbytes)"
