"""Save and load the multimodal projector alone (LLaVA's stage-1 output).

File format: `projector.safetensors` with keys `linear_1.weight`, `linear_1.bias`, `linear_2.weight`,
`linear_2.bias` (the names of `model.model.multi_modal_projector`). `load_projector` also accepts a
stage-1 folder holding that file or a full Llava checkpoint (`model.safetensors`, sharded or not),
and LLaVA's original `mm_projector.bin` (keys `model.mm_projector.0/2.*`, read with
`weights_only=True`).

    >>> save_projector(model, "runs/stage1/projector.safetensors")
    >>> load_projector(model2, "runs/stage1")
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from lrm_llava.errors import UserError

PROJECTOR_FILE = "projector.safetensors"
"""File name of a saved projector inside a stage-1 folder."""

PROJECTOR_KEYS = ("linear_1.weight", "linear_1.bias", "linear_2.weight", "linear_2.bias")
_CHECKPOINT_PREFIXES = ("model.multi_modal_projector.", "multi_modal_projector.")
_LLAVA_ORIGINAL = {"model.mm_projector.0.": "linear_1.", "model.mm_projector.2.": "linear_2."}


def projector_module(model) -> torch.nn.Module:
    """`model.model.multi_modal_projector` of a Llava model (LoRA-injected or not)."""
    return model.model.multi_modal_projector


def save_projector(model, path: str | Path) -> Path:
    """Write the projector weights to `path` (a .safetensors file, or a folder: `<folder>/projector.safetensors`)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        path = path / PROJECTOR_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in projector_module(model).state_dict().items()}
    save_file(state, str(path), metadata={"format": "pt"})
    return path


def _read_safetensors(file: Path, keys_from: dict[str, str]) -> dict[str, torch.Tensor]:
    out = {}
    with safe_open(str(file), framework="pt") as f:
        for key in f.keys():
            for prefix, new in keys_from.items():
                if key.startswith(prefix):
                    out[new + key[len(prefix):]] = f.get_tensor(key)
    return out


def read_projector_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The projector state dict (linear_1/linear_2 keys) stored at `path` (file or stage-1 folder)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"projector {str(path)!r} does not exist; pass a {PROJECTOR_FILE} file or a stage-1 output folder")
    files: list[Path]
    mapping = {"": ""}
    if path.is_dir():
        index = path / "model.safetensors.index.json"
        if (path / PROJECTOR_FILE).is_file():
            files = [path / PROJECTOR_FILE]
        elif (path / "model.safetensors").is_file():
            files, mapping = [path / "model.safetensors"], dict.fromkeys(_CHECKPOINT_PREFIXES, "")
        elif index.is_file():
            weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
            shards = sorted({v for k, v in weight_map.items() if "multi_modal_projector" in k})
            files, mapping = [path / s for s in shards], dict.fromkeys(_CHECKPOINT_PREFIXES, "")
        elif (path / "mm_projector.bin").is_file():
            files, mapping = [path / "mm_projector.bin"], dict(_LLAVA_ORIGINAL)
        else:
            raise UserError(
                f"folder {str(path)!r} holds no {PROJECTOR_FILE}, model.safetensors or mm_projector.bin; "
                "pass the output folder of stage 1 (pretrain)"
            )
    else:
        files = [path]
        if path.suffix == ".bin":
            mapping = dict(_LLAVA_ORIGINAL)
    state: dict[str, torch.Tensor] = {}
    for file in files:
        if file.suffix == ".bin":
            raw = torch.load(file, map_location="cpu", weights_only=True)
            for key, value in raw.items():
                for prefix, new in mapping.items():
                    if key.startswith(prefix):
                        state[new + key[len(prefix):]] = value
        else:
            try:
                state.update(_read_safetensors(file, mapping))
            except Exception as err:  # safetensors raises its own error types
                raise UserError(f"{file}: cannot read safetensors ({err})") from None
    state = {k: v for k, v in state.items() if k in PROJECTOR_KEYS}
    missing = [k for k in PROJECTOR_KEYS if k not in state]
    if missing:
        raise UserError(f"{path}: no projector weights {missing}; expected keys {', '.join(PROJECTOR_KEYS)}")
    return state


def load_projector(model, path: str | Path) -> None:
    """Load projector weights from `path` into `model` (shapes must match the model's)."""
    state = read_projector_state(path)
    module = projector_module(model)
    own = module.state_dict()
    for key, value in state.items():
        if tuple(own[key].shape) != tuple(value.shape):
            raise UserError(
                f"{path}: projector {key} has shape {tuple(value.shape)} but this model needs "
                f"{tuple(own[key].shape)}; was stage 1 run with the same vision tower and LM?"
            )
    ref = next(iter(own.values()))
    module.load_state_dict({k: v.to(dtype=ref.dtype, device=ref.device) for k, v in state.items()})
