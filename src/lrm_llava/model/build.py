"""Build `LlavaForConditionalGeneration` + `LlavaProcessor` from local folders or tiny configs.

The model *is* transformers' Llava: a CLIP/SigLIP vision tower (features of layer -2), a two-layer
GELU MLP projector (LLaVA-1.5's `mlp2x_gelu`) and any causal LM. Pretrained weights of the vision
folder and the LM folder are placed into `model.model.vision_tower`, `model.model.language_model`
and `model.lm_head` as loaded (no copy through a random init), the projector is fresh (or loaded
from a stage-1 result), and `<image>` is added to the tokenizer as a special token.

    >>> from lrm_llava.model import build_model, build_tiny_model, save_model
    >>> model, processor = build_model("backbones/clip-vit-l-336", "backbones/vicuna-13b")
    >>> model, processor = build_tiny_model()            # offline, random, < 2 s
    >>> save_model(model, processor, "runs/x/checkpoint")  # loads with AutoModelForImageTextToText

Vision strategy: CLIP has a CLS token, which LLaVA drops ("default" strategy, processor counts
patches + 1 - 1); SigLIP has none, so it uses the "full" strategy (every patch token kept) rather
than "default", which would silently drop a real patch.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from PIL import Image
from transformers import (
    AddedToken,
    AutoImageProcessor,
    AutoModelForCausalLM,
    AutoTokenizer,
    CLIPVisionConfig,
    CLIPVisionModel,
    LlamaConfig,
    LlamaForCausalLM,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
    SiglipVisionModel,
)
from transformers.models.llava.modeling_llava import LlavaMultiModalProjector
from transformers.utils import logging as hf_logging

from lrm_llava.chat.templates import IMAGE_TOKEN
from lrm_llava.errors import UserError
from lrm_llava.model.images import check_aspect_ratio
from lrm_llava.model.projector import load_projector
from lrm_llava.model.tokenizer import default_tokenizer

VISION_TYPES = {
    "clip": "clip",
    "clip_vision_model": "clip",
    "siglip": "siglip",
    "siglip_vision_model": "siglip",
}
"""Supported `model_type`s of a vision folder and the family each belongs to."""

VISION_FEATURE_LAYER = -2
"""LLaVA-1.5 takes the hidden states of the second-to-last vision layer."""


def _read_config(folder: Path, what: str) -> dict:
    if not folder.exists():
        raise UserError(f"{what} folder {str(folder)!r} does not exist; pass a local model folder")
    if not folder.is_dir():
        raise UserError(f"{what} path {str(folder)!r} is not a folder; pass a local model folder")
    cfg = folder / "config.json"
    if not cfg.is_file():
        raise UserError(f"{what} folder {str(folder)!r} has no config.json; is it a Hugging Face model folder?")
    try:
        return json.loads(cfg.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise UserError(f"{cfg}: not valid JSON ({err})") from None


def load_vision_tower(vision: str | Path, *, dtype=None):
    """(vision model, image processor, family) from a CLIP/SigLIP folder (full or vision-only)."""
    folder = Path(vision)
    model_type = _read_config(folder, "vision").get("model_type")
    family = VISION_TYPES.get(model_type)
    if family is None:
        raise UserError(
            f"vision folder {str(folder)!r} has model_type {model_type!r}; supported: "
            f"{', '.join(VISION_TYPES)} (a CLIPModel, CLIPVisionModel, SiglipModel or SiglipVisionModel folder)"
        )
    if not (folder / "preprocessor_config.json").is_file():
        raise UserError(
            f"vision folder {str(folder)!r} has no preprocessor_config.json; save the image processor "
            "next to the weights (image_processor.save_pretrained(folder))"
        )
    cls = CLIPVisionModel if family == "clip" else SiglipVisionModel
    # The vision-only classes load the vision half of a full CLIP/SigLIP checkpoint directly (its
    # `vision_model.*` keys match); the text tower is never materialised.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the unused text tower of a full CLIP is expected, not news
    try:
        vision_model = cls.from_pretrained(folder, dtype=dtype)
    finally:
        hf_logging.set_verbosity(verbosity)
    try:
        image_processor = AutoImageProcessor.from_pretrained(folder)
    except ImportError:
        # transformers 5.17 without torchvision has no auto class; the Pillow processors do the same job
        import transformers

        pil_class = "CLIPImageProcessorPil" if family == "clip" else "SiglipImageProcessorPil"
        image_processor = getattr(transformers, pil_class).from_pretrained(folder)
    return vision_model, image_processor, family


def load_language_model(llm: str | Path, *, dtype=None):
    """(causal LM, tokenizer) from a local LM folder."""
    folder = Path(llm)
    _read_config(folder, "language model")
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, use_fast=True)
    except (OSError, ValueError) as err:
        raise UserError(f"language model folder {str(folder)!r}: cannot load its tokenizer ({err})") from None
    try:
        lm = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    except ValueError as err:
        raise UserError(f"language model folder {str(folder)!r} is not a causal LM transformers knows ({err})") from None
    return lm, tokenizer


def _add_image_and_pad_tokens(tokenizer) -> None:
    if IMAGE_TOKEN not in tokenizer.get_vocab():
        tokenizer.add_tokens([AddedToken(IMAGE_TOKEN, special=True, normalized=False)], special_tokens=True)
    if tokenizer.pad_token is None:
        # LLaVA pads Vicuna with unk; LMs without unk (LLaMA-3, Qwen) get a dedicated pad token.
        if tokenizer.unk_token is not None:
            tokenizer.pad_token = tokenizer.unk_token
        else:
            tokenizer.add_special_tokens({"pad_token": "<pad>"})


def _processed_size(image_processor) -> tuple[int, int]:
    pixel_values = image_processor(images=[Image.new("RGB", (40, 30))], return_tensors="pt")["pixel_values"]
    return int(pixel_values.shape[-2]), int(pixel_values.shape[-1])


def assemble_llava(
    vision_model,
    image_processor,
    family: str,
    lm,
    tokenizer,
    *,
    image_aspect_ratio: str = "pad",
) -> tuple[LlavaForConditionalGeneration, LlavaProcessor]:
    """Put a loaded vision tower and causal LM into one Llava model; add `<image>`; build the processor.

    The submodules are moved in (not copied), so their weights are exactly the pretrained ones.
    """
    check_aspect_ratio(image_aspect_ratio)
    vcfg = vision_model.config
    image_size, patch = int(vcfg.image_size), int(vcfg.patch_size)
    if _processed_size(image_processor) != (image_size, image_size):
        raise UserError(
            f"the image processor produces {_processed_size(image_processor)} images but the vision tower "
            f"expects {image_size}x{image_size}; fix preprocessor_config.json (size / crop_size)"
        )
    _add_image_and_pad_tokens(tokenizer)
    strategy = "default" if family == "clip" else "full"
    additional = 1 if family == "clip" else 0
    config = LlavaConfig(
        vision_config=vcfg.to_dict(),
        text_config=lm.config.to_dict(),
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        image_seq_length=(image_size // patch) ** 2,
        projector_hidden_act="gelu",
        vision_feature_layer=VISION_FEATURE_LAYER,
        vision_feature_select_strategy=strategy,
        image_aspect_ratio=image_aspect_ratio,
    )
    dtype = next(lm.parameters()).dtype
    with torch.device("meta"):
        model = LlavaForConditionalGeneration(config)
    model.model.vision_tower = vision_model
    model.model.language_model = getattr(lm, lm.base_model_prefix)
    model.lm_head = lm.get_output_embeddings()
    model.model.multi_modal_projector = LlavaMultiModalProjector(config).to(dtype)
    if config.tie_word_embeddings:
        model.lm_head.weight = model.model.language_model.get_input_embeddings().weight
    # Keep the sub-configs identical to the modules they describe.
    model.config.vision_config = vision_model.config
    model.config.text_config = model.model.language_model.config
    if len(tokenizer) != model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer))
    for key in ("pad_token_id", "eos_token_id", "bos_token_id"):
        value = getattr(tokenizer, key)
        setattr(model.generation_config, key, value)
        setattr(model.config.text_config, key, value)
    model.config.pad_token_id = tokenizer.pad_token_id
    stray = [n for n, p in model.named_parameters() if p.is_meta] + [n for n, b in model.named_buffers() if b.is_meta]
    if stray:  # pragma: no cover - a transformers change would land here
        raise RuntimeError(f"assemble_llava left parameters uninitialised: {stray[:5]}")
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=patch,
        vision_feature_select_strategy=strategy,
        num_additional_image_tokens=additional,
        image_token=IMAGE_TOKEN,
    )
    return model, processor


def build_model(
    vision: str | Path,
    llm: str | Path,
    *,
    projector: str | Path | None = None,
    image_aspect_ratio: str = "pad",
    dtype=None,
) -> tuple[LlavaForConditionalGeneration, LlavaProcessor]:
    """Compose a Llava model from a local vision folder and a local causal-LM folder.

    `projector`: a `projector.safetensors` file or a stage-1 output folder (holding one, or a full
    Llava checkpoint) whose projector weights start this model (stage 2 after stage 1).
    """
    check_aspect_ratio(image_aspect_ratio)
    if projector is not None and not Path(projector).exists():
        raise UserError(f"projector {str(projector)!r} does not exist; pass the stage-1 output folder or its projector.safetensors")
    vision_model, image_processor, family = load_vision_tower(vision, dtype=dtype)
    lm, tokenizer = load_language_model(llm, dtype=dtype)
    model, processor = assemble_llava(
        vision_model, image_processor, family, lm, tokenizer, image_aspect_ratio=image_aspect_ratio
    )
    if projector is not None:
        load_projector(model, projector)
    return model, processor


def tiny_image_processor(image_size: int = 32):
    """A CLIP image processor for `image_size` square inputs (PIL backend: no torchvision needed)."""
    try:
        from transformers import CLIPImageProcessorPil as cls
    except ImportError:  # pragma: no cover - older transformers
        from transformers import CLIPImageProcessor as cls
    return cls(size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size})


def build_tiny_model(
    *,
    seed: int = 0,
    image_size: int = 32,
    patch_size: int = 8,
    text_hidden: int = 64,
    vision_hidden: int = 32,
    layers: int = 2,
    tokenizer=None,
    image_aspect_ratio: str = "pad",
) -> tuple[LlavaForConditionalGeneration, LlavaProcessor]:
    """A randomly initialised tiny Llava (CLIP-style vision tower + LLaMA LM) for tests and demos.

    `tokenizer` defaults to a small byte-level BPE trained on a built-in multilingual corpus (all
    ten registry languages). Same seed, same weights. Fully offline.
    """
    if image_size % patch_size:
        raise UserError(f"image_size {image_size} must be a multiple of patch_size {patch_size}")
    # A copy: adding <image>/<pad> must not change the caller's tokenizer.
    tokenizer = default_tokenizer() if tokenizer is None else copy.deepcopy(tokenizer)
    _add_image_and_pad_tokens(tokenizer)  # before sizing the embeddings: no resize needed
    torch.manual_seed(seed)
    vision_config = CLIPVisionConfig(
        hidden_size=vision_hidden,
        intermediate_size=2 * vision_hidden,
        projection_dim=vision_hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        image_size=image_size,
        patch_size=patch_size,
    )
    text_config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=text_hidden,
        intermediate_size=2 * text_hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max(2048, int(min(tokenizer.model_max_length, 1 << 20))),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    vision_model = CLIPVisionModel(vision_config)
    lm = LlamaForCausalLM(text_config)
    return assemble_llava(
        vision_model,
        tiny_image_processor(image_size),
        "clip",
        lm,
        tokenizer,
        image_aspect_ratio=image_aspect_ratio,
    )
