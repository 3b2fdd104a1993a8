"""Shared test fixtures: tiny tokenizer, tiny Llava model, a saved tiny model folder, test images.

Everything is built offline from configs in well under a second (the BPE tokenizer is trained once
per session). Other test packages reuse these fixtures:

    def test_something(tiny_model, tiny_image):
        model, processor = tiny_model
"""

from __future__ import annotations

import pytest
import torch
from PIL import Image

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_tokenizer_session():
    from lrm_llava.model import default_tokenizer

    return default_tokenizer()


@pytest.fixture
def tiny_tokenizer(tiny_tokenizer_session):
    """A fresh small byte-level BPE tokenizer (multilingual, <unk>/<s>/</s>/<pad>), no <image> yet."""
    import copy

    return copy.deepcopy(tiny_tokenizer_session)


@pytest.fixture
def tiny_model():
    """(model, processor): a random tiny Llava in eval mode (32 px images, 16 image tokens)."""
    from lrm_llava.model import build_tiny_model

    model, processor = build_tiny_model(seed=0)
    model.eval()
    return model, processor


@pytest.fixture(scope="session")
def saved_tiny_model(tmp_path_factory):
    """Path of a tiny Llava saved with `save_model` (loads with plain transformers). Read-only."""
    from lrm_llava.model import build_tiny_model, save_model

    model, processor = build_tiny_model(seed=1)
    return save_model(model, processor, tmp_path_factory.mktemp("tiny_llava") / "model")


@pytest.fixture
def tiny_image():
    """A non-square 40x24 RGB image: a red left half and a blue right half."""
    img = Image.new("RGB", (40, 24), (255, 0, 0))
    img.paste((0, 0, 255), (20, 0, 40, 24))
    return img
