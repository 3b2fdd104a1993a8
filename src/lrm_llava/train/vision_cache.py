"""Cache of frozen vision-tower features, keyed by image content: the ViT runs once per image.

The vision tower is frozen in both LLaVA stages, so the features the projector reads for an image
never change: compute them once and reuse them across epochs, across the language variants of
one image (the multilingual data repeats every image in each language) and, with `folder`, across
stages and runs. The key is a SHA-256 of the exact pixel tensor (dtype, shape and bytes) plus the
vision tower's identity (feature layer, strategy, parameter count), so a hit returns bit-identical
features and a different tower or preprocessing can never be served stale ones.

    from lrm_llava.train.vision_cache import VisionFeatureCache
    cache = VisionFeatureCache(folder="runs/vision_cache")     # folder=None: memory only
    feats = cache.features(llava, pixel_values)                # (N, tokens, vision_hidden)
    cache.hits, cache.misses
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from lrm_llava.model.forward import vision_features


def _tower_tag(llava) -> str:
    cfg = llava.config
    tower = llava.model.vision_tower
    n = sum(p.numel() for p in tower.parameters())
    return f"{cfg.vision_feature_layer}|{cfg.vision_feature_select_strategy}|{type(tower).__name__}|{n}"


def image_key(pixel_values: torch.Tensor, tag: str = "") -> str:
    """Content key of one image's pixel tensor (exact bytes, dtype and shape)."""
    x = pixel_values.detach().contiguous().cpu()
    h = hashlib.sha256()
    h.update(f"{tag}|{x.dtype}|{tuple(x.shape)}|".encode())
    h.update(x.reshape(-1).view(torch.uint8).numpy().tobytes())  # raw bytes: numpy has no bfloat16
    return h.hexdigest()


class VisionFeatureCache:
    """Features per image key, in memory and optionally in a folder of safetensors files."""

    def __init__(self, folder: str | Path | None = None, *, max_items: int | None = None) -> None:
        self.folder = Path(folder) if folder is not None else None
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        self.max_items = max_items
        self._memory: dict[str, torch.Tensor] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._memory)

    def _load(self, key: str) -> torch.Tensor | None:
        found = self._memory.get(key)
        if found is not None or self.folder is None:
            return found
        path = self.folder / f"{key}.safetensors"
        if not path.is_file():
            return None
        from safetensors.torch import load_file

        found = load_file(str(path))["features"]
        self._remember(key, found)
        return found

    def _remember(self, key: str, value: torch.Tensor) -> None:
        if self.max_items is None or len(self._memory) < self.max_items:
            self._memory[key] = value

    def _store(self, key: str, value: torch.Tensor) -> None:
        self._remember(key, value)
        if self.folder is not None:
            from safetensors.torch import save_file

            tmp = self.folder / f"{key}.tmp"
            save_file({"features": value.contiguous()}, str(tmp))
            tmp.replace(self.folder / f"{key}.safetensors")  # atomic: a killed run leaves no torn file

    @torch.no_grad()
    def features(self, llava, pixel_values: torch.Tensor) -> torch.Tensor:
        """(N, tokens, hidden) projector inputs for `pixel_values` (N, 3, H, W); misses run the tower
        in one batch. Stored in host memory (never on the GPU); returned on the pixels' device in
        the tower's dtype (through pinned memory on CUDA)."""
        tag = _tower_tag(llava)
        keys = [image_key(px, tag) for px in pixel_values]
        found = [self._load(k) for k in keys]
        missing = [i for i, f in enumerate(found) if f is None]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = vision_features(llava, pixel_values[missing])
            for j, i in enumerate(missing):
                value = fresh[j].detach().to("cpu").clone()
                self._store(keys[i], value)
                found[i] = value
        return _to_device(found, pixel_values.device)  # type: ignore[arg-type]


def _to_device(found: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    """Stack the (CPU) features and move them to `device`. The cache itself never lives on the GPU:
    for a CUDA device the batch is stacked into pinned (page-locked) host memory and copied without
    blocking, so the transfer overlaps the GPU's work; values are the same bytes either way."""
    if device.type != "cuda":
        return torch.stack(found).to(device)
    staged = torch.empty((len(found), *found[0].shape), dtype=found[0].dtype, pin_memory=True)
    torch.stack(found, out=staged)
    return staged.to(device, non_blocking=True)
