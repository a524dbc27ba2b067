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
        return ((x @ self.lora_A.T) * self.scaling) @ self.lora_B.T  # scaled at rank r, not on the d_out-wide output


class Router(nn.Module):
    """``s = softmax(W_R x)`` per token, dense (no top-k, no balancing loss)."""

    def __init__(self, in_features: int, num_outputs: int):
        super().__init__()
        # zero logits: a new router starts by mixing its experts evenly
        self.weight = nn.Parameter(torch.zeros(num_outputs, in_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = x @ self.weight.T
        if logits.dtype in (torch.float16, torch.bfloat16):  # softmax in float32 for stability, never below it
            return torch.softmax(logits, dim=-1, dtype=torch.float32).to(x.dtype)
        return torch.softmax(logits, dim=-1).to(x.dtype)

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
        # adapters may be kept in float32 under a bf16/fp16 base model, as peft does; under autocast the matmuls
        # cast their inputs themselves, so a float32 copy of x would only be cast back
        if not torch.is_autocast_enabled(x.device.type):
            x = x.to(self.universal.lora_A.dtype)
        x_in = self.dropout(x)
        if self.path == "universal":
            delta = self.universal(x_in)
        elif self.path == "expert":
            delta = self._single_expert(x_in)
        else:
            universal_term, domain_term = self._mixture(x, x_in)
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

    # In Res the domain experts read h = B_u A_u dropout(x) as it is: h already carries the input's dropout, and a
    # second mask over the d_out-wide h would double the dropout's cost (the largest single cost of a CPU step).
    def _single_expert(self, x_in: torch.Tensor) -> torch.Tensor:
        expert = self.experts[self.active_domain]
        if self.variant == "flan":
            return expert(x_in)  # stage 2 (Flan): y = W0 x + B_k A_k x
        h = self._residual_input(x_in)
        hidden = nn.functional.leaky_relu(h @ expert.lora_A.T, self.leaky_relu_slope)
        return h + (hidden * expert.scaling) @ expert.lora_B.T  # stage 2 (Res): y = W0 x + h + B_k LReLU(A_k h)

    def _mixture(self, x: torch.Tensor, x_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The universal term (Res: h; Flan: its router-weighted output) and the domain experts' weighted sum."""
        weights = self.router(x)  # (..., n_out); the router reads x, not the dropped-out copy
        if self.record_router_weights:
            self.last_router_weights = weights.detach()
        if self.variant == "flan":
            delta = weights[..., :1] * self.universal(x_in)
            expert_weights, expert_input = weights[..., 1:], x_in
        else:
            h = self._residual_input(x_in)
            delta = h
            expert_weights, expert_input = weights, h
        if not self.experts:
            return delta, torch.zeros_like(delta)
        a_all, b_all = self._stacked_experts()
        hidden = expert_input @ a_all.T  # (..., n*r)
        if self.variant == "res":
            hidden = nn.functional.leaky_relu(hidden, self.leaky_relu_slope)
        # each expert's r hidden units scaled by its gate: (..., n, r) * (..., n, 1), no copy of the gate
        gate = (expert_weights * self.expert_scaling).unsqueeze(-1)
        gated = hidden.unflatten(-1, (len(self.experts), self.expert_rank)) * gate
        return delta, gated.flatten(-2) @ b_all.T

    def _stacked_experts(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every domain expert's A concatenated along the rank, (n*r, d_in_e), and B side by side, (d_out, n*r): the
        mixture in two matmuls. Built on every forward: the copies measured 0.5% of a joint step on SmolLM2 (CPU
        profile, issue 30), and a cached copy could go stale unseen (fused optimizers update weights in place
        without bumping their version counters), while the experts stay one parameter each, which the stages
        freeze and train one by one and the checkpoints save as peft LoRA files."""
        experts = self.experts.values()
        return torch.cat([e.lora_A for e in experts]), torch.cat([e.lora_B for e in experts], dim=1)
