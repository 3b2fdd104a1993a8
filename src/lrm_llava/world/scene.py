"""ShapeWorld scenes: what is in a picture, how it is sampled, and how it is drawn.

A scene is 1-4 shapes (kind, colour, size) in distinct cells of a "plus" layout (left, right,
top, bottom, center) on a white canvas. Every scene comes from a seeded `random.Random`, so the
same seed gives the same scenes and the same PNG bytes.

    >>> import random
    >>> from lrm_llava.world.scene import sample_scene, render
    >>> scene = sample_scene(random.Random(0), "s0")
    >>> render(scene, 64).size
    (64, 64)

The world is deliberately small (5 kinds x 5 colours x 2 sizes x 5 cells) and cleanly drawn so a
tiny ViT (96 px, patch 32: one patch per cell of the 3 x 3 grid) can learn it in a minute on a CPU.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

KINDS: tuple[str, ...] = ("circle", "square", "triangle", "star", "heart")
"""Shape kinds, in a fixed order (the order also fixes option lists and seeds)."""
COLORS: tuple[str, ...] = ("red", "green", "blue", "yellow", "purple")
"""Colour names, in a fixed order."""
SIZES: tuple[str, ...] = ("small", "large")
"""Size classes."""
POSITIONS: tuple[str, ...] = ("left", "right", "top", "bottom", "center")
"""Cells of the plus-shaped layout; a scene holds at most one shape per cell."""

RGB: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (30, 70, 220),
    "yellow": (235, 200, 20),
    "purple": (140, 40, 180),
}
"""Saturated, well separated colours: a tiny vision tower should never confuse two of them."""

# Cell centres as fractions of the image side: the plus-shaped half of a 3 x 3 grid (centres at
# ~1/6, 1/2, ~5/6), so a ViT whose patch is a third of the image sees each shape in exactly one patch.
_CENTRES: dict[str, tuple[float, float]] = {
    "left": (0.17, 0.5),
    "right": (0.83, 0.5),
    "top": (0.5, 0.17),
    "bottom": (0.5, 0.83),
    "center": (0.5, 0.5),
}
# Shape diameter as a fraction of the image side (at 96 px: 30 px and 18 px, inside a 32 px cell).
_DIAMETER: dict[str, float] = {"large": 0.31, "small": 0.19}
# Mild preferences so that POPE's "popular" split (most frequent objects) differs from "random".
_KIND_WEIGHTS = (5, 4, 4, 3, 3)
_COLOR_WEIGHTS = (5, 4, 4, 3, 3)


@dataclass(frozen=True)
class Obj:
    """One shape in a scene."""

    kind: str
    """One of KINDS."""
    color: str
    """One of COLORS."""
    size: str
    """One of SIZES."""
    pos: str
    """One of POSITIONS (the cell it sits in)."""


@dataclass(frozen=True)
class Scene:
    """A picture: an id and its shapes, listed in reading order (POSITIONS order)."""

    scene_id: str
    """File stem of the rendered PNG."""
    objects: tuple[Obj, ...]
    """1-4 shapes; (colour, kind) pairs are unique within a scene, cells are distinct."""

    def count(self, kind: str | None = None) -> int:
        """Number of shapes of `kind` (all shapes when None)."""
        return sum(1 for o in self.objects if kind is None or o.kind == kind)

    def at(self, pos: str) -> Obj | None:
        """The shape in cell `pos`, if any."""
        return next((o for o in self.objects if o.pos == pos), None)

    def has(self, kind: str, color: str | None = None) -> bool:
        """Whether a shape of `kind` (and `color`, when given) is present."""
        return any(o.kind == kind and (color is None or o.color == color) for o in self.objects)


def sample_scene(rng: random.Random, scene_id: str, *, min_objects: int = 1, max_objects: int = 4) -> Scene:
    """Draw one scene: n shapes in n distinct cells with unique (colour, kind) pairs.

    Kinds are drawn with replacement (so counting questions have answers above one) but a
    colour never repeats with the same kind, which keeps "the red circle" a definite description.
    """
    n = rng.randint(min_objects, max_objects)
    cells = rng.sample(POSITIONS, n)
    used: set[tuple[str, str]] = set()
    objects = []
    for cell in cells:
        while True:
            kind = rng.choices(KINDS, weights=_KIND_WEIGHTS)[0]
            color = rng.choices(COLORS, weights=_COLOR_WEIGHTS)[0]
            if (color, kind) not in used:
                break
        used.add((color, kind))
        objects.append(Obj(kind=kind, color=color, size=rng.choice(SIZES), pos=cell))
    objects.sort(key=lambda o: POSITIONS.index(o.pos))
    return Scene(scene_id=scene_id, objects=tuple(objects))


def _polygon(kind: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    if kind == "square":
        s = r * 0.9
        return [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]
    if kind == "triangle":
        return [(cx, cy - r), (cx + r, cy + r * 0.85), (cx - r, cy + r * 0.85)]
    if kind == "star":
        pts = []
        for i in range(10):
            rad = r if i % 2 == 0 else r * 0.45
            ang = -math.pi / 2 + i * math.pi / 5
            pts.append((cx + rad * math.cos(ang), cy + rad * math.sin(ang)))
        return pts
    raise ValueError(kind)


def _draw_heart(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, fill: tuple[int, int, int]) -> None:
    # Two lobes and a downward point: recognisable even at 12 px.
    lobe = r * 0.52
    for dx in (-lobe, lobe):
        draw.ellipse([cx + dx - lobe, cy - r * 0.55 - lobe + lobe * 0.5, cx + dx + lobe,
                      cy - r * 0.55 + lobe + lobe * 0.5], fill=fill)
    draw.polygon([(cx - 2 * lobe, cy - r * 0.2), (cx + 2 * lobe, cy - r * 0.2), (cx, cy + r)], fill=fill)


def render(scene: Scene, image_size: int = 96) -> Image.Image:
    """Draw `scene` on a white `image_size` x `image_size` RGB canvas (deterministic)."""
    img = Image.new("RGB", (image_size, image_size), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for o in scene.objects:
        fx, fy = _CENTRES[o.pos]
        cx, cy = fx * image_size, fy * image_size
        r = _DIAMETER[o.size] * image_size / 2
        fill = RGB[o.color]
        if o.kind == "circle":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        elif o.kind == "heart":
            _draw_heart(draw, cx, cy, r, fill)
        else:
            draw.polygon(_polygon(o.kind, cx, cy, r), fill=fill)
    return img
