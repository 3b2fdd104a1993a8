"""The training dataset: validated LLaVA samples → token ids, label masks and pixel values.

Building a `LlavaDataset` makes one pass over the data (with a progress bar): it validates each
sample, confines and checks its image (header only), tokenizes the conversation with the chat
template (the `<image>` placeholder expanded to the model's number of visual tokens) and records
the token length. Samples longer than `model_max_length` are dropped, never truncated, because
cutting a sample could cut its image tokens (the model then fails) or its only answer (nothing is
trained); how many were dropped is in `dataset.stats`. The lengths feed the token-length grouped
sampler. `dataset[i]` re-tokenizes sample i and decodes its image, so memory stays small; with
`memory_mb` it keeps the token ids from the build pass and each preprocessed image after its first
read, up to that budget, for multi-epoch runs on small data.

    from lrm_llava.data import read_samples, LlavaDataset
    ds = LlavaDataset(read_samples("train.json"), processor, template="vicuna_v1",
                      image_root="images/", model_max_length=2048)
    print(ds.stats.summary())
    item = ds[0]   # {"input_ids": LongTensor, "labels": LongTensor, "pixel_values": (3, H, W) or absent}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from lrm_llava.data.images import (
    DEFAULT_MAX_IMAGE_PIXELS,
    UnsafePathError,
    check_image,
    load_image,
    resolve_image_path,
)
from lrm_llava.data.reader import UniqueIds
from lrm_llava.errors import DataError, UserError

BAD_IMAGE_MODES = ("error", "skip")


@dataclass
class DataStats:
    """What happened to the samples while the dataset was built and read."""

    total: int = 0
    """Samples in the input files."""
    kept: int = 0
    """Samples the dataset serves."""
    with_image: int = 0
    """Kept samples with an image."""
    text_only: int = 0
    """Kept samples without an image."""
    dropped_too_long: int = 0
    """Samples longer than model_max_length (image tokens included), dropped whole."""
    skipped_bad_image: int = 0
    """Samples whose image is missing, unreadable or too big, skipped at build time (on_bad_image: skip)."""
    replaced_bad_image: int = 0
    """Reads whose image failed to decode later and were served by the next sample (on_bad_image: skip)."""
    max_length: int = 0
    """Longest kept sample in tokens."""

    def summary(self) -> str:
        return (f"{self.kept}/{self.total} samples kept ({self.with_image} with image, {self.text_only} text-only); "
                f"dropped {self.dropped_too_long} over-long, skipped {self.skipped_bad_image} with bad images; "
                f"longest {self.max_length} tokens")

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def count_image_tokens(processor) -> int:
    """Visual tokens per image for `processor` (what LlavaProcessor expands `<image>` to).

    Computed like `LlavaProcessor.replace_image_token` from the size the image processor outputs:
    (H / patch) × (W / patch) + additional tokens (CLS), minus one for the "default" strategy.
    """
    patch = getattr(processor, "patch_size", None)
    if not patch:
        raise UserError("the processor has no patch_size; save it with LlavaProcessor(patch_size=...)")
    image_processor = getattr(processor, "image_processor", processor)
    pixel_values = image_processor(images=[Image.new("RGB", (32, 32))], return_tensors="pt")["pixel_values"]
    height, width = pixel_values.shape[-2:]
    count = (height // patch) * (width // patch) + int(getattr(processor, "num_additional_image_tokens", 0) or 0)
    if getattr(processor, "vision_feature_select_strategy", None) == "default":
        count -= 1
    return int(count)


class LlavaDataset(Dataset):
    """LLaVA samples ready for `LlavaForConditionalGeneration` (see the module docstring)."""

    def __init__(
        self,
        samples: Sequence[dict[str, Any]],
        processor,
        *,
        template: str = "vicuna_v1",
        image_root: str | Path | None = None,
        model_max_length: int = 2048,
        image_aspect_ratio: str = "pad",
        on_bad_image: str = "error",
        max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
        num_image_tokens: int | None = None,
        show_progress: bool = True,
        memory_mb: float = 0.0,
    ) -> None:
        if on_bad_image not in BAD_IMAGE_MODES:
            raise UserError(f"on_bad_image must be one of {BAD_IMAGE_MODES}, got {on_bad_image!r}")
        from lrm_llava.model.images import check_aspect_ratio

        self.samples = samples
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", processor)
        self.template = template
        self.image_root = Path(image_root) if image_root is not None else None
        self.model_max_length = int(model_max_length)
        self.image_aspect_ratio = check_aspect_ratio(image_aspect_ratio)
        self.on_bad_image = on_bad_image
        self.max_image_pixels = int(max_image_pixels)
        self.image_token_id = int(processor.image_token_id)
        self.num_image_tokens = int(num_image_tokens or count_image_tokens(processor))
        self.stats = DataStats()
        self.indices: list[int] = []
        """Position in `samples` of each kept sample."""
        self.lengths: list[int] = []
        """Token length of each kept sample (image tokens included): what the sampler groups by."""
        self.has_image: list[bool] = []
        """Whether each kept sample has an image: the sampler never mixes the two in a batch."""
        self._memory_left = int(memory_mb * 2**20)
        self._tokens: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        """Sample index -> (input_ids, labels) as int32, while the memory budget lasts."""
        self._pixels: dict[Path, torch.Tensor] = {}
        """Image path -> preprocessed pixels, while the memory budget lasts."""
        self._paths: dict[int, Path] = {}
        """Sample index -> its confined image path (resolved once at build time when caching)."""
        self._build(show_progress)

    # -- building -----------------------------------------------------------------------------
    def _where(self, index: int) -> str:
        where = getattr(self.samples, "where", None)
        return where(index) if where else f"sample {index}"

    def _image_path(self, sample: dict[str, Any], where: str) -> Path:
        if self.image_root is None:
            raise DataError(f"{where} (id {sample.get('id')!r}): the sample has an image but no image root "
                            "was given. Fix: pass --image-root (image_root in the recipe).")
        return resolve_image_path(self.image_root, sample["image"], where=f"{where} (id {sample.get('id')!r})")

    def _tokenize(self, sample: dict[str, Any], where: str):
        from lrm_llava.chat import tokenize_conversation

        try:
            return tokenize_conversation(
                sample["conversations"], self.tokenizer, self.template,
                image_token_id=self.image_token_id, num_image_tokens=self.num_image_tokens,
                sample_id=str(sample.get("id")),
            )
        except DataError as err:
            raise DataError(f"{where}: {err}") from None

    def _build(self, show_progress: bool) -> None:
        stats = self.stats
        ids = UniqueIds()
        for index in tqdm(range(len(self.samples)), desc="reading data", unit="sample", disable=not show_progress):
            stats.total += 1
            sample = self.samples[index]  # validated by the reader; raises DataError with file/line
            where = self._where(index)
            ids.add(sample["id"], where)
            has_image = sample.get("image") is not None
            if has_image:
                path = self._image_path(sample, where)  # UnsafePathError is never skipped
                try:
                    check_image(path, where=f"{where} (id {sample.get('id')!r})", max_image_pixels=self.max_image_pixels)
                except DataError:
                    if self.on_bad_image == "error":
                        raise
                    stats.skipped_bad_image += 1
                    continue
            tokens = self._tokenize(sample, where)
            length = len(tokens.input_ids)
            if length > self.model_max_length:
                stats.dropped_too_long += 1
                continue
            self._remember_tokens(index, tokens)
            if has_image and self._memory_left > 0:
                self._paths[index] = path
            self.indices.append(index)
            self.lengths.append(length)
            self.has_image.append(has_image)
            stats.max_length = max(stats.max_length, length)
        stats.kept = len(self.indices)
        stats.with_image = sum(self.has_image)
        stats.text_only = stats.kept - stats.with_image
        if not self.indices:
            raise DataError(f"no usable samples: {stats.summary()}. Fix: check the data, the image root "
                            "and model_max_length.")

    # -- reading ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.indices)

    # -- memory cache ---------------------------------------------------------------------------
    def _fits(self, *tensors: torch.Tensor) -> bool:
        """Whether `tensors` fit in what is left of the budget; if so, it is charged for them."""
        size = sum(t.numel() * t.element_size() for t in tensors)
        if size > self._memory_left:
            return False
        self._memory_left -= size
        return True

    def _remember_tokens(self, index: int, tokens) -> None:
        if self._memory_left <= 0:  # caching off (or full): no tensors built at all
            return
        ids = torch.tensor(tokens.input_ids, dtype=torch.int32)
        labels = torch.tensor(tokens.labels, dtype=torch.int32)
        if self._fits(ids, labels):
            self._tokens[index] = (ids, labels)

    def _item(self, k: int) -> dict[str, Any]:
        index = self.indices[k]
        sample = self.samples[index]
        where = self._where(index)
        if index in self._tokens:
            ids, labels = self._tokens[index]
            item: dict[str, Any] = {"input_ids": ids.long(), "labels": labels.long()}  # .long() copies
        else:
            tokens = self._tokenize(sample, where)
            item = {"input_ids": torch.tensor(tokens.input_ids, dtype=torch.long),
                    "labels": torch.tensor(tokens.labels, dtype=torch.long)}
        if sample.get("image") is not None:
            path = self._paths.get(index) or self._image_path(sample, where)
            pixels = self._pixels.get(path)
            if pixels is None:
                from lrm_llava.model.images import preprocess_images

                image = load_image(path, where=f"{where} (id {sample.get('id')!r})",
                                   max_image_pixels=self.max_image_pixels)
                pixels = preprocess_images(self.processor, [image], self.image_aspect_ratio)[0]
                if self._fits(pixels):
                    self._pixels[path] = pixels
            item["pixel_values"] = pixels.clone()  # callers may modify their copy
        return item

    def __getitem__(self, k: int) -> dict[str, Any]:
        # An image that passed the header check can still fail to decode; in "skip" mode the next
        # sample is served instead (deterministic, so resumed runs see the same data).
        for attempt in range(len(self.indices)):
            try:
                return self._item((k + attempt) % len(self.indices))
            except UnsafePathError:
                raise
            except DataError:
                if self.on_bad_image == "error" or attempt + 1 == len(self.indices):
                    raise
                self.stats.replaced_bad_image += 1
        raise AssertionError("unreachable")
