"""MoDULA over a 4-bit and an 8-bit bitsandbytes base (QLoRA), on the CPU: the packed base never changes, each
stage trains exactly its parameters, the mixture is the float64 reference's, saved experts move between precisions,
serving dequantises or keeps the packed weights, and the commands run the same with --load-in-4bit."""

from __future__ import annotations

import copy
import logging

import pytest
import torch
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

from lmcommon.quantization import Quantization
from modula.cli import main
from modula.config import MoDULAConfig
from modula.model import MoDULAModel
from modula.quantized import is_quantized_linear

from .conftest import _TINY, make_tokenizer

pytest.importorskip("bitsandbytes")

# bitsandbytes packs 4-bit weights in blocks of 64 and its CPU kernels want output widths divisible by 32, so the
# quantized tests use a wider tiny Llama than conftest's (its key/value projections are 2 heads x 16 = 32 wide)
_QUANTIZABLE = {**_TINY, "hidden_size": 64, "intermediate_size": 128}
STAGES = [("universal", None), ("expert", "alpha"), ("router", None), ("joint", None)]
IDS = torch.tensor([[3, 4, 5, 6, 7, 8], [9, 10, 11, 12, 13, 14]])


def _float_llama() -> LlamaForCausalLM:
    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(**_QUANTIZABLE))


@pytest.fixture(scope="session")
def quantizable_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quantizable-llama")
    _float_llama().save_pretrained(folder)
    make_tokenizer().save_pretrained(folder)
    return folder


def _load(folder, bits: int | None):
    if bits is None:
        return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    config = Quantization(bits=bits).transformers_config(torch.float32)
    return AutoModelForCausalLM.from_pretrained(folder, quantization_config=config, device_map="cpu")


@pytest.fixture(scope="session")
def _bases(quantizable_folder):
    return {bits: _load(quantizable_folder, bits) for bits in (None, 4, 8)}


@pytest.fixture
def bases(_bases):
    return {bits: copy.deepcopy(model) for bits, model in _bases.items()}


def _packed_state(model) -> dict[str, torch.Tensor]:
    """Every tensor of the base model that is not an adapter's: the packed weights, their scales and the rest."""
    return {
        name: tensor.detach().clone()
        for name, tensor in model.base_model.state_dict().items()
        if not any(part in name for part in (".universal.", ".experts.", ".router."))
    }


def _randomise_adapters(model: MoDULAModel, seed: int = 1) -> None:
    """Non-zero B's and routers, so that every part of the mixture shows in the output."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, layer in model.modula_layers():
            for expert in [layer.universal, *layer.experts.values()]:
                expert.lora_B.copy_(0.5 * torch.randn(expert.lora_B.shape, generator=generator))
            layer.router.weight.copy_(torch.randn(layer.router.weight.shape, generator=generator))


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("variant", ["flan", "res"])
def test_every_stage_trains_exactly_its_parameters_and_leaves_the_packed_base_as_it_was(bases, bits, variant):
    model = MoDULAModel(bases[bits], MoDULAConfig(variant=variant, domains=["alpha", "beta"]))
    reference = MoDULAModel(bases[None], MoDULAConfig(variant=variant, domains=["alpha", "beta"]))
    assert model.quantization == ("nf4" if bits == 4 else "int8")
    assert all(is_quantized_linear(layer.base_layer) for _, layer in model.modula_layers())
    _randomise_adapters(model)
    before = _packed_state(model)
    for stage, domain in STAGES:
        model.set_stage(stage, domain)
        reference.set_stage(stage, domain)
        trainable = set(model.trainable_parameter_names())
        assert trainable == set(reference.trainable_parameter_names())  # the same sets as over a float base
        model.train()
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
        model.zero_grad()
        model(input_ids=IDS, labels=IDS).loss.backward()
        with_gradient = {name for name, p in model.named_parameters() if p.grad is not None}
        assert with_gradient == trainable, stage
        optimizer.step()
    after = _packed_state(model)
    assert after.keys() == before.keys()
    for name, tensor in before.items():
        assert torch.equal(tensor, after[name]), name


@pytest.mark.parametrize("bits", [4, 8])
def test_the_adapters_train_in_the_compute_dtype_on_the_bases_device(bases, bits):
    model = MoDULAModel(bases[bits], MoDULAConfig(variant="res", domains=["alpha"]))
    model.add_domain("beta")
    for _, layer in model.modula_layers():
        assert layer.base_layer.weight.dtype in (torch.uint8, torch.int8)  # still packed
        for parameter in [*layer.universal.parameters(), *layer.experts.parameters(), *layer.router.parameters()]:
            assert parameter.dtype == torch.float32 and parameter.device.type == "cpu"


def _float64_reference(layer, x: torch.Tensor, weight: torch.Tensor, variant: str) -> torch.Tensor:
    """DESIGN.md's Flan / Res mixture, written out in float64 over the base weight ``weight``."""
    x = x.double()
    wide = {name: p.detach().double() for name, p in layer.named_parameters() if "base_layer" not in name}
    base = x @ weight.double().T
    gates = torch.softmax(x @ wide["router.weight"].T, dim=-1)

    def expert(name, inputs):
        return (inputs @ wide[f"{name}.lora_A"].T) @ wide[f"{name}.lora_B"].T * layer.expert_scaling

    universal = (x @ wide["universal.lora_A"].T) @ wide["universal.lora_B"].T * layer.universal.scaling
    domains = list(layer.experts)
    if variant == "flan":
        mixed = gates[..., :1] * universal
        for i, name in enumerate(domains, start=1):
            mixed = mixed + gates[..., i : i + 1] * expert(f"experts.{name}", x)
        return base + mixed
    mixed = universal
    for i, name in enumerate(domains):
        hidden = torch.nn.functional.leaky_relu(universal @ wide[f"experts.{name}.lora_A"].T, layer.leaky_relu_slope)
        mixed = mixed + gates[..., i : i + 1] * (hidden @ wide[f"experts.{name}.lora_B"].T) * layer.expert_scaling
    return base + mixed


@pytest.mark.parametrize("variant", ["flan", "res"])
def test_the_mixture_over_nf4_is_the_float64_reference_over_the_dequantised_weight(bases, variant):
    from bitsandbytes.functional import dequantize_4bit

    model = MoDULAModel(bases[4], MoDULAConfig(variant=variant, domains=["alpha", "beta"]))
    _randomise_adapters(model)
    model.eval()
    name, layer = next(model.modula_layers())
    original = dict(bases[None].named_modules())[name].weight  # the float weight it was quantized from
    dequantised = dequantize_4bit(layer.base_layer.weight.data, layer.base_layer.weight.quant_state)
    x = torch.randn(3, 5, layer.in_features, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        output = layer(x).double()
    torch.testing.assert_close(output, _float64_reference(layer, x, dequantised, variant), rtol=1e-4, atol=1e-4)
    # against the float base it was quantized from, the difference is nf4's rounding of W0 and nothing more
    nf4_error = (x.double() @ (original.double() - dequantised.double()).T).abs().max()
    difference = (output - _float64_reference(layer, x, original, variant)).abs().max()
    assert difference <= nf4_error * 1.01 + 1e-4
    assert nf4_error > 0  # the comparison means something: nf4 did round the weight


@pytest.mark.parametrize("bits", [4, 8])
def test_save_and_load_over_a_quantized_base_round_trip(tmp_path, bases, _bases, bits):
    model = MoDULAModel(bases[bits], MoDULAConfig(variant="res", domains=["alpha"]))
    _randomise_adapters(model)
    model.save_pretrained(tmp_path / "run")
    loaded = MoDULAModel.from_pretrained(copy.deepcopy(_bases[bits]), tmp_path / "run")
    expected = dict(model.named_parameters())
    for name, parameter in loaded.named_parameters():
        torch.testing.assert_close(parameter, expected[name], rtol=0, atol=0, msg=name)
    model.eval(), loaded.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids=IDS).logits, model(input_ids=IDS).logits)


def test_experts_move_from_a_4bit_base_to_the_float_base_and_back_with_a_notice(tmp_path, bases, _bases, caplog):
    quantized = MoDULAModel(bases[4], MoDULAConfig(variant="flan", domains=["alpha"]))
    _randomise_adapters(quantized)
    quantized.save_pretrained(tmp_path / "over-nf4")
    with caplog.at_level(logging.WARNING, logger="modula.checkpoint"):
        on_float = MoDULAModel.from_pretrained(copy.deepcopy(_bases[None]), tmp_path / "over-nf4")
    notices = [r.getMessage() for r in caplog.records if "differ by the quantisation error" in r.getMessage()]
    assert len(notices) == 1 and "over a nf4 (bitsandbytes) base, loaded onto a float one" in notices[0]
    on_float.save_pretrained(tmp_path / "over-float")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="modula.checkpoint"):
        back = MoDULAModel.from_pretrained(copy.deepcopy(_bases[4]), tmp_path / "over-float")
    assert any("over a float base, loaded onto a nf4 (bitsandbytes) one" in r.getMessage() for r in caplog.records)
    for name, parameter in back.named_parameters():
        if parameter.dtype == torch.float32 and "base_layer" not in name and "embed" not in name:
            assert torch.equal(parameter, dict(quantized.named_parameters())[name]), name


@pytest.mark.parametrize("variant", ["flan", "res"])
@pytest.mark.parametrize("bits", [4, 8])
def test_folding_for_serving_keeps_the_base_packed_and_computes_the_mixture(bases, variant, bits):
    model = MoDULAModel(bases[bits], MoDULAConfig(variant=variant, domains=["alpha", "beta"]))
    _randomise_adapters(model)
    with torch.no_grad(), model.mixture_path_only():
        expected = model(input_ids=IDS).logits
    served = model.fold_for_serving()
    layers = [m for m in served.modules() if type(m).__name__ == "RoutedServingLinear"]
    assert layers and all(is_quantized_linear(layer.base_layer) for layer in layers)
    with torch.no_grad():
        torch.testing.assert_close(served(input_ids=IDS).logits, expected, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("variant", ["flan", "res"])
def test_merging_a_domain_dequantises_the_base_says_so_and_serves_the_expert_path(bases, variant, caplog, tmp_path):
    from modula.merge import load_merged, save_merged

    model = MoDULAModel(bases[4], MoDULAConfig(variant=variant, domains=["alpha", "beta"]))
    _randomise_adapters(model)
    with torch.no_grad(), model.expert_path_only("beta"):
        expected = model(input_ids=IDS).logits
    with caplog.at_level(logging.WARNING, logger="modula.quantized"):
        merged = model.merge_domain("beta")
    assert any("dequantised to torch.float32" in r.getMessage() for r in caplog.records)
    assert not any(is_quantized_linear(m) for m in merged.modules())
    assert getattr(merged.config, "quantization_config", None) is None  # it saves as a float checkpoint
    with torch.no_grad():
        torch.testing.assert_close(merged(input_ids=IDS).logits, expected, rtol=1e-4, atol=1e-4)
    save_merged(merged, tmp_path / "merged", variant=variant, domain="beta", tokenizer=make_tokenizer())
    reloaded, _ = load_merged(tmp_path / "merged", device="cpu")
    with torch.no_grad():
        torch.testing.assert_close(reloaded(input_ids=IDS).logits, expected, rtol=1e-4, atol=1e-4)


def test_without_bitsandbytes_the_error_is_one_line_with_the_install_command(monkeypatch, quantizable_folder, capsys):
    import lmcommon.quantization as quantization
    from lmcommon.errors import QuantizationUnavailableError

    real_find_spec = quantization.importlib.util.find_spec
    monkeypatch.setattr(
        quantization.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "bitsandbytes" else real_find_spec(name, *a),
    )
    with pytest.raises(QuantizationUnavailableError, match=r"not installed.*pip install 'bitsandbytes>=0.50'"):
        Quantization(bits=4).transformers_config(torch.float32)
    arguments = ["generate", "--model", str(quantizable_folder), "--load-in-4bit", "--prompt", "alpha a"]
    assert main([*arguments, "--device", "cpu", "--max-new-tokens", "1"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [
        "modula: error: a quantized base model needs bitsandbytes: it is not installed; install it with: "
        "pip install 'bitsandbytes>=0.50' (or the package's [quant] extra, e.g. pip install 'modula[quant]')"
    ]


def test_a_bitsandbytes_that_cannot_run_here_is_named_in_one_line(monkeypatch):
    import builtins

    from lmcommon.errors import QuantizationUnavailableError
    from lmcommon.quantization import require_bitsandbytes

    real_import = builtins.__import__

    def failing_import(name, *args, **kwargs):
        if name == "bitsandbytes":
            raise RuntimeError("CUDA Setup failed despite GPU being available.\nmore detail")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing_import)
    with pytest.raises(QuantizationUnavailableError) as caught:
        require_bitsandbytes()
    assert str(caught.value) == (
        "a quantized base model needs bitsandbytes: it cannot run on this machine "
        "(CUDA Setup failed despite GPU being available.)"
    )


def test_4_and_8_bits_at_once_are_refused_by_the_command_line(capsys, quantizable_folder):
    with pytest.raises(SystemExit):
        main(["generate", "--model", str(quantizable_folder), "--load-in-4bit", "--load-in-8bit", "--prompt", "a"])
    assert "not allowed with argument" in capsys.readouterr().err


FAST = ["--max-steps", "4", "--lr", "1e-2", "--batch-size", "4", "--logging-steps", "2", "--seed", "0"]


@pytest.fixture
def quantized_workspace(tmp_path, quantizable_folder):
    from .conftest import write_toy_files

    return tmp_path, str(quantizable_folder), write_toy_files(tmp_path)


def test_every_command_runs_over_a_4bit_base(quantized_workspace):
    import json

    from safetensors.torch import load_file

    root, model, data = quantized_workspace
    run = root / "run"
    common = ["--model", model, "--load-in-4bit", "--output", str(run), *FAST]
    universal = ["train", "--stage", "universal", "--data", data["general"], "--variant", "res", "--domains", "alpha"]
    assert main([*universal, *common]) == 0
    assert main(["train", "--stage", "expert", "--domain", "alpha", "--data", data["alpha"], *common]) == 0
    assert main(["train", "--stage", "router", "--data", data["mix_alpha"], *common]) == 0
    assert json.loads((run / "base_model.json").read_text())["quantization"] == "nf4"
    alpha_before = load_file(run / "alpha" / "adapter_model.safetensors")
    add = ["add-domain", "--adapters", str(run), "--domain", "beta", "--data", data["beta"]]
    assert main([*add, "--router-data", data["mix"], "--model", model, "--load-in-4bit", *FAST]) == 0
    for name, tensor in load_file(run / "alpha" / "adapter_model.safetensors").items():
        assert torch.equal(tensor, alpha_before[name]), name  # the plug-in left the old expert as it was
    for stage in ("universal", "expert-alpha", "router", "expert-beta"):
        report = json.loads((run / "reports" / f"{stage}.json").read_text())
        assert report["steps"] == 4 and report["train_loss"] > 0, stage

    serve = ["--model", model, "--load-in-4bit", "--adapters", str(run), "--device", "cpu", "--max-new-tokens", "3"]
    replies = root / "replies.jsonl"
    assert main(["generate", *serve, "--prompt", "alpha a b", "--prompt", "beta c", "--output", str(replies)]) == 0
    assert [json.loads(line)["prompt"] for line in replies.read_text().splitlines()] == ["alpha a b", "beta c"]
    merged = root / "merged-beta"
    merge = ["merge", "--model", model, "--load-in-4bit", "--adapters", str(run), "--domain", "beta"]
    assert main([*merge, "--device", "cpu", "--output", str(merged)]) == 0
    assert "quantization_config" not in json.loads((merged / "config.json").read_text())  # saved in float
    assert main(["generate", "--model", str(merged), "--prompt", "beta c", "--device", "cpu"]) == 0


def test_a_killed_run_over_a_4bit_base_resumes_to_the_uninterrupted_result(
    quantized_workspace, interrupt_after_first_checkpoint
):
    from ..conftest import assert_killed_run_resumes

    root, model, data = quantized_workspace

    def train(output, *extra):
        arguments = ["train", "--stage", "universal", "--data", data["general"], "--domains", "alpha"]
        return main([*arguments, "--model", model, "--load-in-4bit", "--output", str(root / output), *FAST, *extra])

    assert_killed_run_resumes(train, root, interrupt_after_first_checkpoint)
