from __future__ import annotations

import copy
import re

import pytest
import torch
from peft import PeftModel

from modula import MoDULAConfig, MoDULAModel

from .conftest import randomise_parts

IDS = torch.tensor([[3, 4, 5, 6, 7, 8, 9], [10, 11, 12, 13, 14, 15, 16]])
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def _wrap(base, variant="res", domains=("math", "medical"), **kwargs):
    return MoDULAModel(base, MoDULAConfig(variant=variant, domains=list(domains), dropout=0.0, **kwargs))


def _logits(model, ids=IDS):
    with torch.no_grad():
        return model(input_ids=ids).logits


@pytest.mark.parametrize("variant", ["flan", "res"])
def test_fresh_model_computes_the_base_model(base_model, variant):
    expected = _logits(copy.deepcopy(base_model))
    model = _wrap(base_model, variant)
    for stage, domain in [("inference", None), ("universal", None), ("expert", "medical"), ("router", None)]:
        model.set_stage(stage, domain)
        torch.testing.assert_close(_logits(model), expected, rtol=0, atol=0)


def test_default_targets_are_every_attention_and_mlp_projection(base_model):
    model = _wrap(base_model)
    adapted = {name for name, _ in model.modula_layers()}
    expected = {
        f"model.layers.{i}.{block}.{p}"
        for i in range(2)
        for p in PROJECTIONS
        for block in (["self_attn"] if p in PROJECTIONS[:4] else ["mlp"])
    }
    assert adapted == expected


def test_regex_targets_and_no_match(llama):
    model = _wrap(copy.deepcopy(llama), target_modules=r"model\.layers\.0\.self_attn\.(q|v)_proj")
    assert [n for n, _ in model.modula_layers()] == [
        "model.layers.0.self_attn.q_proj",
        "model.layers.0.self_attn.v_proj",
    ]
    with pytest.raises(ValueError, match=r"matched no module of LlamaForCausalLM; its linear layers are named"):
        _wrap(llama, target_modules=["query"])


def test_target_that_is_not_linear(llama):
    with pytest.raises(ValueError, match=r"is a LlamaRMSNorm; MoDULA adapts nn\.Linear only"):
        _wrap(llama, target_modules=["input_layernorm"])


def _trainable_groups(model) -> set[str]:
    groups = set()
    for name in model.trainable_parameter_names():
        match = re.search(r"\.(universal|router|experts\.\w+?)\.", name)
        assert match, name
        groups.add(match.group(1))
    return groups


@pytest.mark.parametrize("variant", ["flan", "res"])
def test_trainable_sets_per_stage(llama, variant):
    model = _wrap(llama, variant)
    per_layer = {"universal": 2, "expert": 2, "router": 1}
    expectations = [
        ("universal", None, {"universal"}, per_layer["universal"]),
        ("expert", "math", {"experts.math"}, per_layer["expert"]),
        ("expert", "medical", {"experts.medical"}, per_layer["expert"]),
        ("router", None, {"router"}, per_layer["router"]),
        ("joint", None, {"universal", "experts.math", "experts.medical", "router"}, 7),
        ("inference", None, set(), 0),
    ]
    n_layers = len(list(model.modula_layers()))
    for stage, domain, groups, tensors_per_layer in expectations:
        model.set_stage(stage, domain)
        assert _trainable_groups(model) == groups, stage
        assert len(model.trainable_parameter_names()) == tensors_per_layer * n_layers
        assert not any(p.requires_grad for n, p in model.base_model.named_parameters() if "base_layer" in n)


def test_wrapping_twice_is_an_error(llama):
    _wrap(llama)
    with pytest.raises(ValueError, match="already holds MoDULA layers"):
        _wrap(llama)


def test_stage_errors(llama):
    model = _wrap(llama)
    with pytest.raises(ValueError, match="unknown stage 'warmup'"):
        model.set_stage("warmup")
    with pytest.raises(ValueError, match=r"needs one of the domains \['math', 'medical'\], got 'finance'"):
        model.set_stage("expert", domain="finance")
    with pytest.raises(ValueError, match="takes no domain"):
        model.set_stage("router", domain="math")


@pytest.mark.parametrize("variant", ["flan", "res"])
@pytest.mark.parametrize(
    ("stage", "domain", "changes"),
    [
        ("universal", None, "universal"),
        ("expert", "medical", "experts.medical"),
        ("router", None, "router"),
    ],
)
def test_one_step_changes_exactly_the_stage_parameters(llama, variant, stage, domain, changes):
    model = _wrap(llama, variant)
    randomise_parts(model, "universal", "math", "medical")  # non-zero experts, so every stage has a gradient
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    model.set_stage(stage, domain)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    loss = model(input_ids=IDS, labels=IDS).loss
    loss.backward()
    optimizer.step()
    changed = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    assert changed, "nothing trained"
    assert all(f".{changes}." in name for name in changed), sorted(changed)[:5]
    n_expected = sum(1 for name in before if f".{changes}." in name)
    assert len(changed) == n_expected  # every tensor of the stage moved


@pytest.mark.parametrize("variant", ["flan", "res"])
def test_add_domain_keeps_existing_experts_bit_for_bit(llama, variant):
    model = _wrap(llama, variant)
    randomise_parts(model, "universal", "math", "medical", "router")
    before = {name: p.detach().clone() for name, p in model.named_parameters() if ".router." not in name}
    router_before = {name: p.detach().clone() for name, p in model.named_parameters() if ".router." in name}
    model.add_domain("finance")
    after = dict(model.named_parameters())
    for name, tensor in before.items():
        assert torch.equal(after[name], tensor), name
    for name, tensor in router_before.items():
        assert torch.equal(after[name][: tensor.shape[0]], tensor)  # old router rows kept, one row added
        assert after[name].shape[0] == tensor.shape[0] + 1
    assert model.domains == ["math", "medical", "finance"]
    assert model.modula_config.router_outputs[-1] == "finance"
    model.set_stage("expert", domain="finance")
    assert _trainable_groups(model) == {"experts.finance"}
    with pytest.raises(ValueError, match="already exists"):
        model.add_domain("math")


@pytest.mark.parametrize("variant", ["flan", "res"])
def test_save_load_round_trip(tmp_path, base_model, variant):
    pristine = copy.deepcopy(base_model)
    model = _wrap(base_model, variant)
    randomise_parts(model, "universal", "math", "medical", "router")
    model.save_pretrained(tmp_path)
    restored = MoDULAModel.from_pretrained(pristine, tmp_path)
    assert restored.modula_config == model.modula_config
    for stage, domain in [("inference", None), ("expert", "math"), ("universal", None)]:
        model.set_stage(stage, domain)
        restored.set_stage(stage, domain)
        torch.testing.assert_close(_logits(restored), _logits(model), rtol=0, atol=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "base_model.json",
        "math",
        "medical",
        "modula_config.json",
        "router",
        "universal",
    ]


def test_universal_folder_is_a_peft_lora_checkpoint(tmp_path, base_model):
    pristine = copy.deepcopy(base_model)
    model = _wrap(base_model, "res")
    randomise_parts(model, "universal", "math", "router")
    model.save_pretrained(tmp_path)
    model.set_stage("universal")
    peft_model = PeftModel.from_pretrained(pristine, tmp_path / "universal")
    torch.testing.assert_close(_logits(peft_model), _logits(model))


def test_flan_domain_folder_is_a_peft_lora_checkpoint(tmp_path, llama):
    pristine = copy.deepcopy(llama)
    model = _wrap(llama, "flan")
    randomise_parts(model, "universal", "medical")
    model.save_pretrained(tmp_path)
    model.set_stage("expert", domain="medical")  # Flan stage 2: y = W0 x + B_k A_k x
    peft_model = PeftModel.from_pretrained(pristine, tmp_path / "medical")
    torch.testing.assert_close(_logits(peft_model), _logits(model))
    assert (tmp_path / "medical" / "adapter_config.json").is_file()


def test_res_domain_folder_is_marked_as_not_plain_lora(tmp_path, llama):
    _wrap(llama, "res").save_pretrained(tmp_path)
    assert (tmp_path / "math" / "modula_expert.json").is_file()
    assert not (tmp_path / "math" / "adapter_config.json").exists()


def test_loading_into_a_model_that_does_not_fit(tmp_path, llama, qwen2):
    other = _wrap(copy.deepcopy(llama), "res", domains=("math",))
    model = _wrap(llama, "res")
    model.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"checkpoint has variant 'res' and domains \['math', 'medical'\]"):
        other.load_adapters(tmp_path)
    (tmp_path / "router" / "router.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"router\.safetensors: missing"):
        MoDULAModel.from_pretrained(qwen2, tmp_path, allow_other_base=True)  # past the base check: the file


def test_router_weights_per_layer(llama):
    model = _wrap(llama, "flan")
    randomise_parts(model, "universal", "math", "medical", "router")
    model.set_stage("universal")
    mask = torch.ones_like(IDS)
    mask[1, 5:] = 0
    weights = model.router_weights(IDS, mask)
    assert set(weights) == {name for name, _ in model.modula_layers()}
    for tensor in weights.values():
        assert tensor.shape == (2, 7, 3)  # universal + 2 domains
        torch.testing.assert_close(tensor.sum(-1), torch.ones(2, 7))
    means = model.mean_router_weights(IDS, mask)
    layer = "model.layers.0.self_attn.q_proj"
    expected = (weights[layer][0].sum(0) + weights[layer][1, :5].sum(0)) / 12
    torch.testing.assert_close(means[layer], expected)
    assert model.stage == "universal"  # reading the routers does not change the stage


@pytest.mark.parametrize("variant", ["flan", "res"])
def test_contributions_measure_what_each_part_adds(llama, variant):
    model = _wrap(llama, variant)
    assert model.contributions(IDS) == {
        "domains_over_universal": 0.0,
        "domains_over_base": 0.0,
        "universal_over_base": 0.0,
    }  # every B starts at zero
    randomise_parts(model, "universal", "router")
    trained_universal = model.contributions(IDS)
    assert trained_universal["universal_over_base"] > 0 and trained_universal["domains_over_base"] == 0.0
    randomise_parts(model, "math", "medical")
    model.set_stage("expert", "math")
    both = model.contributions(IDS)
    assert both["domains_over_universal"] > 0 and both["domains_over_base"] > 0
    assert model.stage == "expert"  # measuring does not change the stage


@pytest.mark.parametrize("variant", ["flan", "res"])
def test_universal_path_only_drops_the_domain_experts_and_restores_the_stage(llama, variant):
    model = _wrap(llama, variant)
    randomise_parts(model, "universal", "math", "medical", "router")
    model.set_stage("universal")
    universal_alone = _logits(model)
    model.set_stage("inference")
    mixture = _logits(model)
    assert not torch.allclose(universal_alone, mixture, atol=1e-4)  # the experts do change the output
    model.set_stage("expert", "math")
    model.train()
    with model.universal_path_only():
        assert not model.training
        assert torch.allclose(_logits(model), universal_alone, atol=1e-6)
    assert model.stage == "expert" and model.active_domain == "math" and model.training
    assert _logits(model).shape == mixture.shape


@pytest.mark.parametrize("variant", ["flan", "res"])
def test_expert_path_only_is_the_stage_two_pass_and_restores_the_stage(llama, variant):
    model = _wrap(llama, variant)
    randomise_parts(model, "universal", "math", "medical", "router")
    model.set_stage("expert", "medical")
    medical_alone = _logits(model)
    model.set_stage("inference")
    mixture = _logits(model)
    assert not torch.allclose(medical_alone, mixture, atol=1e-4)
    model.train()
    with model.expert_path_only("medical"):
        assert not model.training
        assert torch.allclose(_logits(model), medical_alone, atol=1e-6)
    with model.mixture_path_only():
        assert torch.allclose(_logits(model), mixture, atol=1e-6)
    assert model.stage == "inference" and model.active_domain is None and model.training
    with pytest.raises(ValueError, match="unknown domain 'finance'"), model.expert_path_only("finance"):
        pass
    assert model.stage == "inference"
