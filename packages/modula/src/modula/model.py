"""MoDULAModel: injects MoDULA layers into a Hugging Face causal LM and switches between training stages."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from lmcommon.quantization import quantization_of
from modula.config import MoDULAConfig, validate_domain_name
from modula.layer import MoDULALinear
from modula.quantized import adapter_dtype, keep_on_the_exact_path

logger = logging.getLogger(__name__)

# stage -> forward path of every MoDULA layer. "joint" trains everything at once: the MoLoRA baseline.
STAGES = ("universal", "expert", "router", "inference", "joint")
_STAGE_PATH = {
    "universal": "universal",
    "expert": "expert",
    "router": "mixture",
    "inference": "mixture",
    "joint": "mixture",
}


class MoDULAModel(nn.Module):
    """A causal LM with MoDULA experts in its linear layers; the base weights stay frozen.

    Args:
        base_model: any Hugging Face causal LM (Llama, Qwen2, Mistral, ...). It is modified in place.
        config: the adapter layout.

    Raises:
        ValueError: ``target_modules`` matches no module, or matches one that is not ``nn.Linear``.
    """

    def __init__(self, base_model: nn.Module, config: MoDULAConfig):
        super().__init__()
        self.base_model = base_model
        self.modula_config = config
        for parameter in base_model.parameters():
            parameter.requires_grad_(False)
        self._inject()
        self.stage = "inference"
        self.active_domain: str | None = None
        self.merged_domain: str | None = None  # set by merge_domain, after which this wrapper is spent
        self.set_stage("inference")

    # -- construction -------------------------------------------------------------------------------------
    def _inject(self) -> None:
        config = self.modula_config
        if any(isinstance(m, MoDULALinear) for m in self.base_model.modules()):
            raise ValueError("the base model already holds MoDULA layers; wrap a fresh copy of the base model")
        targets = [(name, module) for name, module in self.base_model.named_modules() if name and config.matches(name)]
        if not targets:
            linear = sorted(
                {n.rsplit(".", 1)[-1] for n, m in self.base_model.named_modules() if isinstance(m, nn.Linear)}
            )
            raise ValueError(
                f"target_modules {config.target_modules!r} matched no module of {type(self.base_model).__name__}; "
                f"its linear layers are named {linear}"
            )
        for name, module in targets:
            if not isinstance(module, nn.Linear):
                raise ValueError(f"target module {name!r} is a {type(module).__name__}; MoDULA adapts nn.Linear only")
            keep_on_the_exact_path(module)
            layer = MoDULALinear(
                module,
                variant=config.variant,
                domains=config.domains,
                universal_rank=config.universal_rank,
                universal_scaling=config.universal_scaling,
                expert_rank=config.expert_rank,
                expert_scaling=config.expert_scaling,
                dropout=config.dropout,
                leaky_relu_slope=config.leaky_relu_slope,
            )
            # adapters in float32 even under a half-precision base (as peft does), in the compute dtype over a
            # 4/8-bit one (its packed weight is uint8/int8); on the base's device
            dtype = adapter_dtype(module, self.base_model)
            for child in (layer.universal, layer.experts, layer.router):
                child.to(device=module.weight.device, dtype=dtype)
            parent_name, _, child_name = name.rpartition(".")
            parent = self.base_model.get_submodule(parent_name) if parent_name else self.base_model
            setattr(parent, child_name, layer)

    # -- views --------------------------------------------------------------------------------------------
    @property
    def config(self):
        """The base model's config (the Trainer and generation utilities read it)."""
        return self.base_model.config

    @property
    def quantization(self) -> str | None:
        """How the base model's linear layers are stored: ``"nf4"``, ``"fp4"``, ``"int8"`` or None (float)."""
        return quantization_of(self.base_model)

    # The Trainer reads these to leave a bitsandbytes model where it was loaded (such layers are not moved) and to
    # refuse DataParallel over it; they describe the base model this wrapper holds.
    @property
    def is_loaded_in_4bit(self) -> bool:
        return bool(getattr(self.base_model, "is_loaded_in_4bit", False))

    @property
    def is_loaded_in_8bit(self) -> bool:
        return bool(getattr(self.base_model, "is_loaded_in_8bit", False))

    @property
    def quantization_method(self):
        return getattr(self.base_model, "quantization_method", None)

    @property
    def domains(self) -> list[str]:
        return list(self.modula_config.domains)

    def modula_layers(self) -> Iterator[tuple[str, MoDULALinear]]:
        """(dotted name in the base model, layer) for every adapted layer, in model order."""
        for name, module in self.base_model.named_modules():
            if isinstance(module, MoDULALinear):
                yield name, module

    def trainable_parameter_names(self) -> list[str]:
        return [name for name, p in self.named_parameters() if p.requires_grad]

    def num_trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    # -- stages -------------------------------------------------------------------------------------------
    def set_stage(self, stage: str, domain: str | None = None) -> None:
        """Chooses which parameters train and which forward path every layer takes (DESIGN.md's stages).

        - ``"universal"``: only the universal experts train; y = W0 x + B_u A_u x.
        - ``"expert"`` (needs ``domain``): only that domain's experts train; universal frozen, router off.
        - ``"router"``: only the routers train, over the frozen experts' mixture.
        - ``"inference"``: nothing trains; the full mixture.
        - ``"joint"``: every expert and router trains at once (the MoLoRA baseline).

        Raises:
            ValueError: unknown stage, or a missing/unknown domain for the expert stage.
        """
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")
        if stage == "expert":
            if domain not in self.modula_config.domains:
                raise ValueError(f"stage 'expert' needs one of the domains {self.domains}, got {domain!r}")
        elif domain is not None:
            raise ValueError(f"stage {stage!r} takes no domain (got {domain!r})")
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        for _, layer in self.modula_layers():
            layer.set_path(_STAGE_PATH[stage], domain)
            if stage in ("universal", "joint"):
                layer.universal.requires_grad_(True)
            if stage == "expert":
                layer.experts[domain].requires_grad_(True)
            if stage == "joint":
                layer.experts.requires_grad_(True)
            if stage in ("router", "joint"):
                layer.router.requires_grad_(True)
        if stage == "expert" and self.modula_config.variant == "res" and self._universal_is_untrained():
            logger.warning(
                "training a Res domain expert on an untrained universal expert: the experts read its output h = 0, "
                "so they cannot learn; train the 'universal' stage first"
            )
        self.stage, self.active_domain = stage, domain

    def _universal_is_untrained(self) -> bool:
        return all(torch.count_nonzero(layer.universal.lora_B) == 0 for _, layer in self.modula_layers())

    def add_domain(self, name: str) -> None:
        """Adds an expert for a new domain to every layer and an output to every router.

        Existing experts are untouched (bit for bit). Train the new expert with ``set_stage("expert",
        domain=name)``, then the routers with ``set_stage("router")``.
        """
        validate_domain_name(name, self.modula_config.domains)
        for _, layer in self.modula_layers():
            layer.add_domain(name)
        self.modula_config.domains.append(name)
        self.set_stage(self.stage, self.active_domain)  # keeps the trainable set consistent with the stage

    def merge_domain(self, domain: str) -> nn.Module:
        """Folds the universal expert and ``domain``'s expert into the base weights for serving that one domain, and
        returns the base model (this wrapper is spent); see :mod:`modula.merge`.

        Raises:
            ValueError: ``domain`` has no expert.
        """
        from modula.merge import merge_domain

        return merge_domain(self, domain)

    def fold_for_serving(self) -> nn.Module:
        """The inference path (routing over every domain) in three matmuls per adapted layer, for generation;
        returns the base model with the folded layers (this wrapper is spent); see :mod:`modula.merge`."""
        from modula.merge import fold_for_serving

        return fold_for_serving(self)

    # -- forward ------------------------------------------------------------------------------------------
    def forward(self, input_ids=None, attention_mask=None, labels=None, **kwargs):
        if self.merged_domain is not None:
            raise RuntimeError(
                f"this MoDULA model was merged for domain {self.merged_domain!r}; use the model merge_domain returned"
            )
        # explicit names: the Trainer finds "labels" in this signature
        return self.base_model(input_ids=input_ids, attention_mask=attention_mask, labels=labels, **kwargs)

    def _run_layers(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> None:
        """A forward through the adapted layers without the vocabulary projection, for passes that read the layers
        (router weights, contributions): Hugging Face's ``base_model`` is the decoder without its LM head."""
        self.base_model.base_model(input_ids=input_ids, attention_mask=attention_mask)

    def generate(self, *args, **kwargs):
        return self.base_model.generate(*args, **kwargs)

    def get_input_embeddings(self) -> nn.Module:
        return self.base_model.get_input_embeddings()

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None) -> None:
        self.base_model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=gradient_checkpointing_kwargs)
        self.base_model.enable_input_require_grads()  # the embeddings are frozen; checkpointed blocks need grads in

    @contextmanager
    def _reading_path(self, path: str, path_domain: str | None = None) -> Iterator[None]:
        """Eval mode and every layer on the forward ``path`` (for ``"expert"``: ``path_domain``'s) for measuring
        passes; the stage (with its trainable set and paths) and the training mode are restored after."""
        if path == "expert" and path_domain not in self.modula_config.domains:
            raise ValueError(f"unknown domain {path_domain!r}; domains: {self.domains}")
        stage, domain = self.stage, self.active_domain
        was_training = self.training
        self.eval()
        for _, layer in self.modula_layers():
            layer.set_path(path, path_domain)
        try:
            yield
        finally:
            self.set_stage(stage, domain)
            self.train(was_training)

    def mixture_path_only(self):
        """A context in which every layer computes the routed mixture (what inference uses), in eval mode; the
        stage and the training mode are restored after."""
        return self._reading_path("mixture")

    def expert_path_only(self, domain: str):
        """A context in which every layer computes ``domain``'s stage-2 forward pass: its expert at full weight,
        the other experts and the routers off (Res: ``W0 x + h + B_k LReLU(A_k h)``; Flan: ``W0 x + B_k A_k x``),
        in eval mode; the stage and the training mode are restored after.

        Raises:
            ValueError: ``domain`` has no expert.
        """
        return self._reading_path("expert", domain)

    def universal_path_only(self):
        """A context in which every layer computes ``W0 x + B_u A_u x`` (domain experts and routers off), in eval
        mode; the stage and the training mode are restored after. What the domain experts add is the difference
        to the mixture."""
        return self._reading_path("universal")

    @contextmanager
    def recording_router_weights(self) -> Iterator[None]:
        layers = [layer for _, layer in self.modula_layers()]
        for layer in layers:
            layer.record_router_weights, layer.last_router_weights = True, None
        try:
            yield
        finally:
            for layer in layers:
                layer.record_router_weights = False

    @torch.no_grad()
    def router_weights(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """The router's softmax weights per adapted layer for one batch, in the mixture path.

        Returns:
            ``{layer name: tensor (batch, seq, n_outputs)}``; outputs are ordered as
            ``modula_config.router_outputs`` (Flan: universal then domains; Res: domains).
        """
        with self.mixture_path_only(), self.recording_router_weights():
            self._run_layers(input_ids, attention_mask)
            return {name: layer.last_router_weights for name, layer in self.modula_layers()}

    @torch.no_grad()
    def mean_router_weights(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Router weights averaged over the batch's real (non-padding) tokens: ``{layer: (n_outputs,)}``."""
        weights = self.router_weights(input_ids, attention_mask)
        mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        mask = mask.unsqueeze(-1).float()
        return {name: ((w.float() * mask).sum(dim=(0, 1)) / mask.sum()).cpu() for name, w in weights.items()}

    @torch.no_grad()
    def contributions(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> dict[str, float]:
        """How much each part changes the output, in the mixture path, over the batch's real tokens: per adapted
        layer the mean L2 norm of the domain experts' term, of the universal term (Res: ``h``) and of ``W0 x``,
        and their ratios averaged over layers.

        Returns:
            ``{"domains_over_universal", "domains_over_base", "universal_over_base"}`` (0 for a part that is zero,
            as after wrapping, when every ``B`` is zero).
        """
        layers = [layer for _, layer in self.modula_layers()]
        mask = (torch.ones_like(input_ids) if attention_mask is None else attention_mask).float()
        pairs = {
            "domains_over_universal": ("domains", "universal"),
            "domains_over_base": ("domains", "base"),
            "universal_over_base": ("universal", "base"),
        }
        ratios: dict[str, list[float]] = {name: [] for name in pairs}
        with self.mixture_path_only():
            for layer in layers:
                layer.record_contributions = True
            try:
                self._run_layers(input_ids, attention_mask)
                for layer in layers:
                    norms = {
                        k: float((v * mask.to(v.device)).sum() / mask.sum())
                        for k, v in layer.last_contributions.items()
                    }
                    for name, (top, bottom) in pairs.items():
                        ratios[name].append(norms[top] / norms[bottom] if norms[bottom] > 0 else 0.0)
            finally:
                for layer in layers:
                    layer.record_contributions, layer.last_contributions = False, None
        return {name: sum(values) / len(values) for name, values in ratios.items()}

    # -- persistence --------------------------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path) -> Path:
        """Writes one folder per expert, the routers and the config; see :mod:`modula.checkpoint`."""
        from modula.checkpoint import save_modula

        return save_modula(self, Path(directory))

    @classmethod
    def from_pretrained(
        cls, base_model: nn.Module, directory: str | Path, *, allow_other_base: bool = False
    ) -> MoDULAModel:
        """Wraps ``base_model`` with the experts and routers saved in ``directory``.

        Raises:
            ValueError: ``base_model`` is not the model the experts were trained on (unless ``allow_other_base``).
        """
        from modula.checkpoint import load_modula

        return load_modula(cls, base_model, Path(directory), allow_other_base)

    def load_adapters(self, directory: str | Path) -> None:
        """Loads saved experts and routers into this model in place (their layout must match)."""
        from modula.checkpoint import load_adapter_weights

        load_adapter_weights(self, Path(directory))
