"""Scenes: seeded sampling, and drawing that puts every shape inside one ViT patch."""

from __future__ import annotations

import random

import numpy as np
import pytest

from lrm_llava.errors import UserError
from lrm_llava.world.backbones import cell_patch_size
from lrm_llava.world.scene import COLORS, KINDS, POSITIONS, SIZES, Obj, Scene, render, sample_scene

# (row, column) of each cell in the 3 x 3 grid of patches
GRID = {"top": (0, 1), "left": (1, 0), "center": (1, 1), "right": (1, 2), "bottom": (2, 1)}


@pytest.mark.parametrize("image_size", [96, 48])
@pytest.mark.parametrize("kind", KINDS)
def test_every_shape_lies_in_exactly_its_cells_patch(kind, image_size):
    patch = cell_patch_size(image_size)
    for pos in POSITIONS:
        scene = Scene("s", (Obj(kind=kind, color="red", size="large", pos=pos),))
        ink = (np.asarray(render(scene, image_size)) < 250).any(axis=-1)
        ys, xs = np.nonzero(ink)
        rows, cols = set((ys // patch).tolist()), set((xs // patch).tolist())
        assert (rows, cols) == ({GRID[pos][0]}, {GRID[pos][1]}), (kind, pos, rows, cols)


def test_cell_patch_size_needs_a_multiple_of_three():
    assert cell_patch_size(96) == 32
    with pytest.raises(UserError, match="multiple of 3"):
        cell_patch_size(64)


def test_scenes_are_seeded_and_well_formed():
    rng_a, rng_b = random.Random(7), random.Random(7)
    a = [sample_scene(rng_a, f"s{i}") for i in range(50)]
    b = [sample_scene(rng_b, f"s{i}") for i in range(50)]
    assert len({s.objects for s in a}) > 40
    assert a == b
    for scene in a:
        assert 1 <= len(scene.objects) <= 4
        assert len({o.pos for o in scene.objects}) == len(scene.objects)
        assert len({(o.color, o.kind) for o in scene.objects}) == len(scene.objects)
        assert all(o.kind in KINDS and o.color in COLORS and o.size in SIZES for o in scene.objects)
    assert render(a[0]).tobytes() == render(b[0]).tobytes()
