"""Optional kernels and compilation for training; every one is off unless its switch says otherwise.

- `attn_implementation` (`set_lm_attention`): the LM's attention kernel. `flex_attention` is
  PyTorch's FlexAttention (`torch.nn.attention.flex_attention`) with a document `BlockMask` built
  from the packed rows' sample ids (`train.packing.flex_block_mask`): no dense (L, L) mask, and
  blocks of other samples or padding are skipped. PyTorch has no FlexAttention backward on the CPU,
  so training with it needs a CUDA GPU. `flash_attention_2` is flash-attn's varlen kernel (packed
  rows: no mask, boundaries from the restarting position ids); it needs `pip install flash-attn`.
  The vision tower keeps its own implementation (it is frozen and runs without autograd).
- `fused_kernels` (`apply_liger`): Liger-Kernel's Triton RMSNorm, SwiGLU and RoPE in the LM and its
  fused linear cross-entropy as the loss. Needs `pip install liger-kernel` and a CUDA GPU; without
  a GPU the run warns and keeps the torch path (the chunked loss).
- `compile_blocks` (`compile_lm_blocks`): `torch.compile` of each LM decoder layer (one graph for
  all layers of a shape; the rest of the step stays eager, so data-dependent code such as the
  image merge does not break the graph).
- `checkpoint_every` (`SelectiveCheckpointing`): with activation checkpointing on, recompute only
  every k-th LM decoder layer; the others keep their activations (less recompute, more memory).
"""

from __future__ import annotations

import importlib.util
import logging

import torch
from transformers import TrainerCallback

from lrm_llava.errors import UserError
from lrm_llava.model.forward import unwrap_llava

logger = logging.getLogger(__name__)

ATTENTION_CHOICES = ("sdpa", "eager", "flex_attention", "flash_attention_2")
"""Values of `attn_implementation` (None keeps the model's own, sdpa for the shipped builders)."""


def check_attention(impl: str | None, *, cuda: bool) -> None:
    """UserError when `impl` cannot train here (unknown name, missing package, no GPU for flex)."""
    if impl is None:
        return
    if impl not in ATTENTION_CHOICES:
        raise UserError(f"attn_implementation must be one of {', '.join(ATTENTION_CHOICES)} (or unset), got {impl!r}")
    if impl == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        raise UserError("attn_implementation flash_attention_2 needs the flash-attn package (pip install flash-attn, "
                        "CUDA GPUs only); use flex_attention or sdpa instead")
    if impl == "flex_attention":
        if importlib.util.find_spec("torch.nn.attention.flex_attention") is None:
            raise UserError(f"attn_implementation flex_attention needs PyTorch >= 2.5 (this is {torch.__version__})")
        if not cuda:
            raise UserError("attn_implementation flex_attention trains on a CUDA GPU only: PyTorch's FlexAttention "
                            "has no backward pass on the CPU; use sdpa (the default) here")


def set_lm_attention(model, impl: str | None) -> None:
    """Switch the LM of `model` (a Llava, possibly wrapped) to attention `impl`; None: leave it."""
    if impl is None:
        return
    llava = unwrap_llava(model)
    llava.model.language_model.set_attn_implementation(impl)
    logger.info("LM attention: %s", llava.config.text_config._attn_implementation)


def liger_installed() -> bool:
    """True when the liger_kernel package can be found (it is imported only when used)."""
    return importlib.util.find_spec("liger_kernel") is not None


def check_fused_kernels(enabled: bool) -> None:
    """UserError when `fused_kernels` is asked for without Liger-Kernel installed."""
    if enabled and not liger_installed():
        raise UserError("fused_kernels needs Liger-Kernel: pip install liger-kernel (it brings Triton and runs on "
                        "CUDA GPUs only); or set fused_kernels: false (the chunked loss stays available: chunked_loss)")


def apply_liger(model) -> bool:
    """Liger's RMSNorm, SwiGLU and RoPE kernels in the LM of `model`, in place; True when applied.

    Only on a CUDA GPU (Triton); elsewhere a warning and False. The loss side (fused linear
    cross-entropy) is the fast path's `loss_backend="liger"` (`train.loss`), not Liger's patched
    model forward, so packed rows, the vision cache and the chunked fallback keep working.
    """
    check_fused_kernels(True)
    llava = unwrap_llava(model)
    if next(llava.parameters()).device.type != "cuda":
        logger.warning("fused_kernels: the model is not on a CUDA GPU, so Liger's Triton kernels cannot run; "
                       "training with the torch kernels and the chunked loss")
        return False
    from liger_kernel.transformers import _apply_liger_kernel_to_instance

    # Patches the decoder layers' norms and MLPs of this instance; RoPE by replacing the model
    # family's rotary function (module level: every model of that family in this process).
    _apply_liger_kernel_to_instance(model=llava.model.language_model, rope=True, rms_norm=True, swiglu=True,
                                    cross_entropy=False, fused_linear_cross_entropy=False)
    return True


def decoder_layers(model) -> list[torch.nn.Module]:
    """The LM's decoder layers, in order."""
    lm = unwrap_llava(model).model.language_model
    layers = getattr(lm, "layers", None)
    if layers is None:
        raise TypeError(f"{type(lm).__name__} has no `layers`: cannot select decoder layers")
    return list(layers)


def compile_lm_blocks(model, *, backend: str = "inductor", mode: str | None = None) -> int:
    """`torch.compile` every LM decoder layer in place (`nn.Module.compile`); returns how many."""
    layers = decoder_layers(model)
    for layer in layers:
        layer.compile(backend=backend, mode=mode)
    return len(layers)


def select_checkpointed_layers(model, every: int) -> list[bool]:
    """Keep activation checkpointing on only for LM decoder layers 0, k, 2k, ... (k = `every`);
    returns each layer's flag. Layers that were not checkpointed stay as they were."""
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    flags = []
    for i, layer in enumerate(decoder_layers(model)):
        if hasattr(layer, "gradient_checkpointing"):
            layer.gradient_checkpointing = bool(layer.gradient_checkpointing) and i % every == 0
        flags.append(bool(getattr(layer, "gradient_checkpointing", False)))
    return flags


class SelectiveCheckpointing(TrainerCallback):
    """Applies `select_checkpointed_layers` when training starts, right after the Trainer has
    switched activation checkpointing on for every layer."""

    def __init__(self, every: int) -> None:
        self.every = int(every)

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if model is not None and self.every > 1:
            flags = select_checkpointed_layers(model, self.every)
            logger.info("activation checkpointing on LM layers %s", [i for i, f in enumerate(flags) if f])
