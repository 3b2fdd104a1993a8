"""ShapeWorld: the offline multilingual testbed.

A procedural world of coloured shapes, rendered with Pillow; its meaning is kept as frames and
realized grammatically in all ten languages. From it come the English LLaVA sources, the exact
reference translation table, the four benchmarks in their native formats, and two tiny backbones
(a CLIP vision tower and an English-centric LLaMA LM) trained here. See docs/shapeworld.md.

    lrm-llava world build --out runs/demo/world
    lrm-llava world backbones --world runs/demo/world --out runs/demo/backbones

Names are imported lazily so that `lrm-llava --help` does not load torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "BackboneConfig": "backbones", "train_backbones": "backbones",
    "WorldConfig": "export", "build_world": "export",
    "realize": "realize",
    "Obj": "scene", "Scene": "scene", "render": "scene", "sample_scene": "scene",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"lrm_llava.world.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'lrm_llava.world' has no attribute {name!r}")
