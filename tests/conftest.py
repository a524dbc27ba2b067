"""Builders of tiny in-process models shared by the test suites (no model hub)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} </s> {% endfor %}"
    "{% if add_generation_prompt %}assistant : {% endif %}"
)
SPECIAL = ["<pad>", "<unk>", "</s>", "user", "assistant", ":"]
RUNNABLE = re.compile(r"<!-- runnable -->\n```python\n(.*?)```", re.DOTALL)

# Property tests that leave max_examples to the profile run 300 examples in CI; `pytest -m faults
# --hypothesis-profile=thorough` runs 10,000 (the adversarial-text guarantee in the README).
settings.register_profile("ci", max_examples=300, deadline=None)
settings.register_profile("thorough", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")  # hypothesis's pytest plugin loads --hypothesis-profile after this, when given


def runnable_blocks(package: str) -> list[str]:
    """The Python blocks marked ``<!-- runnable -->`` on ``packages/<package>/README.md`` (its quick start)."""
    readme = Path(__file__).resolve().parents[1] / "packages" / package / "README.md"
    return RUNNABLE.findall(readme.read_text(encoding="utf-8"))


def make_chat_tokenizer(words: Iterable[str]) -> PreTrainedTokenizerFast:
    """A whitespace word-level tokenizer over ``words`` (plus pad, unk, eos and the chat words) with a chat
    template: ``user : PROMPT </s> assistant : RESPONSE </s>``."""
    vocabulary = list(dict.fromkeys([*SPECIAL, *words]))
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocabulary)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", eos_token="</s>", pad_token="<pad>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def make_tiny_llama(vocab_size: int, seed: int = 0, **overrides) -> LlamaForCausalLM:
    """A two-layer Llama, 32 wide; ``initializer_range`` 0.3 so a frozen lm_head can still express a toy task."""
    torch.manual_seed(seed)
    config = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "num_hidden_layers": 2,
        "vocab_size": vocab_size,
        "pad_token_id": 0,
        "eos_token_id": 2,
        "initializer_range": 0.3,
        **overrides,
    }
    return LlamaForCausalLM(LlamaConfig(**config))


@pytest.fixture
def chat_tokenizer():
    return make_chat_tokenizer


@pytest.fixture
def tiny_llama():
    return make_tiny_llama


@pytest.fixture
def interrupt_after_first_checkpoint(monkeypatch):
    """Stops the next training run as a kill would, right after its first checkpoint is on disk (the command
    line turns the KeyboardInterrupt into exit status 130); later runs in the test train normally."""
    from transformers import Trainer

    real = Trainer._save_checkpoint
    fired = []

    def save_then_stop(self, *args, **kwargs):
        real(self, *args, **kwargs)
        if not fired:
            fired.append(self.state.global_step)
            raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "_save_checkpoint", save_then_stop)
    return fired


def assert_same_tensors(first, second, exact: bool = True) -> None:
    """Every safetensors file under folder ``first`` has a twin under ``second`` with the same tensors."""
    from pathlib import Path

    from safetensors.torch import load_file

    files = sorted(p.relative_to(first) for p in Path(first).rglob("*.safetensors") if "checkpoint-" not in str(p))
    assert files, f"no safetensors under {first}"
    for name in files:
        a, b = load_file(Path(first) / name), load_file(Path(second) / name)
        assert a.keys() == b.keys(), name
        for key in a:
            if exact:
                assert torch.equal(a[key], b[key]), f"{name}: {key}"
            else:
                torch.testing.assert_close(a[key], b[key], msg=f"{name}: {key}")


def assert_seeded_runs_repeat(train, root) -> None:
    """``train(folder, *flags)`` (a command line's exit status; the same --seed each time) twice gives the same
    weights under ``root``."""
    assert train("first") == 0 and train("second") == 0
    assert_same_tensors(root / "first", root / "second")


def assert_killed_run_resumes(train, root, interrupted: list) -> None:
    """A run stopped right after its first checkpoint (``interrupt_after_first_checkpoint``), then resumed with
    ``--resume``, ends with the weights of a run that was never stopped."""
    assert train("killed", "--save-steps", "2") == 130
    assert interrupted == [2]
    assert train("killed", "--save-steps", "2", "--resume") == 0
    assert train("straight", "--save-steps", "2") == 0
    assert_same_tensors(root / "straight", root / "killed", exact=False)
