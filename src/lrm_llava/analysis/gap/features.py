"""Features of the gap analysis: what a model makes of each image and each text, mean-pooled.

`visual_features` is the projector's output per image (images read root-confined and preprocessed
as in training), `text_features` the language model's representation of each text alone,
`extract_features` loads a model folder with `lrm_llava.infer.load_model` (the one loader) and
returns both for a list of `GapSample`s. torch and tqdm are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lrm_llava.errors import UserError

TEXT_LAYERS = ("last", "embed")
"""Text representations: the LM's last hidden state, or its input embeddings."""


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def visual_features(
    model: Any, processor: Any, images: Sequence[str], image_root: str | Path, batch_size: int = 16,
    desc: str = "visual",
) -> np.ndarray:
    """Projector output for each image, mean-pooled over its visual tokens: (len(images), text_hidden).

    Images are read root-confined (`lrm_llava.paths.confined`) and preprocessed exactly as in
    training (`image_aspect_ratio` of the model config, LLaVA's "pad" by default: squared with the
    processor's mean colour).
    """
    import torch
    from tqdm import tqdm

    from lrm_llava.data.images import load_image
    from lrm_llava.model.images import image_aspect_ratio, preprocess_images
    from lrm_llava.paths import confined

    cfg = model.config
    aspect = image_aspect_ratio(cfg)  # "pad" (LLaVA-1.5) unless the model was trained otherwise
    device, dtype = next(model.parameters()).device, next(model.parameters()).dtype
    out = []
    with torch.no_grad():
        for batch in tqdm(_batches(images, batch_size), desc=desc, unit="batch"):
            pil = [load_image(confined(image_root, p, where=f"image {p}", what="image"), where=f"image {p}")
                   for p in batch]
            pixels = preprocess_images(processor, pil, aspect)
            feats = model.model.get_image_features(
                pixel_values=pixels.to(device=device, dtype=dtype),
                vision_feature_layer=cfg.vision_feature_layer,
                vision_feature_select_strategy=cfg.vision_feature_select_strategy,
            ).pooler_output
            out.append(torch.stack([f.float().mean(0) for f in feats]).cpu().numpy())
    return np.concatenate(out).astype(np.float32)


def text_features(
    model: Any, processor: Any, texts: Sequence[str], layer: str = "last", batch_size: int = 16,
    max_length: int = 512, desc: str = "text",
) -> np.ndarray:
    """The language model's representation of each text, mean-pooled over its tokens.

    `layer="last"`: the LM's last hidden state (after its final norm) on the text alone;
    `layer="embed"`: the input-embedding layer's output (the space the projector writes into).
    Special tokens (BOS/EOS) are fed to the LM, as in training, but left out of the mean: an LLM's
    BOS state is an attention sink with an outsized norm that would otherwise dominate every mean.
    """
    import torch
    from tqdm import tqdm

    if layer not in TEXT_LAYERS:
        raise UserError(f"unknown text layer {layer!r}; use one of {', '.join(TEXT_LAYERS)}")
    tok = processor.tokenizer
    tok.padding_side = "right"  # positions of real tokens then do not depend on the batch
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
    device = next(model.parameters()).device
    lm = model.model.language_model
    out = []
    with torch.no_grad():
        for batch in tqdm(_batches(texts, batch_size), desc=desc, unit="batch"):
            enc = [
                tok(t, truncation=True, max_length=max_length, return_special_tokens_mask=True) for t in batch
            ]
            width = max(len(e["input_ids"]) for e in enc)
            ids = torch.full((len(enc), width), pad_id, dtype=torch.long)
            attn = torch.zeros((len(enc), width), dtype=torch.long)
            pool = torch.zeros((len(enc), width), dtype=torch.float32)
            for i, e in enumerate(enc):
                k = len(e["input_ids"])
                ids[i, :k] = torch.tensor(e["input_ids"])
                attn[i, :k] = 1
                special = torch.tensor(e.get("special_tokens_mask") or [0] * k, dtype=torch.bool)
                keep = ~special if (~special).any() else torch.ones(k, dtype=torch.bool)
                pool[i, :k] = keep.float()
            ids, attn = ids.to(device), attn.to(device)
            if layer == "embed":
                hidden = model.get_input_embeddings()(ids)
            else:
                hidden = lm(input_ids=ids, attention_mask=attn).last_hidden_state
            w = pool.to(device)[..., None]
            out.append(((hidden.float() * w).sum(1) / w.sum(1)).cpu().numpy())
    return np.concatenate(out).astype(np.float32)


def extract_features(
    model_path: str | Path, samples: Sequence[Any], image_root: str | Path, *, text_layer: str = "last",
    batch_size: int = 16, device: str | None = None, dtype: str | None = "saved", name: str = "model",
) -> tuple[np.ndarray, np.ndarray]:
    """(visual, text) features of `samples` (`GapSample`s), one row each, from the model folder.

    The model is loaded with `lrm_llava.infer.load_model` (`device`: None/"auto" = a GPU when there
    is one; `dtype`: "saved" = as stored in the folder) and freed afterwards. Each image is encoded
    once even when several samples (languages) share it.
    """
    import torch

    from lrm_llava.infer import load_model

    model, processor = load_model(model_path, device=device, dtype=dtype)
    unique = list(dict.fromkeys(s.image for s in samples))
    vis = visual_features(model, processor, unique, image_root, batch_size, desc=f"{name} visual")
    row = {p: i for i, p in enumerate(unique)}
    visual = vis[[row[s.image] for s in samples]]
    text = text_features(model, processor, [s.text for s in samples], text_layer, batch_size, desc=f"{name} text")
    on_cuda = model.device.type == "cuda"
    del model
    if on_cuda:
        torch.cuda.empty_cache()
    return visual, text
