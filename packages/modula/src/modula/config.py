"""MoDULA configuration: one dataclass, validated on creation, round-tripped through JSON."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from lmcommon.data import read_json, write_json
from lmcommon.errors import DataError
from lmcommon.fields import check_field_types
from lmcommon.models import DECODER_PROJECTIONS

VARIANTS = ("flan", "res")
# Every linear projection of the attention and MLP blocks of Llama, Qwen2 and Mistral models.
DEFAULT_TARGET_MODULES = DECODER_PROJECTIONS
RESERVED_NAMES = ("universal", "router", "experts")
_DOMAIN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
CONFIG_NAME = "modula_config.json"


def validate_domain_name(name: str, existing: list[str] | tuple[str, ...] = ()) -> None:
    """Raises ValueError unless ``name`` can name an expert (it becomes part of parameter names and folders)."""
    if not isinstance(name, str) or not _DOMAIN_NAME.fullmatch(name):  # fullmatch: "$" lets "math\n" through
        raise ValueError(f"domain name {name!r} must start with a letter and hold only letters, digits and '_'")
    if name in RESERVED_NAMES:
        raise ValueError(f"domain name {name!r} is reserved; reserved names: {RESERVED_NAMES}")
    if name in existing:
        raise ValueError(f"domain {name!r} already exists; domains: {list(existing)}")


@dataclass
class MoDULAConfig:
    """The shape of a MoDULA adapter set. Field meanings follow DESIGN.md (modula)."""

    variant: str = field(
        default="res",
        metadata={
            "help": "'flan': y = W0 x + sum_i s_i B_i A_i x over the universal and domain experts; "
            "'res': y = W0 x + h + sum_i s_i B_i LeakyReLU(A_i h) with h the universal expert's output"
        },
    )
    domains: list[str] = field(default_factory=list, metadata={"help": "ordered names of the domain experts"})
    universal_rank: int = field(default=16, metadata={"help": "LoRA rank of the universal expert"})
    expert_rank: int = field(default=8, metadata={"help": "LoRA rank of each domain expert"})
    universal_alpha: float = field(
        default=32.0, metadata={"help": "LoRA alpha of the universal expert (scale alpha/r)"}
    )
    expert_alpha: float = field(default=16.0, metadata={"help": "LoRA alpha of each domain expert (scale alpha/r)"})
    dropout: float = field(default=0.05, metadata={"help": "dropout on the experts' inputs while training"})
    target_modules: list[str] | str = field(
        default_factory=lambda: list(DEFAULT_TARGET_MODULES),
        metadata={
            "help": "module names to adapt: a list of names (a module matches when its dotted name ends with "
            "one), or a regular expression matched against the full dotted name, as in peft"
        },
    )
    leaky_relu_slope: float = field(default=0.01, metadata={"help": "negative slope of the Res experts' LeakyReLU"})

    def __post_init__(self) -> None:
        check_field_types(self)  # a hand-edited modula_config.json: "leaky_relu_slope": "x" is refused by name
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        self.domains = list(self.domains)
        seen: list[str] = []
        for name in self.domains:
            validate_domain_name(name, seen)
            seen.append(name)
        for name in ("universal_rank", "expert_rank"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("universal_alpha", "expert_alpha"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not 0.0 <= self.leaky_relu_slope < 1.0:
            raise ValueError(f"leaky_relu_slope must be in [0, 1), got {self.leaky_relu_slope!r}")
        if isinstance(self.target_modules, str):
            try:
                re.compile(self.target_modules)
            except re.error as error:
                raise ValueError(f"target_modules is not a valid regular expression: {error}") from None
        else:
            self.target_modules = list(self.target_modules)
            if not self.target_modules or not all(isinstance(m, str) and m for m in self.target_modules):
                raise ValueError(
                    f"target_modules must be a non-empty list of names or a regex, got {self.target_modules!r}"
                )

    @property
    def universal_scaling(self) -> float:
        return self.universal_alpha / self.universal_rank

    @property
    def expert_scaling(self) -> float:
        return self.expert_alpha / self.expert_rank

    @property
    def router_outputs(self) -> list[str]:
        """The experts the router mixes, in order: Flan mixes the universal expert too, Res only the domains."""
        return (["universal"] if self.variant == "flan" else []) + list(self.domains)

    def matches(self, module_name: str) -> bool:
        """Whether a module (by its dotted name) is adapted; the same rule as peft's ``target_modules``."""
        if isinstance(self.target_modules, str):
            return re.fullmatch(self.target_modules, module_name) is not None
        return any(module_name == t or module_name.endswith("." + t) for t in self.target_modules)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> MoDULAConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{source}: unknown MoDULAConfig field(s) {unknown}; known: {sorted(known)}")
        try:
            return cls(**data)
        except (TypeError, ValueError) as error:  # a hand-edited file: its name and the field, in one line
            raise DataError(f"MoDULAConfig: {error}", path=source) from None

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / CONFIG_NAME
        write_json(path, self.to_dict())
        return path

    @classmethod
    def load(cls, directory: str | Path) -> MoDULAConfig:
        path = Path(directory) / CONFIG_NAME
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no MoDULA config (is {directory} a MoDULA checkpoint?)")
        return cls.from_dict(read_json(path), source=str(path))
