"""Inference: load a saved model and answer questions in batches (greedy, left padding).

    >>> from lrm_llava.infer import load_model, generate_batch, answer
    >>> model, processor = load_model("runs/shapeworld/finetune")
    >>> generate_batch(model, processor, [img, None], ["Welche Farbe hat der Kreis?", "2+2?"])
    ['Rot.', '4']
    >>> answer(model, processor, img, "这是什么？")

Prompts are built with the same template code as training (`lrm_llava.chat`), images are padded to
square with the processor's mean colour when the model was trained with `image_aspect_ratio: pad`
(read from its config), and batches are formed from prompts of similar length (fewer pad tokens),
then put back in input order. Greedy decoding with left padding gives the same answers as one
question at a time (tested).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from lrm_llava.chat.templates import build_generation_prompt, check_template, template_adds_special_tokens
from lrm_llava.errors import UserError
from lrm_llava.model.images import image_aspect_ratio, prepare_images
from lrm_llava.options import DTYPE_NAMES


def default_device() -> str:
    """"cuda" when a GPU is visible, else "cpu"."""
    return "cuda" if torch.cuda.is_available() else "cpu"


DTYPES = {name: getattr(torch, name) for name in DTYPE_NAMES}
"""Names accepted for `dtype` ("auto" or None: bfloat16 on a GPU that supports it, else float32)."""


def parse_dtype(name: str | None):
    """torch dtype for a name in DTYPES; None for "auto" or None."""
    if name in (None, "auto"):
        return None
    if name not in DTYPES:
        raise UserError(f"unknown dtype {name!r}; use auto, {', '.join(DTYPES)}")
    return DTYPES[name]


DEFAULT_TEMPLATE = "vicuna_v1"
"""Template of a model folder that does not say which it was trained with (LLaVA-1.5's)."""


def trained_template(model_dir: str | Path) -> str:
    """The chat template a model folder was trained with: the `template` of the `recipe.yaml` our
    trainer writes beside the weights, else vicuna_v1 (LLaVA-1.5 and converted folders)."""
    from lrm_llava.options import load_yaml

    recipe = Path(model_dir) / "recipe.yaml"
    if not recipe.is_file():
        return DEFAULT_TEMPLATE
    template = (load_yaml(recipe.read_text(encoding="utf-8")) or {}).get("template")
    return check_template(template) if template else DEFAULT_TEMPLATE


def load_model(path: str | Path, *, device: str | None = None, dtype=None):
    """(model, processor) from a saved folder with plain transformers, in eval mode.

    `dtype` (a torch dtype or its name: "float32", "bfloat16", "float16") defaults to bfloat16 on a
    GPU that supports it, float32 otherwise.
    """
    from transformers import AutoModelForImageTextToText, AutoProcessor

    folder = Path(path)
    if not folder.is_dir() or not (folder / "config.json").is_file():
        raise UserError(
            f"model folder {str(folder)!r} not found or has no config.json; pass a folder written by "
            "`lrm-llava train` (or any Hugging Face Llava folder)"
        )
    device = device or default_device()
    if isinstance(dtype, str):
        dtype = parse_dtype(dtype)
    if dtype is None:
        bf16 = device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        dtype = torch.bfloat16 if bf16 else torch.float32
    model = AutoModelForImageTextToText.from_pretrained(folder, dtype=dtype)
    processor = AutoProcessor.from_pretrained(folder)
    model.to(device).eval()
    return model, processor


def _open_image(image) -> Image.Image:
    if isinstance(image, Image.Image):
        return image
    path = Path(image)
    if not path.is_file():
        raise UserError(f"image {str(path)!r} not found")
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except OSError as err:
        raise UserError(f"image {str(path)!r} cannot be read ({err})") from None


@torch.inference_mode()
def _generate_one_batch(model, processor, prompts, images, *, template, max_new_tokens, aspect) -> list[str]:
    tokenizer = processor.tokenizer
    present = [img for img in images if img is not None]
    kwargs = {}
    if present:
        kwargs["images"] = prepare_images(processor, present, aspect)
    inputs = processor(
        text=list(prompts),
        padding=True,
        return_tensors="pt",
        add_special_tokens=template_adds_special_tokens(template),
        **kwargs,
    )
    inputs = inputs.to(model.device)
    if "pixel_values" in inputs:
        inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
    out = model.generate(
        **inputs,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        pad_token_id=tokenizer.pad_token_id,
    )
    new_tokens = out[:, inputs["input_ids"].shape[1]:]
    return [text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]


def generate_batch(
    model,
    processor,
    images: Sequence[Image.Image | str | Path | None],
    questions: Sequence[str],
    *,
    template: str = "vicuna_v1",
    max_new_tokens: int = 16,
    batch_size: int = 16,
    progress: bool = False,
) -> list[str]:
    """Greedy answers to `questions` (user texts without `<image>`), one per question, in order.

    `images[i]` is a PIL image (or a path) for an image question, or None for a text-only one;
    both kinds may share a batch.
    """
    check_template(template)
    if len(images) != len(questions):
        raise UserError(f"generate_batch: {len(images)} images but {len(questions)} questions; pass one image (or None) per question")
    if batch_size < 1:
        raise UserError(f"batch_size must be >= 1, got {batch_size}")
    if not questions:
        return []
    tokenizer = processor.tokenizer
    aspect = image_aspect_ratio(model.config)
    prompts = [
        build_generation_prompt(q, template, has_image=img is not None, tokenizer=tokenizer)
        for q, img in zip(questions, images)
    ]
    # Length before image expansion is enough to group similar prompts (every image adds the same).
    # One batched tokenizer call (the fast tokenizer encodes the list in one Rust call).
    lengths = [len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
    order = sorted(range(len(prompts)), key=lambda i: (-lengths[i], i))
    batches = [order[i: i + batch_size] for i in range(0, len(order), batch_size)]
    results: list[str | None] = [None] * len(prompts)
    old_side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # decoder-only generation continues from the right edge
    try:
        iterator = batches
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(batches, desc="generate", unit="batch")
        for batch in iterator:
            batch_images = [None if images[i] is None else _open_image(images[i]) for i in batch]
            answers = _generate_one_batch(
                model,
                processor,
                [prompts[i] for i in batch],
                batch_images,
                template=template,
                max_new_tokens=max_new_tokens,
                aspect=aspect,
            )
            for i, text in zip(batch, answers):
                results[i] = text
    finally:
        tokenizer.padding_side = old_side
    return [r if r is not None else "" for r in results]


def answer(model, processor, image, question: str, **kw) -> str:
    """The answer to one question about one image (or None for text-only)."""
    return generate_batch(model, processor, [image], [question], **kw)[0]
