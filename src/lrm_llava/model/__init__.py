"""Model building, stage freezing, projector and checkpoint I/O, and the multimodal forward pieces
(`model.forward`) for LRM-LLaVA.

    >>> from lrm_llava.model import build_tiny_model, build_model, apply_stage, save_model
    >>> model, processor = build_tiny_model()
    >>> apply_stage(model, "pretrain")
    >>> save_model(model, processor, "out/")
"""

from lrm_llava import lazy_exports

_EXPORTS = {
    "lrm_llava.model.build": (
        "VISION_TYPES", "assemble_llava", "build_model", "build_tiny_model", "load_language_model",
        "load_vision_tower", "tiny_image_processor",
    ),
    "lrm_llava.model.forward": (
        "merge_image_features", "project_features", "projector_zero", "unwrap_llava", "vision_features",
    ),
    "lrm_llava.model.images": (
        "ASPECT_RATIOS", "background_color", "expand_to_square", "image_aspect_ratio", "num_image_tokens",
        "prepare_images", "preprocess_images",
    ),
    "lrm_llava.model.projector": (
        "PROJECTOR_FILE", "load_projector", "read_projector_state", "save_projector",
    ),
    "lrm_llava.model.save": (
        "save_model",
    ),
    "lrm_llava.model.stages": (
        "STAGES", "LoraOptions", "StageSpec", "apply_stage", "get_stage", "has_lora", "merge_lora",
        "trainable_parameter_names",
    ),
    "lrm_llava.model.tokenizer": (
        "default_corpus", "default_tokenizer", "train_bpe_tokenizer",
    ),
}
"""Module -> the public names it defines (imported on first use)."""

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
