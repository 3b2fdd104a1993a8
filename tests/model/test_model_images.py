"""Image padding: hand-checked pixels of expand_to_square, mean colour, preprocess_images."""

from __future__ import annotations

import pytest
from PIL import Image

from lrm_llava.errors import UserError
from lrm_llava.model import background_color, expand_to_square, preprocess_images, tiny_image_processor


def test_expand_to_square_centres_on_background():
    img = Image.new("RGB", (4, 2), (255, 0, 0))
    sq = expand_to_square(img, (10, 20, 30))
    assert sq.size == (4, 4)
    rows = [[sq.getpixel((x, y)) for x in range(4)] for y in range(4)]
    assert rows[0] == rows[3] == [(10, 20, 30)] * 4
    assert rows[1] == rows[2] == [(255, 0, 0)] * 4
    tall = expand_to_square(Image.new("L", (1, 3), 255), (0, 0, 0))
    assert tall.mode == "RGB" and [tall.getpixel((x, 0)) for x in range(3)] == [(0, 0, 0), (255, 255, 255), (0, 0, 0)]
    same = Image.new("RGB", (3, 3), (1, 2, 3))
    assert expand_to_square(same, (0, 0, 0)).tobytes() == same.tobytes()


def test_background_is_processor_mean_times_255():
    ip = tiny_image_processor(32)
    assert background_color(ip) == (122, 116, 104)  # CLIP mean, as LLaVA's expand2square default


def test_preprocess_images_pad_vs_resize():
    ip = tiny_image_processor(32)
    img = Image.new("RGB", (64, 32), (255, 255, 255))
    pad = preprocess_images(ip, [img], "pad")
    resize = preprocess_images(ip, [img], "resize")
    assert pad.shape == resize.shape == (1, 3, 32, 32)
    # padded: top rows are the mean colour, i.e. ~0 after normalisation; resize+crop: all white
    assert pad[0, :, 0, :].abs().max() < 0.02
    assert resize[0, :, 0, :].min() > 1.5
    with pytest.raises(UserError, match="image_aspect_ratio"):
        preprocess_images(ip, [img], "anyres")
