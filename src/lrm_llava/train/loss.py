"""Linear + cross-entropy that never materialises the full logits, and the fast training forward.

The plain path computes `logits = lm_head(hidden)` for every position of the batch (batch × length ×
vocab floats, upcast to fp32 for the loss) although LLaVA trains only the answer tokens (stage 2)
or the caption (stage 1). `chunked_linear_cross_entropy` keeps only the positions whose (shifted)
label is trained and computes their logits a chunk at a time, each chunk under activation
checkpointing, so neither the forward nor the backward holds more than `chunk_size × vocab`
logits. Where Liger-Kernel is installed and the tensors are on a GPU its fused Triton kernel does
the same in one pass. The result equals transformers' `ForCausalLMLoss` (shift by one, fp32
cross-entropy, sum / `num_items_in_batch` or mean) to float rounding.

`fast_forward_and_loss` is the drop-in replacement for `lrm_llava.train.trainer.forward_and_loss`
used when any speed-up is on: vision features from a `VisionFeatureCache` (exact), packed rows
(position ids restarting per sample, block-diagonal causal attention, see `train.packing`: a dense
4-D mask for SDPA/eager, a FlexAttention `BlockMask` document mask for `flex_attention`, none for
flash-attention varlen) and the chunked loss (`loss_backend="liger"` with `fused_kernels`). The multimodal pieces (feature selection, projection, the merge into the text
embeddings) are `lrm_llava.model.forward`'s, shared with the plain path's transformers forward.

    from lrm_llava.train.loss import chunked_linear_cross_entropy
    loss = chunked_linear_cross_entropy(hidden, model.lm_head.weight, labels, num_items_in_batch=n)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from lrm_llava.chat.templates import IGNORE_INDEX
from lrm_llava.model.forward import (
    merge_image_features,
    project_features,
    projector_zero,
    unwrap_llava,
    vision_features,
)

DEFAULT_CHUNK_SIZE = 1024
"""Trained positions per logits chunk (1024 × 32k vocab × 4 bytes = 128 MiB of fp32 logits)."""


def liger_available() -> bool:
    """True when Liger-Kernel's fused linear cross-entropy can be imported."""
    try:
        from liger_kernel.ops.fused_linear_cross_entropy import LigerFusedLinearCrossEntropyFunction  # noqa: F401
    except Exception:  # ImportError, or a Triton without a GPU
        return False
    return True


def _chunk_ce_sum(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, target: torch.Tensor) -> torch.Tensor:
    # Same numerics as transformers: logits in the model dtype, then upcast to fp32 for the loss.
    logits = F.linear(hidden, weight, bias).float()
    return F.cross_entropy(logits, target, reduction="sum")


def _liger_sum(hidden, weight, bias, target, *, strict: bool) -> torch.Tensor | None:
    """Liger's fused linear cross-entropy (sum); None when this Liger version's API differs (auto)."""
    from liger_kernel.ops.fused_linear_cross_entropy import LigerFusedLinearCrossEntropyFunction

    try:
        # (input, weight, target, bias, ce_weight, ignore_index, lse_square_scale, label_smoothing, reduction)
        out = LigerFusedLinearCrossEntropyFunction.apply(hidden, weight, target, bias, None, IGNORE_INDEX, 0.0, 0.0, "sum")
    except TypeError:
        if strict:
            raise
        return None
    return out[0] if isinstance(out, tuple) else out


def chunked_linear_cross_entropy(
    hidden_states: torch.Tensor,
    weight: torch.Tensor,
    labels: torch.Tensor,
    *,
    bias: torch.Tensor | None = None,
    num_items_in_batch: int | torch.Tensor | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    backend: str = "auto",
) -> torch.Tensor:
    """Causal-LM loss of `hidden_states` (B, L, H) through the output layer `weight` (V, H).

    `labels` (B, L) are the unshifted labels (-100 = not trained), as passed to a HF causal LM:
    position t predicts labels[t + 1]. Returns sum / `num_items_in_batch` when given, else the mean
    over trained tokens. `backend`: "auto" (Liger on a GPU when installed, else chunked torch),
    "liger" or "torch".
    """
    if backend not in ("auto", "liger", "torch"):
        raise ValueError(f"backend must be auto, liger or torch, got {backend!r}")
    shift = F.pad(labels, (0, 1), value=IGNORE_INDEX)[:, 1:]
    keep = shift.reshape(-1) != IGNORE_INDEX
    flat = hidden_states.reshape(-1, hidden_states.shape[-1])
    rows = keep.nonzero().squeeze(1)
    hidden, target = flat.index_select(0, rows), shift.reshape(-1).index_select(0, rows).to(flat.device)
    total = None
    if rows.numel() == 0:
        total = hidden_states.sum() * 0.0  # keeps the graph: a zero gradient, not an error
    elif backend != "torch" and hidden.is_cuda and (backend == "liger" or liger_available()):
        total = _liger_sum(hidden, weight, bias, target, strict=backend == "liger")
    if total is None:
        size = max(1, int(chunk_size))
        grad = torch.is_grad_enabled() and (hidden.requires_grad or weight.requires_grad)
        total = hidden.new_zeros((), dtype=torch.float32)
        for start in range(0, hidden.shape[0], size):
            h, t = hidden[start:start + size], target[start:start + size]
            if grad:  # recompute this chunk's logits in backward instead of keeping them
                total = total + checkpoint(_chunk_ce_sum, h, weight, bias, t, use_reentrant=False)
            else:
                total = total + _chunk_ce_sum(h, weight, bias, t)
    if num_items_in_batch is not None:
        if isinstance(num_items_in_batch, torch.Tensor):
            num_items_in_batch = num_items_in_batch.to(total.device)
        return total / num_items_in_batch
    return total / max(int(rows.numel()), 1)


# -- the fast forward -------------------------------------------------------------------------------
def fast_forward_and_loss(
    model,
    inputs: dict[str, Any],
    num_items_in_batch=None,
    *,
    vision_cache=None,
    chunked_loss: bool = True,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    loss_backend: str = "auto",
):
    """(loss, outputs) like `forward_and_loss`, with the optional speed-ups.

    `inputs`: input_ids, labels, attention_mask (2-D, 1 = real token) and pixel_values as the
    collators make them; a packed batch adds `position_ids` restarting at 0 for every sample (see
    `lrm_llava.train.packing`). `vision_cache`: a `VisionFeatureCache` (None: run the vision tower).
    `chunked_loss`: the chunked/fused loss instead of full logits.
    """
    from transformers.modeling_outputs import CausalLMOutputWithPast

    from lrm_llava.train.packing import packed_attention_mask

    llava = unwrap_llava(model)
    input_ids, labels = inputs["input_ids"], inputs["labels"]
    pixel_values = inputs.get("pixel_values")
    features = None
    if pixel_values is not None:
        pixel_values = pixel_values.to(next(llava.model.vision_tower.parameters()).dtype)
        if vision_cache is not None:
            feats = vision_cache.features(llava, pixel_values)
        else:
            feats = vision_features(llava, pixel_values)  # a frozen tower runs without autograd
        features = project_features(llava, feats)
    embeds = merge_image_features(llava, input_ids, features)
    attention_mask = inputs.get("attention_mask")
    position_ids = inputs.get("position_ids")
    if position_ids is not None:
        attention_mask = packed_attention_mask(position_ids, attention_mask, embeds.dtype, llava.config.text_config)
    hidden = llava.model.language_model(
        inputs_embeds=embeds, attention_mask=attention_mask, position_ids=position_ids, use_cache=False, return_dict=True
    ).last_hidden_state
    head = llava.lm_head
    if chunked_loss:
        loss = chunked_linear_cross_entropy(
            hidden, head.weight, labels, bias=head.bias, num_items_in_batch=num_items_in_batch,
            chunk_size=chunk_size, backend=loss_backend,
        )
        logits = None
    else:
        logits = head(hidden)
        loss = llava.loss_function(logits=logits, labels=labels, vocab_size=logits.shape[-1],
                                   num_items_in_batch=num_items_in_batch)
    if pixel_values is None:
        loss = loss + projector_zero(model)
    return loss, CausalLMOutputWithPast(loss=loss, logits=logits)
