from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from lmcommon.errors import DataError
from modula import MoDULAConfig, MoDULAModel
from modula.merge import BRANCH_WEIGHTS_NAME, LowRankBranch, is_merged_folder, load_merged, save_merged

from .conftest import make_llama, make_tokenizer, randomise_parts

IDS = torch.tensor([[3, 4, 5, 6, 7, 8, 9], [10, 11, 12, 13, 14, 15, 16]])


def _trained(base, variant: str, dtype=torch.float32) -> MoDULAModel:
    model = MoDULAModel(base.to(dtype), MoDULAConfig(variant=variant, domains=["math", "medical"], dropout=0.0))
    randomise_parts(model, "universal", "math", "medical", "router")
    return model.eval()


def _expert_path_logits(model: MoDULAModel, domain: str) -> torch.Tensor:
    with torch.no_grad(), model.expert_path_only(domain):
        return model(input_ids=IDS).logits


@pytest.mark.parametrize("variant", ["flan", "res"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_merged_model_computes_the_domains_expert_path(base_model, variant, dtype):
    model = _trained(base_model, variant, dtype)
    expected = _expert_path_logits(model, "medical")
    assert not torch.allclose(expected, _expert_path_logits(model, "math"))  # the domains differ: a real check
    merged = model.merge_domain("medical")
    assert not any(type(m).__name__ == "MoDULALinear" for m in merged.modules())
    with torch.no_grad():
        logits = merged(input_ids=IDS).logits
    tolerance = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(logits, expected, rtol=tolerance, atol=tolerance)
    branches = [m for m in merged.modules() if isinstance(m, LowRankBranch)]
    assert len(branches) == (14 if variant == "res" else 0)  # 7 projections x 2 layers keep a Res domain branch


def test_the_spent_wrapper_refuses_to_run(llama):
    model = _trained(llama, "res")
    model.merge_domain("math")
    with pytest.raises(RuntimeError, match="merged for domain 'math'"):
        model(input_ids=IDS)


def test_an_unknown_domain_is_refused(llama):
    with pytest.raises(ValueError, match="unknown domain 'law'"):
        _trained(llama, "flan").merge_domain("law")


@pytest.mark.parametrize("variant", ["flan", "res"])
def test_a_saved_merged_model_loads_with_the_same_outputs(llama, variant, tmp_path):
    model = _trained(llama, variant)
    expected = _expert_path_logits(model, "math")
    merged = model.merge_domain("math")
    save_merged(merged, tmp_path / "merged", variant=variant, domain="math", tokenizer=make_tokenizer())
    assert is_merged_folder(tmp_path / "merged")
    assert (tmp_path / "merged" / BRANCH_WEIGHTS_NAME).is_file() == (variant == "res")
    loaded, tokenizer = load_merged(tmp_path / "merged", dtype="float32", device="cpu")
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids=IDS).logits, expected, rtol=1e-5, atol=1e-5)
    # the folder is a standard checkpoint of the base architecture: its tensor names are the base model's own
    plain = AutoModelForCausalLM.from_pretrained(tmp_path / "merged")
    assert set(plain.state_dict()) == set(make_llama().state_dict())
    assert tokenizer.pad_token == "<pad>"


def test_a_flan_merge_equals_folding_by_hand(llama):
    model = _trained(llama, "flan")
    layer = dict(model.modula_layers())["model.layers.0.self_attn.q_proj"]
    expert = layer.experts["medical"]
    expected = layer.base_layer.weight.detach() + expert.scaling * expert.lora_B.detach() @ expert.lora_A.detach()
    merged = model.merge_domain("medical")
    torch.testing.assert_close(merged.get_submodule("model.layers.0.self_attn.q_proj").weight, expected)


def test_a_damaged_branch_file_is_named(llama, tmp_path):
    merged = _trained(llama, "res").merge_domain("math")
    save_merged(merged, tmp_path / "merged", variant="res", domain="math", tokenizer=make_tokenizer())
    (tmp_path / "merged" / BRANCH_WEIGHTS_NAME).write_bytes(b"not a safetensors file")
    with pytest.raises(DataError, match=f"{BRANCH_WEIGHTS_NAME}: damaged or unreadable"):
        load_merged(tmp_path / "merged", dtype="float32", device="cpu")


def _mixture_logits(model: MoDULAModel) -> torch.Tensor:
    with torch.no_grad(), model.mixture_path_only():
        return model(input_ids=IDS).logits


@pytest.mark.parametrize("variant", ["flan", "res"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_folded_serving_layers_compute_the_routed_mixture(base_model, variant, dtype):
    model = _trained(base_model, variant, dtype)
    model.add_domain("finance")  # a plugged-in domain is routed like the others
    randomise_parts(model, "finance", "router", seed=3)
    expected = _mixture_logits(model)
    served = model.fold_for_serving()
    assert not any(type(m).__name__ == "MoDULALinear" for m in served.modules())
    with torch.no_grad():
        logits = served(input_ids=IDS).logits
    # float32 rounds the re-associated products (A_i B_u A_u) x differently from A_i (B_u (A_u x)); float64 shows
    # the maths is the same
    tolerance = 5e-4 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(logits, expected, rtol=tolerance, atol=tolerance)
    with pytest.raises(RuntimeError, match="merged for domain 'every domain"):
        model(input_ids=IDS)


def test_folded_serving_generates_what_the_mixture_generates(llama):
    model = _trained(llama, "res")
    prompt = IDS[:1]
    with torch.no_grad(), model.mixture_path_only():
        expected = model.generate(input_ids=prompt, max_new_tokens=6, do_sample=False, pad_token_id=0)
    served = model.fold_for_serving()
    with torch.no_grad():
        assert torch.equal(
            served.generate(input_ids=prompt, max_new_tokens=6, do_sample=False, pad_token_id=0), expected
        )
