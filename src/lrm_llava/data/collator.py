"""Batch LLaVA items: right padding, -100 labels on padding, attention mask, images of image samples.

`LlavaForConditionalGeneration` scatters the features of the images in `pixel_values`, in order,
into the positions of the image tokens of the whole batch, row by row. So a batch that mixes image
and text-only samples passes `pixel_values` for the image samples only, stacked in batch order; a
batch with no image passes none. That is what `collate` does.

    from lrm_llava.data import LlavaCollator
    collate = LlavaCollator(pad_token_id=tokenizer.pad_token_id)
    batch = collate([ds[0], ds[1]])   # input_ids, labels, attention_mask[, pixel_values]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from lrm_llava.chat.templates import IGNORE_INDEX


@dataclass
class LlavaCollator:
    """Pads a list of dataset items into one batch (see the module docstring)."""

    pad_token_id: int
    """Token id written into padded positions of `input_ids` (masked out by `attention_mask`)."""
    pad_to_multiple_of: int | None = None
    """Round the padded length up to a multiple of this (tensor-core friendly shapes), or None."""

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        return collate(features, self.pad_token_id, self.pad_to_multiple_of)


def collate(features: Sequence[dict[str, Any]], pad_token_id: int, pad_to_multiple_of: int | None = None) -> dict[str, torch.Tensor]:
    """Right-pad `features` (dicts with input_ids, labels and optionally pixel_values) into a batch."""
    if not features:
        raise ValueError("cannot collate an empty batch")
    longest = max(len(f["input_ids"]) for f in features)
    if pad_to_multiple_of:
        longest = -(-longest // pad_to_multiple_of) * pad_to_multiple_of
    batch_size = len(features)
    input_ids = torch.full((batch_size, longest), pad_token_id, dtype=torch.long)
    labels = torch.full((batch_size, longest), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((batch_size, longest), dtype=torch.long)
    for row, f in enumerate(features):
        n = len(f["input_ids"])
        input_ids[row, :n] = torch.as_tensor(f["input_ids"], dtype=torch.long)
        labels[row, :n] = torch.as_tensor(f["labels"], dtype=torch.long)
        attention_mask[row, :n] = 1
    batch = {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}
    images = [f["pixel_values"] for f in features if f.get("pixel_values") is not None]
    if images:
        batch["pixel_values"] = torch.stack([torch.as_tensor(x) for x in images])
    return batch
