from __future__ import annotations

import pytest
import torch
from torch import nn

from modula.layer import MoDULALinear


def _layer(variant: str, domains=("math", "medical", "law")) -> MoDULALinear:
    torch.manual_seed(0)
    layer = MoDULALinear(
        nn.Linear(12, 10),
        variant=variant,
        domains=list(domains),
        universal_rank=4,
        universal_scaling=0.5,
        expert_rank=2,
        expert_scaling=1.5,
        dropout=0.0,
        leaky_relu_slope=0.2,
    )
    with torch.no_grad():  # non-zero everything, so every term of the formula matters
        for parameter in layer.parameters():
            parameter.normal_()
    return layer.eval()


def _lora(expert, x):
    return expert.scaling * (x @ expert.lora_A.T @ expert.lora_B.T)


def test_res_mixture_matches_the_formula():
    layer = _layer("res")
    x = torch.randn(3, 5, 12)
    with torch.no_grad():
        # y = W0 x + h + sum_i s_i B_i LeakyReLU(A_i h), h = B_u A_u x, s = softmax(W_R x)
        h = _lora(layer.universal, x)
        s = torch.softmax(x @ layer.router.weight.T, dim=-1)
        expected = layer.base_layer(x) + h
        for i, expert in enumerate(layer.experts.values()):
            hidden = nn.functional.leaky_relu(h @ expert.lora_A.T, 0.2)
            expected = expected + s[..., i : i + 1] * expert.scaling * (hidden @ expert.lora_B.T)
        torch.testing.assert_close(layer(x), expected)


def test_flan_mixture_matches_the_formula():
    layer = _layer("flan")
    x = torch.randn(3, 5, 12)
    with torch.no_grad():
        # y = W0 x + sum_i s_i B_i A_i x over the universal expert (router output 0) and the domains
        s = torch.softmax(x @ layer.router.weight.T, dim=-1)
        experts = [layer.universal, *layer.experts.values()]
        expected = layer.base_layer(x) + sum(s[..., i : i + 1] * _lora(e, x) for i, e in enumerate(experts))
        torch.testing.assert_close(layer(x), expected)


def test_expert_stage_paths_match_the_formula():
    x = torch.randn(2, 4, 12)
    res = _layer("res")
    res.set_path("expert", "medical")
    flan = _layer("flan")
    flan.set_path("expert", "medical")
    with torch.no_grad():
        h = _lora(res.universal, x)
        expert = res.experts["medical"]
        hidden = nn.functional.leaky_relu(h @ expert.lora_A.T, 0.2)
        torch.testing.assert_close(res(x), res.base_layer(x) + h + expert.scaling * hidden @ expert.lora_B.T)
        torch.testing.assert_close(flan(x), flan.base_layer(x) + _lora(flan.experts["medical"], x))


def test_universal_path_is_plain_lora():
    layer = _layer("res")
    layer.set_path("universal")
    x = torch.randn(2, 12)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), layer.base_layer(x) + _lora(layer.universal, x))


def test_shapes_res_experts_read_h():
    layer = _layer("res")
    assert layer.experts["math"].lora_A.shape == (2, 10)  # r x d_out
    assert layer.router.weight.shape == (3, 12)  # domains only, reads x
    flan = _layer("flan")
    assert flan.experts["math"].lora_A.shape == (2, 12)
    assert flan.router.weight.shape == (4, 12)  # universal + 3 domains


def test_router_weights_recorded_and_normalised():
    layer = _layer("flan")
    layer.record_router_weights = True
    layer(torch.randn(2, 3, 12))
    weights = layer.last_router_weights
    assert weights.shape == (2, 3, 4)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3))


def test_unknown_path_or_domain():
    layer = _layer("res")
    with pytest.raises(ValueError, match="unknown forward path"):
        layer.set_path("bogus")
    with pytest.raises(ValueError, match="unknown domain 'finance'"):
        layer.set_path("expert", "finance")


def test_half_precision_input_keeps_its_dtype():
    layer = _layer("res")
    layer.base_layer.to(torch.bfloat16)
    out = layer(torch.randn(2, 12, dtype=torch.bfloat16))
    assert out.dtype == torch.bfloat16
