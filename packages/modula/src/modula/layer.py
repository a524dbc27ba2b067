"""The MoDULA linear layer: a frozen base projection, a universal LoRA expert, domain LoRA experts and a
per-token softmax router, with the Flan and Res forward passes of DESIGN.md."""

from __future__ import annotations

import math

import torch
from torch import nn

# Forward paths. "universal" and "expert" are the training stages 1 and 2; "mixture" serves stage 3 (router),
# inference and the jointly trained MoLoRA baseline.
PATHS = ("universal", "expert", "mixture")


class LoRAExpert(nn.Module):
    """One low-rank expert ``scaling * B A``, initialised as LoRA is (A Kaiming-uniform, B zero), so a new expert
    adds exactly nothing."""

    def __init__(self, in_features: int, out_features: int, rank: int, scaling: float):
        super().__init__()
        self.lora_A = nn.Parameter(torch.empty(rank, in_features))  # (r, d_in)
        self.lora_B = nn.Parameter(torch.zeros(out_features, rank))  # (d_out, r)
        self.scaling = scaling
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # peft's LoRA initialisation

    @property
    def rank(self) -> int:
        return self.lora_A.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x @ self.lora_A.T) @ self.lora_B.T * self.scaling


class Router(nn.Module):
    """``s = softmax(W_R x)`` per token, dense (no top-k, no balancing loss)."""

    def __init__(self, in_features: int, num_outputs: int):
        super().__init__()
        # zero logits: a new router starts by mixing its experts evenly
        self.weight = nn.Parameter(torch.zeros(num_outputs, in_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = x @ self.weight.T
        return torch.softmax(logits.float(), dim=-1).to(x.dtype)  # softmax in float32 for bf16/fp16 stability

    def add_output(self) -> None:
        """Appends one output (a row of zeros); the existing rows keep their values."""
        new_row = torch.zeros(1, self.weight.shape[1], dtype=self.weight.dtype, device=self.weight.device)
        self.weight = nn.Parameter(torch.cat([self.weight.detach(), new_row]), requires_grad=self.weight.requires_grad)


class MoDULALinear(nn.Module):
    """Wraps a frozen ``nn.Linear`` (W0: d_in -> d_out) with the MoDULA experts and router.

    Flan:  y = W0 x + sum_{i in universal, domains} s_i B_i A_i x
    Res:   y = W0 x + h + sum_{i in domains} s_i B_i LeakyReLU(A_i h),  h = B_u A_u x
    where ``s = softmax(W_R x)``. In Res the domain experts read h (so A_i is r x d_out); the router reads x.
    """

    def __init__(
        self,
        base_layer: nn.Linear,
        *,
        variant: str,
        domains: list[str],
        universal_rank: int,
        universal_scaling: float,
        expert_rank: int,
        expert_scaling: float,
        dropout: float,
        leaky_relu_slope: float,
    ):
        super().__init__()
        self.base_layer = base_layer
        self.variant = variant
        self.in_features = base_layer.in_features
        self.out_features = base_layer.out_features
        self.expert_rank = expert_rank
        self.expert_scaling = expert_scaling
        self.leaky_relu_slope = leaky_relu_slope
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.universal = LoRAExpert(self.in_features, self.out_features, universal_rank, universal_scaling)
        self.experts = nn.ModuleDict()
        num_router_outputs = 1 if variant == "flan" else 0
        self.router = Router(self.in_features, num_router_outputs)
        for name in domains:
            self.add_domain(name)
        self.path = "mixture"
        self.active_domain: str | None = None
        self.record_router_weights = False
        self.last_router_weights: torch.Tensor | None = None
        # per-token L2 norms of W0 x, of the universal term and of the domain experts' term (mixture path)
        self.record_contributions = False
        self.last_contributions: dict[str, torch.Tensor] | None = None

    @property
    def expert_in_features(self) -> int:
        return self.out_features if self.variant == "res" else self.in_features  # Res experts read h

    def add_domain(self, name: str) -> None:
        """Adds a zero-initialised expert and a router output; nothing that exists changes."""
        reference = self.universal.lora_A
        expert = LoRAExpert(self.expert_in_features, self.out_features, self.expert_rank, self.expert_scaling)
        self.experts[name] = expert.to(device=reference.device, dtype=reference.dtype)
        self.router.add_output()

    def set_path(self, path: str, domain: str | None = None) -> None:
        if path not in PATHS:
            raise ValueError(f"unknown forward path {path!r}; expected one of {PATHS}")
        if path == "expert" and domain not in self.experts:
            raise ValueError(f"unknown domain {domain!r}; domains: {list(self.experts)}")
        self.path, self.active_domain = path, domain

    def forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        result = self.base_layer(x, *args, **kwargs)
        adapter_dtype = self.universal.lora_A.dtype
        # adapters may be kept in float32 under a bf16/fp16 base model, as peft does
        x_in = self.dropout(x.to(adapter_dtype))
        if self.path == "universal":
            delta = self.universal(x_in)
        elif self.path == "expert":
            delta = self._single_expert(x_in)
        else:
            universal_term, domain_term = self._mixture(x.to(adapter_dtype), x_in)
            if self.record_contributions:
                self.last_contributions = {
                    "base": result.detach().float().norm(dim=-1),
                    "universal": universal_term.detach().float().norm(dim=-1),
                    "domains": domain_term.detach().float().norm(dim=-1),
                }
            delta = universal_term + domain_term
        return result + delta.to(result.dtype)

    def _residual_input(self, x_in: torch.Tensor) -> torch.Tensor:
        return self.universal(x_in)  # h: (..., d_out)

    def _single_expert(self, x_in: torch.Tensor) -> torch.Tensor:
        expert = self.experts[self.active_domain]
        if self.variant == "flan":
            return expert(x_in)  # stage 2 (Flan): y = W0 x + B_k A_k x
        h = self._residual_input(x_in)
        hidden = nn.functional.leaky_relu(self.dropout(h) @ expert.lora_A.T, self.leaky_relu_slope)
        return h + hidden @ expert.lora_B.T * expert.scaling  # stage 2 (Res): y = W0 x + h + B_k LReLU(A_k h)

    def _mixture(self, x: torch.Tensor, x_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The universal term (Res: h; Flan: its router-weighted output) and the domain experts' weighted sum."""
        weights = self.router(x)  # (..., n_out); the router reads x, not the dropped-out copy
        if self.record_router_weights:
            self.last_router_weights = weights.detach()
        experts = list(self.experts.values())
        if self.variant == "flan":
            delta = weights[..., :1] * self.universal(x_in)
            expert_weights, expert_input = weights[..., 1:], x_in
        else:
            h = self._residual_input(x_in)
            delta = h
            expert_weights, expert_input = weights, self.dropout(h)
        if not experts:
            return delta, torch.zeros_like(delta)
        # All domain experts in two matmuls: A's concatenated along the rank, B's side by side.
        a_all = torch.cat([e.lora_A for e in experts])  # (n*r, d_in_e)
        b_all = torch.cat([e.lora_B for e in experts], dim=1)  # (d_out, n*r)
        hidden = expert_input @ a_all.T  # (..., n*r)
        if self.variant == "res":
            hidden = nn.functional.leaky_relu(hidden, self.leaky_relu_slope)
        gate = (expert_weights * self.expert_scaling).repeat_interleave(self.expert_rank, dim=-1)  # (..., n*r)
        return delta, (hidden * gate) @ b_all.T
