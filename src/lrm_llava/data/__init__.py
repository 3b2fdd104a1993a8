"""LLaVA data: reader + validation, root-confined image loading, dataset, collator, grouped sampler.

    from lrm_llava.data import read_samples, LlavaDataset, LlavaCollator, LengthGroupedSampler
    samples = read_samples(["train.jsonl"])
    ds = LlavaDataset(samples, processor, template="vicuna_v1", image_root="images/")
    loader = DataLoader(ds, batch_size=4, collate_fn=LlavaCollator(tokenizer.pad_token_id),
                        sampler=LengthGroupedSampler(ds.lengths, 4, has_image=ds.has_image))
"""

from lrm_llava.data.collator import LlavaCollator, collate
from lrm_llava.data.dataset import BAD_IMAGE_MODES, DataStats, LlavaDataset, count_image_tokens
from lrm_llava.data.images import (
    DEFAULT_MAX_IMAGE_PIXELS,
    UnsafePathError,
    check_image,
    load_image,
    resolve_image_path,
)
from lrm_llava.data.reader import (
    ROLE_ALIASES,
    LlavaFile,
    LlavaSamples,
    UniqueIds,
    normalise_sample,
    read_samples,
    validate_sample,
    write_samples,
)
from lrm_llava.data.sampler import LengthGroupedSampler, grouped_order

__all__ = [
    "BAD_IMAGE_MODES",
    "DEFAULT_MAX_IMAGE_PIXELS",
    "ROLE_ALIASES",
    "UniqueIds",
    "normalise_sample",
    "DataStats",
    "LengthGroupedSampler",
    "LlavaCollator",
    "LlavaDataset",
    "LlavaFile",
    "LlavaSamples",
    "UnsafePathError",
    "check_image",
    "collate",
    "count_image_tokens",
    "grouped_order",
    "load_image",
    "read_samples",
    "resolve_image_path",
    "validate_sample",
    "write_samples",
]
