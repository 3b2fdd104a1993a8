"""The multimodal pieces of a Llava forward pass, in one place for every training path.

transformers' `LlavaModel.forward` does three things before the language model runs: it selects the
vision tower's feature layer(s) (`vision_feature_layer`, `vision_feature_select_strategy`), projects
them (`multi_modal_projector`), and writes the projected features into the text embeddings at the
`<image>` token positions. The plain training path (`train.trainer.forward_and_loss`) lets
transformers do all of it; the fast path (`train.loss.fast_forward_and_loss`: packed rows, chunked
loss, cached vision features) needs the embeddings without the LM head, so it calls the pieces
below. They call transformers' own `LlavaModel` methods where those fit (`get_placeholder_mask`);
the one copy we keep, the feature selection, says why, and tests/model/test_model_forward.py checks
that every piece gives transformers' numbers bit for bit.

    from lrm_llava.model.forward import merge_image_features, project_features, vision_features
    feats = project_features(llava, vision_features(llava, pixel_values))  # (N, tokens, text_hidden)
    embeds = merge_image_features(llava, input_ids, feats)                  # (B, L, text_hidden)
"""

from __future__ import annotations

import torch


def unwrap_llava(model):
    """The `LlavaForConditionalGeneration` inside DDP / DeepSpeed / PEFT wrappers (LoRA layers stay in place)."""
    inner = getattr(model, "module", model)  # DDP / DeepSpeed engine
    for _ in range(3):  # PeftModel -> LoraModel -> Llava
        if hasattr(inner, "lm_head") and hasattr(getattr(inner, "model", None), "multi_modal_projector"):
            return inner
        inner = getattr(inner, "base_model", None) or getattr(inner, "model", None)
        if inner is None:
            break
    raise TypeError("expected a LlavaForConditionalGeneration (optionally in DDP/PEFT)")


def vision_features(llava, pixel_values: torch.Tensor) -> torch.Tensor:
    """What the projector reads: the vision tower's selected layer(s) (`vision_feature_layer`), CLS
    dropped for the "default" `vision_feature_select_strategy`, several layers concatenated.

    Our own copy of the selection inside transformers' `LlavaModel.get_image_features`, for two
    reasons. That method runs the projector right after the selection and returns only projected
    features, but the vision-feature cache (`train.vision_cache`) must store the features *before*
    the projector, which trains and changes every step. And it runs tower and projector in one
    autograd context: with activation checkpointing on, transformers' `enable_input_require_grads`
    hooks the vision tower's patch embeddings too, so a frozen tower would record its whole graph
    (every ViT activation kept) for a backward pass that changes nothing. Here a tower without a
    trainable parameter runs without autograd. Same tower call, indexing and concatenation as
    transformers, so the projected result is bit-identical to `get_image_features` (tests/model).
    """
    config = llava.config
    layer = config.vision_feature_layer
    tower = llava.model.vision_tower
    with torch.set_grad_enabled(torch.is_grad_enabled() and any(p.requires_grad for p in tower.parameters())):
        out = tower(pixel_values, output_hidden_states=True, return_dict=True)
        layers = [layer] if isinstance(layer, int) else list(layer)
        picked = [out.hidden_states[i] for i in layers]
        if config.vision_feature_select_strategy == "default":
            picked = [h[:, 1:] for h in picked]
        return picked[0] if len(picked) == 1 else torch.cat(picked, dim=-1)


def project_features(llava, features: torch.Tensor) -> torch.Tensor:
    """Projected image features (N, tokens, text_hidden) of `vision_features` output (computed now or
    served by the vision cache): the model's `multi_modal_projector`, as `get_image_features` applies it."""
    return llava.model.multi_modal_projector(features)


def merge_image_features(llava, input_ids: torch.Tensor, features: torch.Tensor | None) -> torch.Tensor:
    """Token embeddings of `input_ids` with the projected image `features` written into the `<image>`
    positions, in order (as `LlavaModel.forward` does; its `get_placeholder_mask` checks the counts)."""
    embeds = llava.model.get_input_embeddings()(input_ids)
    if features is None:
        return embeds
    flat = features.to(embeds.device, embeds.dtype).reshape(-1, embeds.shape[-1])
    mask = llava.model.get_placeholder_mask(input_ids, inputs_embeds=embeds, image_features=flat)
    return embeds.masked_scatter(mask, flat)


def projector_zero(model) -> torch.Tensor:
    """A zero that depends on every trainable projector parameter (`projector(0).sum() * 0`).

    Added to the loss of a batch without images, so that the projector still gets a (zero)
    gradient: DDP then sees every trainable parameter used every step (no unused-parameter search
    needed), and a stage-1 text-only batch, where only the projector trains, still has a loss with
    a gradient. A plain zero when nothing in the projector trains.
    """
    inner = getattr(model, "module", model)  # DDP
    projector = inner.model.multi_modal_projector
    params = [p for p in projector.parameters() if p.requires_grad]
    if not params:
        return torch.zeros((), device=next(inner.parameters()).device)
    dummy = torch.zeros(1, 1, projector.linear_1.in_features, device=params[0].device, dtype=params[0].dtype)
    return projector(dummy).sum() * 0.0
