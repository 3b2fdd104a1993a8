"""Inference: `load_model`, `generate_batch`, `answer` (see `lrm_llava.infer.generate`)."""

from lrm_llava.infer.generate import answer, default_device, generate_batch, load_model

__all__ = ["answer", "default_device", "generate_batch", "load_model"]
