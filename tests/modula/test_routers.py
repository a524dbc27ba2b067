from __future__ import annotations

import pytest
import torch

from modula.config import MoDULAConfig
from modula.model import MoDULAModel
from modula.routers import domain_router_weights, layer_index, per_layer_means


def test_layer_index():
    assert layer_index("model.layers.3.mlp.up_proj") == 3
    assert layer_index("transformer.h.11.attn.c_attn") == 11
    assert layer_index("lm_head") is None


def test_per_layer_means_average_the_modules_of_a_layer():
    means = per_layer_means(
        {
            "model.layers.0.q_proj": torch.tensor([1.0, 0.0]),
            "model.layers.0.v_proj": torch.tensor([0.0, 1.0]),
            "model.layers.1.q_proj": torch.tensor([0.25, 0.75]),
        }
    )
    assert means == {0: [0.5, 0.5], 1: [0.25, 0.75]}


def test_domain_router_weights_are_token_weighted_and_sum_to_one(chat_tokenizer, tiny_llama):
    tokenizer = chat_tokenizer(["a", "b", "c", "d"])
    model = MoDULAModel(tiny_llama(len(tokenizer)), MoDULAConfig(variant="res", domains=["x", "y"])).eval()
    torch.manual_seed(0)
    for _, layer in model.modula_layers():
        torch.nn.init.normal_(layer.router.weight, std=1.0)
    prompts = {"short": ["a", "b c d a b c"], "long": ["c d c d c d c d"]}
    weights = domain_router_weights(model, tokenizer, prompts, batch_size=1)
    assert weights["outputs"] == ["x", "y"] and weights["layers"] == [0, 1]
    for matrix in weights["groups"].values():
        for row in matrix:
            assert sum(row) == pytest.approx(1.0, abs=1e-5)
    # batching must not change a group's mean (means are weighted by real tokens, padding excluded)
    torch.testing.assert_close(
        torch.tensor(domain_router_weights(model, tokenizer, prompts, batch_size=2)["groups"]["short"]),
        torch.tensor(weights["groups"]["short"]),
    )
    with pytest.raises(ValueError, match="no prompts"):
        domain_router_weights(model, tokenizer, {"empty": []})


def test_heatmap_png_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    from modula.plots import plot_router_heatmap

    weights = {"outputs": ["a", "b"], "layers": [0, 1, 2], "groups": {"a": [[0.9, 0.1]] * 3, "b": [[0.2, 0.8]] * 3}}
    path = plot_router_heatmap(weights, tmp_path / "heat.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_own_expert_weights_pick_each_domains_column():
    from modula.routers import own_expert_weights

    weights = {
        "outputs": ["math", "medical"],
        "layers": [0, 1],
        "groups": {
            "math": [[0.9, 0.1], [0.7, 0.3]],
            "medical": [[0.4, 0.6], [0.2, 0.8]],
            "finance": [[0.5, 0.5], [0.5, 0.5]],  # no finance expert yet: left out
        },
    }
    own = own_expert_weights(weights)
    assert set(own) == {"math", "medical"}
    assert own["math"]["per_layer"] == [0.9, 0.7] and own["math"]["overall"] == pytest.approx(0.8)
    assert own["medical"]["overall"] == pytest.approx(0.7)


def test_routing_before_and_after_a_plug_in_with_routers_set_by_hand(chat_tokenizer, tiny_llama):
    from modula.routers import own_expert_weights

    tokenizer = chat_tokenizer(["a", "b", "c", "d"])
    model = MoDULAModel(tiny_llama(len(tokenizer)), MoDULAConfig(variant="res", domains=["x", "y"])).eval()
    prompts = {"x": ["a b"], "y": ["c d"], "z": ["a d"]}
    # zero routers mix their experts evenly: 1/2 on each of two experts, 1/3 once a third is plugged in
    before = own_expert_weights(domain_router_weights(model, tokenizer, prompts))
    assert set(before) == {"x", "y"} and before["x"]["overall"] == pytest.approx(1 / 2)
    model.add_domain("z")
    after = own_expert_weights(domain_router_weights(model, tokenizer, prompts))
    assert set(after) == {"x", "y", "z"} and after["z"]["per_layer"] == pytest.approx([1 / 3, 1 / 3])
