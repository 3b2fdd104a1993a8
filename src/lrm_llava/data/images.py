"""Load training images safely from an image root.

`resolve_image_path` confines a sample's relative image path to its root: absolute paths, `..`
and symlinks that lead outside are refused (a hostile data file cannot read other files).
`check_image` opens only the header (cheap, done once per sample when a dataset is built) and
refuses missing files, unreadable files and decompression bombs (more pixels than
`max_image_pixels`); `load_image` decodes the pixels. All raise `DataError`; the dataset decides
whether a bad image stops the run or is skipped and counted (`on_bad_image`).

Padding to a square with the processor's mean colour ("pad", LLaVA-1.5) is
`lrm_llava.model.images.preprocess_images`, shared with inference.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image

from lrm_llava.errors import DataError
from lrm_llava.paths import UnsafePathError, confined

__all__ = ["DEFAULT_MAX_IMAGE_PIXELS", "UnsafePathError", "check_image", "load_image", "resolve_image_path"]

DEFAULT_MAX_IMAGE_PIXELS = 64_000_000
"""Largest image (width × height) accepted by default: 8000×8000, far above any training image."""


def resolve_image_path(root: str | Path, relative: str, *, where: str = "sample") -> Path:
    """`root/relative`, resolved, refusing anything that ends up outside `root` (`paths.confined`)."""
    return confined(root, relative, where=where, what="image")


def check_image(path: Path, *, where: str = "sample", max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> tuple[int, int]:
    """Open the header of `path` and return (width, height); DataError if missing, unreadable or too big."""
    if not path.is_file():
        raise DataError(f"{where}: image {path} not found. Fix: check --image-root, or set on_bad_image: skip.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(f"{where}: image {path} exceeds PIL's pixel limit (decompression bomb guard). "
                        "Fix: remove or downscale the image.") from None
    except Exception as err:  # PIL raises many types for broken files
        raise DataError(f"{where}: image {path} cannot be read ({err}). "
                        "Fix: replace the file, or set on_bad_image: skip.") from None
    if width * height > max_image_pixels:
        raise DataError(f"{where}: image {path} is {width}x{height} = {width * height} pixels, over the "
                        f"limit of {max_image_pixels} (decompression bomb guard). "
                        "Fix: downscale the image or raise max_image_pixels.")
    return width, height


def load_image(path: Path, *, where: str = "sample", max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> Image.Image:
    """Decode `path` as RGB after the header checks of `check_image`."""
    check_image(path, where=where, max_image_pixels=max_image_pixels)
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except Exception as err:
        raise DataError(f"{where}: image {path} cannot be decoded ({err}). "
                        "Fix: replace the file, or set on_bad_image: skip.") from None
