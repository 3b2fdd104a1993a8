"""`TrainConfig`: one dataclass for a training stage, extending `transformers.TrainingArguments`.

Every `TrainingArguments` option works as usual (and from recipes / `--set key=value`); the fields
added here say what to train on what. Defaults are the paper's (LLaVA-1.5's) recipe: stage
"pretrain" trains the projector at lr 1e-3, stage "finetune" trains LM + projector at lr 2e-5,
1 epoch, cosine schedule, warm-up ratio 0.03, no weight decay, model_max_length 2048, bf16 where
the GPU supports it, no experiment tracker (`report_to: none`; tensorboard / wandb allowed).

    cfg = TrainConfig(output_dir="runs/s1", stage="pretrain", tiny=True, data=["train.json"],
                      image_root="images")
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import textwrap
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import TrainingArguments

from lrm_llava.errors import UserError
from lrm_llava.options import field_default

STAGE_LEARNING_RATES = {"pretrain": 1e-3, "finetune": 2e-5}
"""The paper's learning rate of each stage (used when `learning_rate` is not set)."""

SHIPPED_DEEPSPEED = ("zero2", "zero3")
"""Names accepted for `deepspeed` that point at the shipped DeepSpeed JSON configs."""


def _bf16_supported() -> bool:
    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


@dataclass
class TrainConfig(TrainingArguments):
    """Configuration of one training stage (see the module docstring)."""

    # Each option is declared once: its help text is the field's `metadata["help"]`, the same place
    # TrainingArguments keeps its own; `lrm-llava train --list-keys` prints it (see `key_table`).

    # -- what to train --------------------------------------------------------------------------
    stage: str = field(default="pretrain", metadata={"help": (
        "Training stage: 'pretrain' (projector only) or 'finetune' (LM + projector; vision tower frozen).")})
    tiny: bool = field(default=False, metadata={"help": (
        "Build a tiny random Llava (tests, CI) instead of loading vision/LLM folders.")})
    tiny_seed: int = field(default=0, metadata={"help": (
        "Seed of the tiny model's weights; both stages must use the same one.")})
    vision_path: str | None = field(default=None, metadata={"help": (
        "Local CLIP/SigLIP folder with its preprocessor_config.json (e.g. CLIP ViT-L/14-336).")})
    llm_path: str | None = field(default=None, metadata={"help": (
        "Local causal-LM folder with its tokenizer (e.g. Vicuna-13B).")})
    init_from: str | None = field(default=None, metadata={"help": (
        "Start from a complete Llava folder (e.g. a stage-1 output) instead of vision_path + llm_path.")})
    projector: str | None = field(default=None, metadata={"help": (
        "Stage-1 output folder or its projector.safetensors: the projector stage 2 starts from.")})
    lora_enable: bool = field(default=False, metadata={"help": (
        "Stage 'finetune' only: LoRA adapters on the LM instead of full training (projector stays full).")})
    lora_r: int = field(default=128, metadata={"help": "LoRA rank (LLaVA-1.5's LoRA recipe: 128)."})
    lora_alpha: int = field(default=256, metadata={"help": "LoRA scaling numerator (LLaVA-1.5: 256)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA input."})
    lora_target_modules: list[str] | None = field(default=None, metadata={"help": (
        "LM linear layers that get LoRA adapters; None: q/k/v/o and gate/up/down projections.")})

    # -- data -----------------------------------------------------------------------------------
    data: list[str] = field(default_factory=list, metadata={"help": (
        "One or more LLaVA JSON (list) or JSONL files.")})
    image_root: str | None = field(default=None, metadata={"help": (
        "Folder the samples' `image` paths are relative to (paths may not leave it).")})
    template: str | None = field(default=None, metadata={"help": (
        "Chat template (vicuna_v1, vicuna_v1_nosystem, lrm_pretrain, plain, tokenizer); "
        "None: the stage's default (lrm_pretrain / vicuna_v1).")})
    image_aspect_ratio: str = field(default="pad", metadata={"help": (
        "'pad' (LLaVA-1.5: paste on a square canvas of the processor's mean colour) or 'resize'.")})
    model_max_length: int = field(default=2048, metadata={"help": (
        "Longest sample in tokens, image tokens included; longer samples are dropped and counted.")})
    group_by_length: bool = field(default=True, metadata={"help": (
        "Batch samples of one modality and similar token length (mega-batched, seeded).")})
    mega_batch_mult: int | None = field(default=None, metadata={"help": (
        "Global batches per length-sorted mega-batch of the grouped sampler; None: min(50, n / 4 batches).")})
    on_bad_image: str = field(default="error", metadata={"help": (
        "'error': a missing, unreadable or oversized image stops the run; 'skip': skip it and count it.")})
    max_image_pixels: int = field(default=64_000_000, metadata={"help": (
        "Largest image (width x height) accepted: the decompression-bomb guard.")})

    # -- speed-ups (docs/performance.md) -----------------------------------------------------------
    packing: bool = field(default=False, metadata={"help": (
        "Pack each micro-batch's samples into rows: positions restart per sample, block-diagonal causal "
        "attention (flash varlen on GPU).")})
    packing_max_length: int | None = field(default=None, metadata={"help": (
        "Most tokens per packed row; None: the longest sample of each micro-batch.")})
    chunked_loss: bool = field(default=False, metadata={"help": (
        "Compute the loss over trained tokens without materialising full logits (chunked torch, or "
        "Liger's fused kernel on GPU when installed).")})
    vision_cache: bool = field(default=False, metadata={"help": (
        "Run the frozen vision tower once per distinct image and reuse its features (exact).")})
    vision_cache_dir: str | None = field(default=None, metadata={"help": (
        "Folder for the vision-feature cache (shared by both stages and across runs); None: memory only.")})
    attn_implementation: str | None = field(default=None, metadata={"help": (
        "LM attention kernel: None keeps the model's own (sdpa); 'flex_attention' (PyTorch FlexAttention with "
        "a document mask from the packed rows' sample ids: no dense mask, masked blocks skipped; CUDA only), "
        "'flash_attention_2' (flash-attn varlen; needs flash-attn), 'sdpa' or 'eager'.")})
    fused_kernels: bool = field(default=False, metadata={"help": (
        "Liger-Kernel's fused RMSNorm, SwiGLU, RoPE and linear cross-entropy (pip install liger-kernel; CUDA "
        "only: elsewhere a warning and the torch path with the chunked loss).")})
    max_tokens_per_batch: int | None = field(default=None, metadata={"help": (
        "Token budget per micro-batch instead of per_device_train_batch_size samples: padded slots "
        "(samples x longest), or summed tokens with packing; samples of one modality, length-sorted "
        "mega-batches, seeded. None: off (batches of per_device_train_batch_size).")})
    checkpoint_every: int = field(default=1, metadata={"help": (
        "With gradient_checkpointing: recompute only every k-th LM decoder layer (1: all layers; 2: half of "
        "them, less recompute, more memory).")})
    compile_blocks: bool = field(default=False, metadata={"help": (
        "torch.compile each LM decoder layer (compile time on the first steps; CPU compiles need a C++ "
        "compiler).")})
    compile_blocks_backend: str = field(default="inductor", metadata={"help": (
        "torch.compile backend of compile_blocks ('inductor'; 'eager' checks tracing without code generation).")})
    mfu_peak_tflops: float | None = field(default=None, metadata={"help": (
        "Peak TFLOP/s of one device for the MFU of the log line; None: the known bf16 peak of an "
        "H100/H200/A100, else a matmul ceiling measured at the start of training.")})
    # Pays on small multi-epoch data (ShapeWorld); a one-epoch run on LLaVA-665k reads each sample
    # once and gains nothing. Each dataloader worker keeps its own.
    data_memory_mb: float = field(default=0.0, metadata={"help": (
        "Keep tokenized samples and preprocessed images in memory up to this many MiB (0: off), so that "
        "epochs after the first neither re-tokenize nor decode images; served items are identical.")})

    # -- run ------------------------------------------------------------------------------------
    resume: bool = field(default=False, metadata={"help": (
        "Resume from the latest complete checkpoint-* in output_dir (or from resume_from_checkpoint if set).")})
    warmup_ratio: float = field(default=0.03, metadata={"help": (
        "Linear warm-up as a share of all steps (LLaVA: 0.03); used when warmup_steps is 0.")})
    accelerate_config: str | None = field(default=None, metadata={"help": (
        "Name of the shipped accelerate config the recipe is meant to be launched with (single_gpu, "
        "multi_gpu, fsdp, deepspeed_zero2, deepspeed_zero3); informational, see docs/training.md.")})
    description: str | None = field(default=None, metadata={"help": (
        "Free text describing the recipe (kept in recipe.yaml).")})

    # -- TrainingArguments defaults changed to the paper's -----------------------------------------
    learning_rate: float | None = field(default=None, metadata={"help": (
        "Peak learning rate; None: 1e-3 for 'pretrain', 2e-5 for 'finetune'.")})
    projector_lr: float | None = field(default=None, metadata={"help": (
        "Peak learning rate of the projector (LLaVA's mm_projector_lr); None: learning_rate. Same "
        "schedule as the rest; only the peak differs.")})
    num_train_epochs: float = field(default=1.0, metadata={"help": "Epochs over the data (paper: 1)."})
    lr_scheduler_type: str = field(default="cosine", metadata={"help": "Learning-rate schedule (paper: cosine)."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay (paper: 0)."})
    per_device_train_batch_size: int = field(default=16, metadata={"help": (
        "Samples per device per micro-step (paper: 24 pretrain / 32 finetune on 8 GPUs).")})
    bf16: bool | None = field(default=None, metadata={"help": (
        "bf16 mixed precision; None (auto): on iff a CUDA GPU with bf16 support is present.")})
    gradient_checkpointing: bool | None = field(default=False, metadata={"help": (
        "Recompute activations in the backward pass to save memory (paper recipes: true).")})
    logging_steps: float = field(default=1, metadata={"help": "Optimizer steps between two log lines."})
    save_steps: float = field(default=1000, metadata={"help": (
        "Optimizer steps between two checkpoints (resume points).")})
    save_total_limit: int | None = field(default=2, metadata={"help": (
        "Checkpoints kept in output_dir (older ones are deleted).")})
    remove_unused_columns: bool = field(default=False, metadata={"help": (
        "Keep False: the collator already builds exactly the model's inputs.")})
    # Off because `forward_and_loss` touches the projector even in text-only batches
    # (`model.forward.projector_zero`), so every trainable parameter gets a gradient every step.
    ddp_find_unused_parameters: bool | None = field(default=False, metadata={"help": (
        "DDP's unused-parameter search; off: every trainable parameter gets a gradient every step (faster DDP).")})
    include_num_input_tokens_seen: str | bool = field(default="non_padding", metadata={"help": (
        "Count non-padding tokens seen (feeds tokens/s of the log line).")})

    def __post_init__(self) -> None:
        from lrm_llava.model.images import check_aspect_ratio
        from lrm_llava.model.stages import get_stage

        spec = get_stage(self.stage)
        if self.learning_rate is None:
            self.learning_rate = STAGE_LEARNING_RATES[self.stage]
        if self.template is None:
            self.template = spec.template
        from lrm_llava.chat import check_template

        check_template(self.template)
        check_aspect_ratio(self.image_aspect_ratio)
        if self.on_bad_image not in ("error", "skip"):
            raise UserError(f"on_bad_image must be 'error' or 'skip', got {self.on_bad_image!r}")
        if isinstance(self.data, (str, Path)):
            self.data = [str(self.data)]
        self.data = [str(p) for p in self.data]
        from lrm_llava.train.kernels import ATTENTION_CHOICES

        if self.attn_implementation is not None and self.attn_implementation not in ATTENTION_CHOICES:
            raise UserError(f"attn_implementation must be one of {', '.join(ATTENTION_CHOICES)} (or unset), "
                            f"got {self.attn_implementation!r}")
        if self.max_tokens_per_batch is not None and self.max_tokens_per_batch < 1:
            raise UserError(f"max_tokens_per_batch must be a positive number of tokens, got {self.max_tokens_per_batch}")
        if self.checkpoint_every < 1:
            raise UserError(f"checkpoint_every must be >= 1, got {self.checkpoint_every}")
        if self.mfu_peak_tflops is not None and self.mfu_peak_tflops <= 0:
            raise UserError(f"mfu_peak_tflops must be positive, got {self.mfu_peak_tflops}")
        if self.lora_enable and not spec.lora_allowed:
            raise UserError(f"lora_enable is only available in stage 'finetune', not {self.stage!r}")
        if not torch.cuda.is_available():
            # Without this, accelerate treats a multi-process CPU launch (torchrun + gloo) as
            # not distributed and every process trains alone.
            if not (hasattr(torch, "xpu") and torch.xpu.is_available()) and not torch.backends.mps.is_available():
                self.use_cpu = True
            self.dataloader_pin_memory = False  # pinning needs an accelerator; avoids a warning per epoch
        if self.bf16 is None:
            self.bf16 = _bf16_supported() and not self.use_cpu and not self.fp16
        if not self.warmup_steps and self.warmup_ratio:
            # transformers reads a float warmup_steps in [0, 1) as a ratio of all steps.
            self.warmup_steps = float(self.warmup_ratio)
        # Non-reentrant checkpointing works with frozen embeddings (no input grads needed). Recent
        # transformers renamed the flag `activation_checkpointing`; route LLaVA's familiar
        # `gradient_checkpointing` there without the deprecation warning, and keep older releases
        # (5.17, common on GPU machines) on the old name.
        if hasattr(self, "activation_checkpointing"):
            if self.activation_checkpointing is None and self.gradient_checkpointing is not None:
                self.activation_checkpointing = bool(self.gradient_checkpointing)
                self.gradient_checkpointing = None
            if self.gradient_checkpointing_kwargs is None and self.activation_checkpointing_kwargs is None:
                self.activation_checkpointing_kwargs = {"use_reentrant": False}
        elif self.gradient_checkpointing_kwargs is None:
            self.gradient_checkpointing = bool(self.gradient_checkpointing)
            self.gradient_checkpointing_kwargs = {"use_reentrant": False}
        if isinstance(self.deepspeed, str) and self.deepspeed in SHIPPED_DEEPSPEED:
            from lrm_llava.train.launch import config_path

            self.deepspeed = str(config_path(f"deepspeed/{self.deepspeed}"))
        super().__post_init__()

    @property
    def data_order_seed(self) -> int:
        """Seed of the grouped sampler (data_seed if set, else seed)."""
        return int(self.data_seed if self.data_seed is not None else self.seed)


QUIET_AT_DEFAULT = ("attn_implementation", "fused_kernels", "max_tokens_per_batch", "checkpoint_every",
                    "compile_blocks", "compile_blocks_backend", "mfu_peak_tflops")
"""Own keys that `recipe.yaml` records only when set to something else than their default, so the
file of a run that does not use them stays what it was before they existed."""

OWN_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.name not in {g.name for g in dataclasses.fields(TrainingArguments)})
"""Fields TrainConfig adds to TrainingArguments."""


def valid_keys() -> list[str]:
    """Every key a recipe or `--set` may use."""
    return sorted(f.name for f in dataclasses.fields(TrainConfig) if f.init and not f.name.startswith("_"))


# -- key types: checking recipe / --set values, and --list-keys -------------------------------------
@functools.cache
def _type_hints() -> dict[str, Any]:
    # TrainConfig's annotations are strings (postponed evaluation); resolve them once, with
    # TrainingArguments' own, to real types.
    return typing.get_type_hints(TrainConfig)


def key_type(key: str) -> Any:
    """The annotated type of config key `key` (e.g. `int`, `str | None`, `list[str]`)."""
    return _type_hints().get(key, Any)


def type_name(tp: Any) -> str:
    """A short readable name of a type annotation: "int", "str | None", "list[str]", "{no, steps, epoch}"."""
    if tp is type(None):
        return "None"
    args = typing.get_args(tp)
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if any(isinstance(a, type) and issubclass(a, enum.Enum) for a in args):
            args = tuple(a for a in args if a is not str)  # `SchedulerType | str`: the str must name a member
        return " | ".join(dict.fromkeys(type_name(a) for a in args))
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(type_name(a) for a in args)}]"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "{" + ", ".join(str(m.value) for m in tp) + "}"
    return getattr(tp, "__name__", str(tp))


_NO = object()


def _cast(tp: Any, value: Any) -> Any:
    """`value` as type `tp` (a numeric string as a number, an integral float as an int), or _NO."""
    if tp is Any:
        return value
    if tp is type(None):
        return value if value is None else _NO
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        enums = [a for a in args if isinstance(a, type) and issubclass(a, enum.Enum)]
        if enums and isinstance(value, str):
            # `SchedulerType | str` and the like: the string must name a member.
            return value if any(value in {str(m.value) for m in e} for e in enums) else _NO
        for exact in (True, False):  # a member the value already is wins over a conversion
            for arg in args:
                if exact and not _is_instance(arg, value):
                    continue
                cast = _cast(arg, value)
                if cast is not _NO:
                    return cast
        return _NO
    if origin is typing.Literal:
        return value if value in args else _NO
    if origin in (list, tuple):
        return value if isinstance(value, (list, tuple)) else _NO
    if origin is dict or tp is dict:
        return value if isinstance(value, dict) else _NO
    if tp is bool:
        return value if isinstance(value, bool) else _NO
    if tp is int:
        if isinstance(value, str):
            value = _number(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value if isinstance(value, int) and not isinstance(value, bool) else _NO
    if tp is float:
        if isinstance(value, str):
            value = _number(value)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else _NO
    if tp is str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # `--set run_name=2024` reads as a number
        return value if isinstance(value, str) else _NO
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return value if value in {m.value for m in tp} or isinstance(value, tp) else _NO
    return value  # a class no recipe value can be (ParallelismConfig, ...): leave it to transformers


def _is_instance(tp: Any, value: Any) -> bool:
    if tp is type(None):
        return value is None
    origin = typing.get_origin(tp) or tp
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(origin, type) and isinstance(value, origin)


def _number(text: str) -> Any:
    """YAML 1.1 reads `1e-3` as a string: the number it means, or the text unchanged."""
    for cast in (int, float):
        try:
            return cast(text.strip())
        except ValueError:
            continue
    return text


def check_value(key: str, value: Any) -> Any:
    """`value` for config key `key`, cast where the type says (numeric strings to numbers, an integral
    float to an int); ValueError "<key> takes <type>, got <value>" when it cannot be."""
    tp = key_type(key)
    if key == "data" and isinstance(value, str):
        value = [value]
    out = _cast(tp, value)
    if out is _NO:
        raise ValueError(f"{key} takes {type_name(tp)}, got {value!r}")
    return out


def key_table() -> list[dict[str, Any]]:
    """Every settable key with its type, default and help text: TrainConfig's own keys first
    (`own`: True), then the TrainingArguments keys it passes on (`changed`: TrainConfig sets
    another default than transformers)."""
    base = TrainingArguments.__dataclass_fields__
    rows = []
    for f in dataclasses.fields(TrainConfig):
        if not f.init or f.name.startswith("_"):
            continue
        default = field_default(TrainConfig, f.name)
        rows.append({"key": f.name, "type": type_name(key_type(f.name)), "default": _plain(default),
                     "help": " ".join(str(f.metadata.get("help", "")).replace("%%", "%").split()), "own": f.name in OWN_FIELDS,
                     "changed": f.name in base and f.name not in OWN_FIELDS
                     and _plain(field_default(TrainingArguments, f.name)) != _plain(default)})
    return sorted(rows, key=lambda r: (not r["own"], r["key"]))


def format_key_table(width: int = 100) -> str:
    """`key_table()` as the text `lrm-llava train --list-keys` prints."""
    out: list[str] = []
    section = None
    for row in key_table():
        if row["own"] is not section:
            section = row["own"]
            out.append("" if out else None)
            out.append("TrainConfig keys (LRM-LLaVA):" if section else
                       "TrainingArguments keys (passed on to transformers; * = default changed by LRM-LLaVA):")
        mark = "*" if row["changed"] else ""
        out.append(f"  {row['key']}{mark}  ({row['type']}, default: {row['default']!r})")
        if row["help"]:
            out.extend(textwrap.wrap(row["help"], width, initial_indent="      ", subsequent_indent="      "))
    return "\n".join(line for line in out if line is not None) + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def config_to_dict(cfg: TrainConfig) -> dict[str, Any]:
    """The resolved config as plain data: our fields plus TrainingArguments options that differ from
    their defaults (what `recipe.yaml` records; it loads back as a recipe)."""
    base = TrainingArguments.__dataclass_fields__
    out: dict[str, Any] = {}
    for f in dataclasses.fields(TrainConfig):
        if not f.init or f.name.startswith("_") or f.name in ("hub_token",):
            continue
        value = getattr(cfg, f.name)
        if f.name in QUIET_AT_DEFAULT and _plain(value) == _plain(field_default(TrainConfig, f.name)):
            continue
        if f.name not in OWN_FIELDS:
            default = base[f.name].default
            if default is dataclasses.MISSING and base[f.name].default_factory is not dataclasses.MISSING:
                default = base[f.name].default_factory()
            if _plain(value) == _plain(default) and f.name not in ("learning_rate", "num_train_epochs", "per_device_train_batch_size"):
                continue
        value = _plain(value)
        if isinstance(value, (str, int, float, bool, list, dict)) or value is None:
            out[f.name] = value
    # Derived from the machine, not chosen: a recipe.yaml must not force them on another machine.
    for key in ("resume", "use_cpu", "dataloader_pin_memory", "bf16", "disable_tqdm", "debug"):
        out.pop(key, None)
    if cfg.bf16:
        out["bf16"] = True
    return out
