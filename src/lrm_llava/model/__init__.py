"""Model building, stage freezing, projector and checkpoint I/O, and the multimodal forward pieces
(`model.forward`) for LRM-LLaVA.

    >>> from lrm_llava.model import build_tiny_model, build_model, apply_stage, save_model
    >>> model, processor = build_tiny_model()
    >>> apply_stage(model, "pretrain")
    >>> save_model(model, processor, "out/")
"""

from lrm_llava.model.build import (
    VISION_TYPES,
    assemble_llava,
    build_model,
    build_tiny_model,
    load_language_model,
    load_vision_tower,
    tiny_image_processor,
)
from lrm_llava.model.forward import (
    merge_image_features,
    project_features,
    projector_zero,
    unwrap_llava,
    vision_features,
)
from lrm_llava.model.images import (
    ASPECT_RATIOS,
    background_color,
    expand_to_square,
    image_aspect_ratio,
    num_image_tokens,
    prepare_images,
    preprocess_images,
)
from lrm_llava.model.projector import PROJECTOR_FILE, load_projector, read_projector_state, save_projector
from lrm_llava.model.save import save_model
from lrm_llava.model.stages import (
    STAGES,
    LoraOptions,
    StageSpec,
    apply_stage,
    get_stage,
    has_lora,
    merge_lora,
    trainable_parameter_names,
)
from lrm_llava.model.tokenizer import default_corpus, default_tokenizer, train_bpe_tokenizer

__all__ = [
    "ASPECT_RATIOS",
    "PROJECTOR_FILE",
    "STAGES",
    "VISION_TYPES",
    "LoraOptions",
    "StageSpec",
    "apply_stage",
    "assemble_llava",
    "background_color",
    "build_model",
    "build_tiny_model",
    "default_corpus",
    "default_tokenizer",
    "expand_to_square",
    "get_stage",
    "has_lora",
    "image_aspect_ratio",
    "load_language_model",
    "load_projector",
    "load_vision_tower",
    "merge_image_features",
    "merge_lora",
    "num_image_tokens",
    "prepare_images",
    "preprocess_images",
    "project_features",
    "projector_zero",
    "read_projector_state",
    "save_model",
    "save_projector",
    "tiny_image_processor",
    "train_bpe_tokenizer",
    "trainable_parameter_names",
    "unwrap_llava",
    "vision_features",
]
