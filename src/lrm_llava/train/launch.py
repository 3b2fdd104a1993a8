"""The shipped accelerate / DeepSpeed configs and the launch commands that use them.

    from lrm_llava.train import config_path
    config_path("deepspeed_zero3")            # .../configs/accelerate/deepspeed_zero3.yaml
    config_path("deepspeed/zero3")            # .../configs/deepspeed/zero3.json

Multi-GPU runs go through the standard launchers (see docs/training.md):

    accelerate launch --config_file $(python -c "from lrm_llava.train import config_path; print(config_path('deepspeed_zero2'))") \
        -m lrm_llava.cli train --recipe paper-vicuna13b --stage pretrain ...
    torchrun --nproc_per_node 8 -m lrm_llava.cli train --recipe paper-vicuna13b --stage pretrain ...
"""

from __future__ import annotations

from pathlib import Path

from lrm_llava.errors import UserError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
"""Folder of the shipped configs (package data)."""


def list_configs() -> list[str]:
    """Names accepted by `config_path`: accelerate configs by stem, DeepSpeed ones as deepspeed/<stem>."""
    acc = sorted(p.stem for p in (CONFIG_DIR / "accelerate").glob("*.yaml"))
    ds = sorted(f"deepspeed/{p.stem}" for p in (CONFIG_DIR / "deepspeed").glob("*.json"))
    return acc + ds


def config_path(name: str) -> Path:
    """Path of a shipped config: "single_gpu", "multi_gpu", "fsdp", "deepspeed_zero2",
    "deepspeed_zero3" (accelerate YAML) or "deepspeed/zero2", "deepspeed/zero3" (DeepSpeed JSON)."""
    if name.startswith("deepspeed/"):
        path = CONFIG_DIR / "deepspeed" / f"{name.split('/', 1)[1].removesuffix('.json')}.json"
    else:
        path = CONFIG_DIR / "accelerate" / f"{name.removesuffix('.yaml')}.yaml"
    if not path.is_file():
        raise UserError(f"no shipped config {name!r}; available: {', '.join(list_configs())}")
    return path


def launch_command(args: list[str], *, accelerate_config: str | None = None, nproc: int = 8) -> str:
    """The shell line that runs `lrm-llava train <args>` on `nproc` GPUs of one machine."""
    tail = " ".join(["-m", "lrm_llava.cli", "train", *args])
    if accelerate_config:
        return f"accelerate launch --config_file {config_path(accelerate_config)} --num_processes {nproc} {tail}"
    return f"torchrun --nproc_per_node {nproc} {tail}"
