"""The multimodal forward pieces (`lrm_llava.model.forward`) compute exactly what transformers'
Llava forward computes: same selected features, same projection, same merged embeddings."""

from __future__ import annotations

import pytest
import torch

from lrm_llava.model import apply_stage, build_tiny_model
from lrm_llava.model.forward import (
    merge_image_features,
    project_features,
    projector_zero,
    unwrap_llava,
    vision_features,
)


@pytest.fixture(scope="module")
def tiny():
    model, processor = build_tiny_model(seed=5)
    model.eval()
    return model, processor


def _batch(model, processor, images=2):
    gen = torch.Generator().manual_seed(1)
    n = model.config.image_seq_length
    ids = torch.randint(10, 500, (images, n + 12), generator=gen)
    ids[:, 0] = processor.tokenizer.bos_token_id
    ids[:, 3:3 + n] = model.config.image_token_id
    size = model.config.vision_config.image_size
    return ids, torch.randn(images, 3, size, size, generator=gen)


def _theirs(model, pixels):
    """transformers' `get_image_features`: (N, tokens, hidden), selection and projector in one call."""
    out = model.model.get_image_features(pixel_values=pixels)
    projected = getattr(out, "pooler_output", out)
    return projected if isinstance(projected, torch.Tensor) else torch.stack(list(projected))


def test_selection_plus_projector_is_transformers_get_image_features(tiny):
    model, processor = tiny
    _, pixels = _batch(model, processor)
    with torch.no_grad():
        ours = project_features(model, vision_features(model, pixels))
        theirs = _theirs(model, pixels)
    n_patches = (model.config.vision_config.image_size // model.config.vision_config.patch_size) ** 2
    assert ours.shape == (2, n_patches, model.config.text_config.hidden_size)  # CLS dropped ("default")
    assert torch.equal(ours, theirs)


def test_a_frozen_tower_records_no_graph_even_with_activation_checkpointing():
    model, processor = build_tiny_model(seed=5)
    apply_stage(model, "finetune")  # vision tower frozen
    model.train()
    enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
    enable()  # hooks every input embedding, the vision tower's patch embedding included
    _, pixels = _batch(model, processor)
    feats = vision_features(model, pixels)
    assert not feats.requires_grad and feats.grad_fn is None
    assert project_features(model, feats).requires_grad  # the projector still trains


def test_merged_embeddings_give_the_transformers_logits_bit_for_bit(tiny):
    model, processor = tiny
    ids, pixels = _batch(model, processor)
    with torch.no_grad():
        reference = model(input_ids=ids, pixel_values=pixels).logits
        embeds = merge_image_features(model, ids, project_features(model, vision_features(model, pixels)))
        hidden = model.model.language_model(inputs_embeds=embeds).last_hidden_state
        assert torch.equal(model.lm_head(hidden), reference)
        text_only = merge_image_features(model, ids[:, 20:], None)
        assert torch.equal(text_only, model.get_input_embeddings()(ids[:, 20:]))
        with pytest.raises(ValueError, match="tokens"):  # 2 images' tokens, 1 image's features
            merge_image_features(model, ids, project_features(model, vision_features(model, pixels[:1])))


def test_projector_zero_is_zero_with_a_gradient_for_the_projector():
    model, _ = build_tiny_model(seed=6)
    apply_stage(model, "pretrain")
    zero = projector_zero(model)
    assert zero.item() == 0.0 and zero.requires_grad
    zero.backward()
    grads = [p.grad for p in model.model.multi_modal_projector.parameters()]
    assert all(g is not None and not g.any() for g in grads)
    for p in model.parameters():
        p.requires_grad_(False)
    assert not projector_zero(model).requires_grad  # nothing trains: a plain zero


def test_unwrap_llava_sees_through_wrappers(tiny):
    model, _ = tiny

    class Wrapper(torch.nn.Module):  # DDP keeps the model in `.module`
        def __init__(self, inner):
            super().__init__()
            self.module = inner

    assert unwrap_llava(Wrapper(model)) is model and unwrap_llava(model) is model
    with pytest.raises(TypeError):
        unwrap_llava(torch.nn.Linear(2, 2))
