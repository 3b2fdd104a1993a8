"""Inference: `load_model` (the one model loader of every command), `resolve_device`,
`generate_batch`, `answer` (see `lrm_llava.infer.generate`); the evaluation adapters (`Request`,
`make_adapter`, `detect_adapter`: `llava`, `hf`, `openai`; see `lrm_llava.infer.adapters`)."""

from lrm_llava import lazy_exports

_EXPORTS = {
    "lrm_llava.infer.adapters": (
        "Request", "detect_adapter", "make_adapter",
    ),
    "lrm_llava.infer.generate": (
        "DEFAULT_TEMPLATE", "SAVED_DTYPE", "answer", "check_generation", "check_model_folder",
        "default_device", "generate_batch", "load_model", "resolve_device", "trained_template",
    ),
}
"""Module -> the public names it defines (imported on first use)."""

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
