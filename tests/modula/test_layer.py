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


def _res_formula(layer: MoDULALinear, x: torch.Tensor, x_in: torch.Tensor | None = None) -> torch.Tensor:
    """y = W0 x + h + sum_i s_i B_i LeakyReLU(A_i h), h = B_u A_u x_in, s = softmax(W_R x); x_in: the dropped-out
    input the experts read (x itself without dropout)."""
    h = _lora(layer.universal, x if x_in is None else x_in)
    s = torch.softmax(x @ layer.router.weight.T, dim=-1)
    expected = layer.base_layer(x) + h
    for i, expert in enumerate(layer.experts.values()):
        hidden = nn.functional.leaky_relu(h @ expert.lora_A.T, 0.2)
        expected = expected + s[..., i : i + 1] * expert.scaling * (hidden @ expert.lora_B.T)
    return expected


def test_res_mixture_matches_the_formula():
    layer = _layer("res")
    x = torch.randn(3, 5, 12)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), _res_formula(layer, x))


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


def _float64_layer(variant: str) -> MoDULALinear:
    return _layer(variant).double()


@pytest.mark.parametrize("trainable_experts", [False, True])
def test_stacked_experts_equal_the_per_expert_maths_in_float64_after_a_new_domain(trainable_experts):
    # frozen experts (router stage, inference) reuse one stacked copy; trained ones are stacked per forward
    layer = _float64_layer("res")
    layer.experts.requires_grad_(trainable_experts)
    x = torch.randn(3, 5, 12, dtype=torch.float64)
    torch.testing.assert_close(layer(x), _res_formula(layer, x), rtol=1e-12, atol=1e-12)
    layer.add_domain("finance")
    with torch.no_grad():
        layer.experts["finance"].lora_B.normal_()  # a trained-looking new expert must count at once
        layer.router.weight.normal_()
    layer.experts.requires_grad_(trainable_experts)
    torch.testing.assert_close(layer(x), _res_formula(layer, x), rtol=1e-12, atol=1e-12)
    with torch.no_grad():  # an in-place load of an existing expert is seen too
        layer.experts["math"].lora_A.copy_(torch.randn_like(layer.experts["math"].lora_A))
    torch.testing.assert_close(layer(x), _res_formula(layer, x), rtol=1e-12, atol=1e-12)


def test_flan_stacked_experts_equal_the_per_expert_maths_in_float64():
    layer = _float64_layer("flan")
    layer.experts.requires_grad_(False)
    x = torch.randn(2, 7, 12, dtype=torch.float64)
    s = torch.softmax(x @ layer.router.weight.T, dim=-1)
    experts = [layer.universal, *layer.experts.values()]
    expected = layer.base_layer(x) + sum(s[..., i : i + 1] * _lora(e, x) for i, e in enumerate(experts))
    torch.testing.assert_close(layer(x), expected, rtol=1e-12, atol=1e-12)


class _CountingMask(nn.Module):
    """A dropout stand-in with a fixed mask over the last dimension, counting its calls."""

    def __init__(self, width: int):
        super().__init__()
        self.mask = (torch.arange(width) % 3 != 0).double() * 1.5
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x * self.mask


@pytest.mark.parametrize("path", ["expert", "mixture"])
def test_res_experts_read_h_from_the_one_dropped_out_input(path):
    layer = _float64_layer("res").train()
    layer.dropout = _CountingMask(12)  # dropout is applied to x once; h is not masked again
    layer.set_path(path, "medical" if path == "expert" else None)
    x = torch.randn(2, 3, 12, dtype=torch.float64)
    x_in = x * layer.dropout.mask
    if path == "expert":
        h = _lora(layer.universal, x_in)
        expert = layer.experts["medical"]
        hidden = nn.functional.leaky_relu(h @ expert.lora_A.T, 0.2)
        expected = layer.base_layer(x) + h + expert.scaling * hidden @ expert.lora_B.T
    else:
        expected = _res_formula(layer, x, x_in)  # the router reads x, unmasked
    torch.testing.assert_close(layer(x), expected, rtol=1e-12, atol=1e-12)
    assert layer.dropout.calls == 1


def test_under_cpu_autocast_the_layer_matches_float32_within_bfloat16_precision():
    layer = _layer("res")
    x = torch.randn(2, 6, 12)
    with torch.no_grad():
        expected = layer(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            autocast_out = layer(x)
    torch.testing.assert_close(autocast_out.float(), expected, rtol=0.05, atol=0.3)


@pytest.mark.parametrize("variant", ["res", "flan"])
@pytest.mark.parametrize(
    ("path", "domain", "experts_train"),
    [("mixture", None, False), ("mixture", None, True), ("expert", "law", True), ("universal", None, False)],
)
def test_every_path_compiles_without_graph_breaks(variant, path, domain, experts_train):
    layer = _layer(variant).train()
    layer.dropout = nn.Dropout(0.1)
    layer.set_path(path, domain)
    layer.experts.requires_grad_(experts_train)
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(layer)(torch.randn(2, 3, 12))
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1
