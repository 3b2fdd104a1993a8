"""LLaVA data: reader + validation, root-confined image loading, dataset, collator, grouped sampler.

    from lrm_llava.data import read_samples, LlavaDataset, LlavaCollator, LengthGroupedSampler
    samples = read_samples(["train.jsonl"])
    ds = LlavaDataset(samples, processor, template="vicuna_v1", image_root="images/")
    loader = DataLoader(ds, batch_size=4, collate_fn=LlavaCollator(tokenizer.pad_token_id),
                        sampler=LengthGroupedSampler(ds.lengths, 4, has_image=ds.has_image))
"""

from lrm_llava import lazy_exports

_EXPORTS = {
    "lrm_llava.data.collator": (
        "LlavaCollator", "collate",
    ),
    "lrm_llava.data.dataset": (
        "BAD_IMAGE_MODES", "DataStats", "LlavaDataset", "count_image_tokens",
    ),
    "lrm_llava.data.images": (
        "DEFAULT_MAX_IMAGE_PIXELS", "UnsafePathError", "check_image", "load_image", "resolve_image_path",
    ),
    "lrm_llava.data.reader": (
        "ROLE_ALIASES", "LlavaFile", "LlavaSamples", "UniqueIds", "normalise_sample", "read_samples",
        "validate_sample", "write_samples",
    ),
    "lrm_llava.data.sampler": (
        "LengthGroupedSampler", "grouped_order",
    ),
}
"""Module -> the public names it defines (imported on first use)."""

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
