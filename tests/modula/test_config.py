from __future__ import annotations

import json

import pytest

from modula.config import CONFIG_NAME, DEFAULT_TARGET_MODULES, MoDULAConfig


def test_defaults_follow_the_paper():
    config = MoDULAConfig()
    assert (config.variant, config.universal_rank, config.expert_rank, config.leaky_relu_slope) == ("res", 16, 8, 0.01)
    assert tuple(config.target_modules) == DEFAULT_TARGET_MODULES
    assert config.universal_scaling == 2.0 and config.expert_scaling == 2.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"variant": "mix"}, "variant must be one of"),
        ({"universal_rank": 0}, "universal_rank must be a positive integer"),
        ({"expert_rank": 2.5}, "expert_rank must be a whole number"),
        ({"expert_alpha": 0}, "expert_alpha must be > 0"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"leaky_relu_slope": -0.1}, "leaky_relu_slope must be in"),
        ({"domains": ["math", "math"]}, "domain 'math' already exists"),
        ({"domains": ["router"]}, "reserved"),
        ({"domains": ["med.qa"]}, "must start with a letter"),
        ({"target_modules": "q_proj("}, "not a valid regular expression"),
        ({"target_modules": []}, "non-empty list"),
    ],
)
def test_validation_names_the_field(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):  # TypeError: a value of another type
        MoDULAConfig(**kwargs)


def test_json_round_trip(tmp_path):
    config = MoDULAConfig(variant="flan", domains=["math", "medical"], target_modules=r".*\.(q|v)_proj", dropout=0.1)
    path = config.save(tmp_path)
    assert path.name == CONFIG_NAME
    assert MoDULAConfig.load(tmp_path) == config


def test_unknown_field_in_file(tmp_path):
    (tmp_path / CONFIG_NAME).write_text(json.dumps({"variant": "res", "rank": 4}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown MoDULAConfig field\(s\) \['rank'\]"):
        MoDULAConfig.load(tmp_path)


def test_target_matching_follows_peft():
    names = MoDULAConfig(target_modules=["q_proj", "mlp.down_proj"])
    assert names.matches("model.layers.0.self_attn.q_proj")
    assert names.matches("model.layers.3.mlp.down_proj")
    assert not names.matches("model.layers.0.self_attn.qq_proj")
    regex = MoDULAConfig(target_modules=r"model\.layers\.1\..*_proj")
    assert regex.matches("model.layers.1.mlp.up_proj")
    assert not regex.matches("model.layers.0.mlp.up_proj")
