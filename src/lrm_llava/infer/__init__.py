"""Inference: `load_model` (the one model loader of every command), `resolve_device`,
`generate_batch`, `answer` (see `lrm_llava.infer.generate`); the evaluation adapters (`Request`,
`make_adapter`, `detect_adapter`: `llava`, `hf`, `openai`; see `lrm_llava.infer.adapters`)."""

from lrm_llava.infer.adapters import Request, detect_adapter, make_adapter
from lrm_llava.infer.generate import (
    DEFAULT_TEMPLATE,
    SAVED_DTYPE,
    answer,
    check_generation,
    check_model_folder,
    default_device,
    generate_batch,
    load_model,
    resolve_device,
    trained_template,
)

__all__ = [
    "DEFAULT_TEMPLATE",
    "SAVED_DTYPE",
    "Request",
    "answer",
    "check_generation",
    "check_model_folder",
    "default_device",
    "detect_adapter",
    "generate_batch",
    "load_model",
    "make_adapter",
    "resolve_device",
    "trained_template",
]
