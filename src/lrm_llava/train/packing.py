"""Sample packing: several samples per row, positions restarting per sample, no attention across samples.

A pad-to-longest batch of long-tailed LLaVA samples spends much of its compute on padding.
Packing concatenates the batch's samples into as few rows of at most `max_length` tokens as
first-fit-decreasing allows. Each sample keeps its own position ids (0, 1, 2, ... restarting at
every sample start) and attends only to itself:

- with SDPA / eager attention (CPU, or a GPU without flash-attn) the model gets a 4-D additive
  block-diagonal causal mask (B, 1, L, L), which transformers uses as is;
- with `attn_implementation="flash_attention_2"` no mask is passed: transformers derives the
  variable-length boundaries (`cu_seqlens`) from the restarting position ids (flash varlen);
- with `attn_implementation="flex_attention"` the model gets a `BlockMask` (`flex_block_mask`):
  a document mask built from the samples' ids, causal within each sample. No dense (L, L) mask is
  made, and FlexAttention skips every block that is wholly masked (other samples, the padding).

The first label of every packed sample is set to -100 (it would otherwise be predicted from the
previous sample's last token; unpacked, the causal shift never trains it either), so the loss and
the gradients equal the unpacked batch's (tested). Images are stacked in the order their `<image>`
tokens appear in the packed rows, which is the order Llava scatters image features in.

    from lrm_llava.train.packing import PackingCollator
    collate = PackingCollator(pad_token_id=tok.pad_token_id, max_length=2048)
    batch = collate(items)   # input_ids, labels, attention_mask, position_ids[, pixel_values]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from lrm_llava.chat.templates import IGNORE_INDEX


def pack_rows(lengths: Sequence[int], max_length: int) -> list[list[int]]:
    """Indices grouped into rows of total length <= `max_length` (first fit, longest first).

    A sample longer than `max_length` gets a row of its own. Rows keep their samples in the order
    they were placed; the result is deterministic.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    rows: list[list[int]] = []
    room: list[int] = []
    for i in order:
        n = int(lengths[i])
        for r, free in enumerate(room):
            if n <= free:
                rows[r].append(i)
                room[r] -= n
                break
        else:
            rows.append([i])
            room.append(max(max_length - n, 0))
    return rows


def collate_packed(
    features: Sequence[dict[str, Any]],
    pad_token_id: int,
    max_length: int | None = None,
    pad_to_multiple_of: int | None = None,
) -> dict[str, torch.Tensor]:
    """Pack `features` (dicts with input_ids, labels, optional pixel_values) into rows.

    `max_length` None: the longest sample of the batch (rows never grow past the unpacked width).
    Returns input_ids, labels, attention_mask (1 = real token), position_ids and pixel_values.
    """
    if not features:
        raise ValueError("cannot collate an empty batch")
    lengths = [len(f["input_ids"]) for f in features]
    cap = int(max_length) if max_length else max(lengths)
    rows = pack_rows(lengths, max(cap, max(lengths)))
    width = max(sum(lengths[i] for i in row) for row in rows)
    if pad_to_multiple_of:
        width = -(-width // pad_to_multiple_of) * pad_to_multiple_of
    input_ids = torch.full((len(rows), width), pad_token_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    position_ids = torch.zeros((len(rows), width), dtype=torch.long)
    images = []
    for r, row in enumerate(rows):
        at = 0
        for i in row:
            f, n = features[i], lengths[i]
            input_ids[r, at:at + n] = torch.as_tensor(f["input_ids"], dtype=torch.long)
            labels[r, at:at + n] = torch.as_tensor(f["labels"], dtype=torch.long)
            labels[r, at] = IGNORE_INDEX
            attention_mask[r, at:at + n] = 1
            position_ids[r, at:at + n] = torch.arange(n)
            if f.get("pixel_values") is not None:
                images.append(torch.as_tensor(f["pixel_values"]))
            at += n
        # Padding continues as one more "sample" with its own positions: masked out, never trained.
        position_ids[r, at:] = torch.arange(width - at)
    batch = {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask, "position_ids": position_ids}
    if images:
        batch["pixel_values"] = torch.stack(images)
    return batch


@dataclass
class PackingCollator:
    """Packs a list of dataset items into rows (see the module docstring)."""

    pad_token_id: int
    """Token id written into padded positions (masked out, label -100)."""
    max_length: int | None = None
    """Most tokens per packed row; None: the longest sample of each batch."""
    pad_to_multiple_of: int | None = None
    """Round the row width up to a multiple of this, or None."""

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        return collate_packed(features, self.pad_token_id, self.max_length, self.pad_to_multiple_of)


def segment_ids(position_ids: torch.Tensor) -> torch.Tensor:
    """Per token, the index of its packed sample within the row (a new sample where positions restart)."""
    starts = torch.ones_like(position_ids, dtype=torch.bool)
    starts[:, 1:] = position_ids[:, 1:] != position_ids[:, :-1] + 1
    return starts.long().cumsum(-1)


def block_causal_mask(position_ids: torch.Tensor, attention_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
    """(B, 1, L, L) additive mask: 0 where query q may see key k (same sample, k <= q, k real), else min.

    Padding queries see themselves only, so no softmax row is empty (no NaN).
    """
    seg = segment_ids(position_ids)
    length = position_ids.shape[1]
    idx = torch.arange(length, device=position_ids.device)
    allowed = (seg[:, :, None] == seg[:, None, :]) & (idx[None, :, None] >= idx[None, None, :])
    if attention_mask is not None:
        allowed &= attention_mask[:, None, :].bool()
    allowed |= torch.eye(length, dtype=torch.bool, device=position_ids.device)[None]
    mask = torch.zeros(allowed.shape, dtype=dtype, device=position_ids.device)
    mask.masked_fill_(~allowed, torch.finfo(dtype).min)
    return mask[:, None]


def document_ids(position_ids: torch.Tensor | None, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """(B, L) id of the sample each token belongs to, for a document mask.

    Packed rows (`position_ids` given): `segment_ids`; the padding tail restarts its positions, so
    it is a "sample" of its own that no real token sees. Padded rows (no `position_ids`): the
    attention mask itself (1 real, 0 padding; right padding), so real tokens see real tokens only
    and every padding query still sees itself (no empty softmax row)."""
    if position_ids is not None:
        return segment_ids(position_ids)
    if attention_mask is None:
        raise ValueError("document_ids needs position_ids or an attention_mask")
    return attention_mask.long()


def flex_block_mask(position_ids: torch.Tensor | None, attention_mask: torch.Tensor | None, *,
                    compile_mask: bool | None = None):
    """FlexAttention `BlockMask` (B, 1, L, L) of a packed (or padded) batch: query q sees key k iff
    both belong to the same sample (`document_ids`) and k <= q. The same pattern as
    `block_causal_mask`, without materialising it: blocks of 128 × 128 that are wholly masked are
    skipped by the kernel. `compile_mask` (default: on CUDA) builds the mask with a compiled kernel."""
    from torch.nn.attention.flex_attention import create_block_mask

    doc = document_ids(position_ids, attention_mask)
    batch, length = doc.shape

    def same_sample_causal(b, h, q_idx, kv_idx):
        return (doc[b, q_idx] == doc[b, kv_idx]) & (q_idx >= kv_idx)

    if compile_mask is None:
        compile_mask = doc.device.type == "cuda"
    return create_block_mask(same_sample_causal, batch, None, length, length, device=doc.device, _compile=compile_mask)


def packed_attention_mask(position_ids: torch.Tensor, attention_mask: torch.Tensor | None, dtype: torch.dtype, text_config):
    """The attention mask the LM gets for a packed batch: None for flash-attention (varlen from the
    position ids), a FlexAttention `BlockMask` for `flex_attention`, else the 4-D block-diagonal
    causal mask."""
    impl = str(getattr(text_config, "_attn_implementation", None) or "sdpa")
    if "flash" in impl:
        return None
    if impl == "flex_attention":
        return flex_block_mask(position_ids, attention_mask)
    return block_causal_mask(position_ids, attention_mask, dtype)
