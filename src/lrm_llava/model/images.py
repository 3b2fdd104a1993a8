"""Image preprocessing shared by training (the data loader) and inference, so both see the same pixels.

LLaVA-1.5's `image_aspect_ratio: pad` pastes a non-square image centred on a square canvas filled
with the image processor's mean colour (`image_mean` × 255) before the CLIP processor, so nothing is
cropped away; `"resize"` hands the image to the image processor unchanged (CLIP: shortest-edge
resize + centre crop; SigLIP: resize to a square).

    >>> from lrm_llava.model.images import preprocess_images
    >>> pixel_values = preprocess_images(processor, [img1, img2], "pad")   # (2, 3, H, W) tensor

The aspect-ratio mode of a model lives in its config (`model.config.image_aspect_ratio`, saved in
config.json); read it with `image_aspect_ratio(model.config)`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image

from lrm_llava.errors import UserError

ASPECT_RATIOS = ("pad", "resize")
"""Supported `image_aspect_ratio` modes."""

DEFAULT_ASPECT_RATIO = "pad"


def check_aspect_ratio(mode: str) -> str:
    """Return `mode` if supported, else raise a UserError listing the supported modes."""
    if mode not in ASPECT_RATIOS:
        raise UserError(f"unknown image_aspect_ratio {mode!r}; supported: {', '.join(ASPECT_RATIOS)}")
    return mode


def image_aspect_ratio(config) -> str:
    """The aspect-ratio mode stored in a model config (LLaVA's default "pad" when absent)."""
    return check_aspect_ratio(getattr(config, "image_aspect_ratio", None) or DEFAULT_ASPECT_RATIO)


def background_color(processor) -> tuple[int, int, int]:
    """The processor's mean colour as 0-255 RGB (LLaVA: `tuple(int(x * 255) for x in image_mean)`)."""
    image_processor = getattr(processor, "image_processor", processor)
    mean = getattr(image_processor, "image_mean", None) or (0.5, 0.5, 0.5)
    return tuple(int(x * 255) for x in mean)  # type: ignore[return-value]


def expand_to_square(img: Image.Image, background_rgb: tuple[int, int, int]) -> Image.Image:
    """Paste `img` (converted to RGB) centred on a square canvas of colour `background_rgb`."""
    img = img.convert("RGB")
    width, height = img.size
    if width == height:
        return img
    side = max(width, height)
    canvas = Image.new("RGB", (side, side), tuple(background_rgb))
    canvas.paste(img, ((side - width) // 2, (side - height) // 2))
    return canvas


def prepare_images(processor, images: Sequence[Image.Image], aspect_ratio: str = "pad") -> list[Image.Image]:
    """RGB images ready for the image processor: squared with the mean colour when "pad"."""
    check_aspect_ratio(aspect_ratio)
    if aspect_ratio == "pad":
        color = background_color(processor)
        return [expand_to_square(img, color) for img in images]
    return [img.convert("RGB") for img in images]


def preprocess_images(processor, images: Sequence[Image.Image], aspect_ratio: str = "pad") -> torch.Tensor:
    """`pixel_values` (N, 3, H, W) for `images`, applying `aspect_ratio` like LLaVA's training."""
    image_processor = getattr(processor, "image_processor", processor)
    prepared = prepare_images(processor, images, aspect_ratio)
    return image_processor(images=prepared, return_tensors="pt")["pixel_values"]


def num_image_tokens(processor) -> int:
    """How many `<image>` tokens one image becomes (what `LlavaProcessor` inserts; equals the
    model's `config.image_seq_length` for models built here). Pass this to
    `lrm_llava.chat.tokenize_conversation(num_image_tokens=...)`."""
    image = preprocess_images(processor, [Image.new("RGB", (8, 8))], "resize")
    height, width = int(image.shape[-2]), int(image.shape[-1])
    count = (height // processor.patch_size) * (width // processor.patch_size)
    count += getattr(processor, "num_additional_image_tokens", 0) or 0
    if getattr(processor, "vision_feature_select_strategy", None) == "default":
        count -= 1
    return count
