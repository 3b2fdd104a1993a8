"""What each training stage trains: the freezing rules, declared in one place (`STAGES`).

- "pretrain" (stage 1): only the projector learns; vision tower and language model are frozen.
- "finetune" (stage 2): language model + lm_head + projector learn; the vision tower stays frozen.
  With `LoraOptions` the language model gets LoRA adapters (injected in place with peft, so the model
  stays a plain Llava) and its base weights stay frozen; the projector stays fully trainable.

    >>> from lrm_llava.model.stages import apply_stage, LoraOptions
    >>> apply_stage(model, "finetune")                      # {"trainable": ..., "frozen": ...}
    >>> apply_stage(model, "finetune", lora=LoraOptions(r=8, alpha=16))
    >>> merge_lora(model)                                    # before saving a plain checkpoint
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from lrm_llava.chat.templates import STAGE_NAMES
from lrm_llava.errors import UserError

GROUPS = ("vision_tower", "projector", "language_model", "lm_head")
"""Parameter groups of a Llava model that stages switch on or off."""


@dataclass(frozen=True)
class StageSpec:
    """The freezing rule of one training stage."""

    name: str
    """Stage name used in recipes and on the command line."""
    trainable: tuple[str, ...]
    """Groups (from `GROUPS`) whose parameters get gradients; all others are frozen."""
    template: str
    """The chat template this stage trains with by default."""
    description: str
    """One line for help texts."""
    lora_allowed: bool = False
    """Whether LoRA may replace full training of the language model in this stage."""


STAGES: dict[str, StageSpec] = {
    "pretrain": StageSpec(
        name="pretrain",
        trainable=("projector",),
        template="lrm_pretrain",
        description="stage 1: align the projector; vision tower and language model frozen",
    ),
    "finetune": StageSpec(
        name="finetune",
        trainable=("projector", "language_model", "lm_head"),
        template="vicuna_v1",
        description="stage 2: train language model + projector; vision tower frozen",
        lora_allowed=True,
    ),
}

assert tuple(STAGES) == STAGE_NAMES, "one StageSpec per stage name, in order"

DEFAULT_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class LoraOptions:
    """LoRA on the language model (LLaVA-1.5's LoRA recipe values as defaults)."""

    r: int = 128
    """Rank of the low-rank update."""
    alpha: int = 256
    """Scaling numerator (update scaled by alpha / r)."""
    dropout: float = 0.05
    """Dropout on the LoRA input."""
    target_modules: tuple[str, ...] = field(default_factory=lambda: DEFAULT_LORA_TARGETS)
    """Names of the linear layers inside the language model that get adapters."""


def get_stage(stage: str) -> StageSpec:
    """The StageSpec for `stage`; a UserError lists the known stages."""
    try:
        return STAGES[stage]
    except (KeyError, TypeError):
        raise UserError(f"unknown training stage {stage!r}; known stages: {', '.join(STAGES)}") from None


def parameter_groups(model) -> dict[str, torch.nn.Module]:
    """The modules of each group (`GROUPS`) of a Llava model."""
    return {
        "vision_tower": model.model.vision_tower,
        "projector": model.model.multi_modal_projector,
        "language_model": model.model.language_model,
        "lm_head": model.lm_head,
    }


def _is_lora_param(name: str) -> bool:
    return "lora_" in name


def apply_stage(model, stage: str, *, lora: LoraOptions | None = None) -> dict[str, int]:
    """Set `requires_grad` for `stage` (optionally adding LoRA to the LM); return parameter counts."""
    spec = get_stage(stage)
    if lora is not None:
        if not spec.lora_allowed:
            raise UserError(f"LoRA is only available in stage(s) {[s for s, v in STAGES.items() if v.lora_allowed]}, not {stage!r}")
        inject_lora(model, lora)
    for param in model.parameters():
        param.requires_grad_(False)
    groups = parameter_groups(model)
    for group in spec.trainable:
        module = groups[group]
        if lora is not None and group in ("language_model", "lm_head"):
            continue
        for param in module.parameters():
            param.requires_grad_(True)
    if lora is not None:
        for name, param in groups["language_model"].named_parameters():
            if _is_lora_param(name):
                param.requires_grad_(True)
    # With tied embeddings the lm_head weight is the embedding weight: the rule above already set
    # it through whichever group owns it, and `parameters()` yields it once.
    counts = {"trainable": 0, "frozen": 0}
    for param in model.parameters():
        counts["trainable" if param.requires_grad else "frozen"] += param.numel()
    return counts


def trainable_parameter_names(model) -> list[str]:
    """Names of parameters with `requires_grad`, in model order."""
    return [name for name, param in model.named_parameters() if param.requires_grad]


def inject_lora(model, options: LoraOptions) -> None:
    """Add LoRA adapters to the language model's linear layers in place (peft)."""
    try:
        from peft import LoraConfig, inject_adapter_in_model
    except ImportError:
        raise UserError("LoRA needs peft: pip install 'lrm-llava[lora]'") from None
    targets = "|".join(options.target_modules)
    # A regex limited to the language model: the vision tower has layers with the same names.
    config = LoraConfig(
        r=options.r,
        lora_alpha=options.alpha,
        lora_dropout=options.dropout,
        target_modules=rf"model\.language_model\..*\.({targets})",
        bias="none",
    )
    try:
        inject_adapter_in_model(config, model)
    except ValueError:  # peft's NoMatchingPeftModuleError is a ValueError
        matched = False
    else:
        matched = has_lora(model)
    if not matched:
        raise UserError(
            f"LoRA target_modules {list(options.target_modules)} match no layer of the language model; "
            "use the names of its linear layers (e.g. q_proj, v_proj)"
        )


def has_lora(model) -> bool:
    """Whether LoRA adapters are present in `model`."""
    return any(_is_lora_param(n) for n, _ in model.named_parameters())


def merge_lora(model):
    """Fold LoRA adapters into their base layers and remove them, leaving a plain Llava model."""
    if not has_lora(model):
        return model
    from peft.tuners.lora import LoraLayer

    for name, module in list(model.named_modules()):
        if isinstance(module, LoraLayer):
            module.merge()
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, module.get_base_layer())
    return model
