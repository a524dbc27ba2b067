from __future__ import annotations

import json
import math

import pytest

from lmcommon.errors import DataError
from pesc.ranker import FORMAT, Ranker, Tree, default_ranker

# x0 <= 1.5 ? (x1 <= 0.0 ? -1.0 : 2.0) : 3.0
STUMP = Tree(
    feature=(0, 1, -2, -2, -2),
    threshold=(1.5, 0.0, -2, -2, -2),
    left=(1, 2, -1, -1, -1),
    right=(4, 3, -1, -1, -1),
    value=(0.0, 0.0, -1.0, 2.0, 3.0),
)


def _ranker(**overrides) -> Ranker:
    fields = dict(
        features=("a", "b"),
        init=0.5,
        learning_rate=0.1,
        trees=(STUMP, STUMP),
        threshold=0.6,
        pair_counts={"在再": 3},
        provenance={"command": "test"},
    )
    return Ranker(**{**fields, **overrides})


@pytest.mark.parametrize(
    ("x", "leaf"), [((1.0, -1.0), -1.0), ((1.0, 0.5), 2.0), ((2.0, -5.0), 3.0), ((1.5, 0.0), -1.0)]
)
def test_probability_is_the_logistic_of_init_plus_the_scaled_leaves(x, leaf):
    ranker = _ranker()
    assert STUMP.predict(x) == leaf
    assert ranker.probability(x) == pytest.approx(1 / (1 + math.exp(-(0.5 + 0.1 * 2 * leaf))))


def test_the_compiled_trees_answer_as_the_node_walk(tmp_path):
    ranker = default_ranker()
    probes = [[float((i * 7 + j * 3) % 11 - 5) for j in range(len(ranker.features))] for i in range(200)]
    for x in probes:
        walked = ranker.init + ranker.learning_rate * sum(tree.predict(x) for tree in ranker.trees)
        assert ranker.probability(x) == pytest.approx(1 / (1 + math.exp(-walked)), abs=1e-12)


def test_save_and_load_round_trip(tmp_path):
    ranker = _ranker()
    ranker.save(tmp_path / "r.json")
    loaded = Ranker.load(tmp_path / "r.json")
    assert loaded == ranker
    assert loaded.probability((1.0, 0.5)) == ranker.probability((1.0, 0.5))


@pytest.mark.faults
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="other"), "not a pesc ranker"),
        (lambda d: d.pop("trees"), "malformed pesc ranker"),
        (lambda d: d["trees"][0]["value"].pop(), "disagree in length"),
        (lambda d: d["trees"][0]["left"].__setitem__(0, 99), "node 0 points outside the tree"),
        (lambda d: d["trees"][0]["feature"].__setitem__(0, 7), "tests feature 7, the ranker has 2"),
        # a hand-edited cycle: node 1 leads back to the root (prediction would never end)
        (lambda d: d["trees"][1]["left"].__setitem__(1, 0), "tree 1: node 0 is reached twice"),
        (lambda d: d["trees"][0]["right"].__setitem__(0, 1), "reached twice .*not a tree"),
        (lambda d: d["trees"][0]["threshold"].__setitem__(0, "__import__('os')"), "malformed pesc ranker"),
        (lambda d: d["trees"][0]["value"].__setitem__(2, float("nan")), "not a finite number"),
    ],
)
def test_a_malformed_ranker_file_is_named(tmp_path, change, message):
    path = tmp_path / "r.json"
    _ranker().save(path)
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match=rf"r\.json: .*{message}"):
        Ranker.load(path)


def test_the_shipped_ranker_says_how_it_was_made():
    ranker = default_ranker()
    assert 0.0 < ranker.threshold < 1.0 and len(ranker.trees) >= 50
    assert ranker.provenance["command"].startswith("pesc train-ranker")
    assert ranker.provenance["dev"].endswith("dev.jsonl")


@pytest.mark.faults
def test_a_ranker_of_other_features_is_refused_with_what_to_do(checker):
    from pesc.config import CheckerConfig
    from pesc.misspelling import MisspellingCorrector

    with pytest.raises(ValueError, match="re-train it with `pesc train-ranker`"):
        MisspellingCorrector(checker.lexicon, checker.lm, CheckerConfig(), 0.0, None, ranker=_ranker())


def _chain(depth: int) -> dict:
    """A tree of ``depth`` levels of splits, each node's left child the next split, its right child a leaf."""
    nodes = 2 * depth + 1
    left, right = [-1] * nodes, [-1] * nodes
    for level in range(depth):
        left[2 * level], right[2 * level] = 2 * level + 2, 2 * level + 1
    return {"feature": [0] * nodes, "threshold": [0.5] * nodes, "left": left, "right": right, "value": [1.0] * nodes}


@pytest.mark.faults
def test_a_ranker_deeper_than_the_bound_is_refused_at_load_and_the_deepest_allowed_compiles(tmp_path):
    from pesc.ranker import MAX_DEPTH

    path = tmp_path / "r.json"
    _ranker().save(path)
    data = json.loads(path.read_text())
    data["trees"] = [_chain(MAX_DEPTH)]
    path.write_text(json.dumps(data))
    deepest = Ranker.load(path)
    assert deepest.probability((0.0, 0.0)) == pytest.approx(1 / (1 + math.exp(-(0.5 + 0.1))))
    data["trees"] = [_chain(120)]  # once an IndentationError on every line corrected
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match=rf"r\.json: .*tree 0: deeper than {MAX_DEPTH} levels"):
        Ranker.load(path)


@pytest.mark.faults
def test_train_ranker_refuses_a_depth_no_ranker_file_may_hold():
    from pesc.ranker import MAX_DEPTH
    from pesc.train_ranker import RankerTrainingConfig

    RankerTrainingConfig(depth=MAX_DEPTH)
    with pytest.raises(ValueError, match=f"depth must be <= {MAX_DEPTH}"):
        RankerTrainingConfig(depth=MAX_DEPTH + 1)
