"""Inference: load a saved model and answer questions in batches (greedy, left padding).

    >>> from lrm_llava.infer import load_model, generate_batch, answer
    >>> model, processor = load_model("runs/shapeworld/finetune")
    >>> generate_batch(model, processor, [img, None], ["Welche Farbe hat der Kreis?", "2+2?"])
    ['Rot.', '4']
    >>> answer(model, processor, img, "这是什么？")

`load_model` is the one loader of every command that runs a model (`chat`, `eval`, `analyze gap`,
`analyze reliance`): it resolves the device (`resolve_device`) and the dtype, and turns a broken
model folder (no or malformed config.json, truncated weights, not a Llava) into a `UserError`
that names the problem and the fix. The returned model is the plain Hugging Face Llava, so
callers reach its parts directly (`model.model.get_image_features`, `model.model.language_model`).

Prompts are built with the same template code as training (`lrm_llava.chat`), images are padded to
square with the processor's mean colour when the model was trained with `image_aspect_ratio: pad`
(read from its config), and batches are formed from prompts of similar length (fewer pad tokens),
then put back in input order. Greedy decoding with left padding gives the same answers as one
question at a time (tested).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from lrm_llava.chat.templates import build_generation_prompt, check_template, template_adds_special_tokens
from lrm_llava.errors import DataError, UserError
from lrm_llava.model.images import image_aspect_ratio, prepare_images
from lrm_llava.options import DTYPE_NAMES


def default_device() -> str:
    """"cuda" when a GPU is visible, else "cpu"."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def local_rank_device() -> str:
    """The device of one process among several on a machine (torchrun): "cuda:<LOCAL_RANK>" when
    GPUs are visible (modulo their count), else "cpu"."""
    if not torch.cuda.is_available():
        return "cpu"
    local = int(os.environ.get("LOCAL_RANK", "0") or 0)
    return f"cuda:{local % torch.cuda.device_count()}"


DEVICE_HELP = "use auto (a GPU when there is one, else the CPU), cpu, cuda, cuda:N or mps"


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The torch device a model runs on: None, "" or "auto" pick a GPU when there is one, else the
    CPU; anything else must name a device this machine has (`UserError` naming the fix if not).

    The one place `--device` is checked, for every command that loads a model."""
    if isinstance(device, torch.device):
        name = str(device)
    else:
        name = (device or "auto").strip()
    if name == "auto":
        return torch.device(default_device())
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise UserError(f"unknown device {name!r} (--device); {DEVICE_HELP}") from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"device {name!r} (--device) asked for, but torch sees no CUDA GPU on this machine "
                            "(no GPU, no driver, or a CPU-only torch build). Fix: pass --device cpu, or "
                            "--device auto to use a GPU only when there is one.")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise UserError(f"device {name!r} (--device): this machine has {count} CUDA GPU(s), "
                            f"numbered 0 to {count - 1}. Fix: pass --device cuda:0 ... cuda:{count - 1}.")
        return dev
    if dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise UserError(f"device {name!r} (--device) asked for, but torch sees no Apple MPS device. "
                            "Fix: pass --device cpu or --device auto.")
        return dev
    raise UserError(f"device {name!r} (--device) is not supported for inference here; {DEVICE_HELP}")


DTYPES = {name: getattr(torch, name) for name in DTYPE_NAMES}
"""Names accepted for `dtype` ("auto" or None: bfloat16 on a GPU that supports it, else float32)."""

SAVED_DTYPE = "saved"
"""`dtype` name for "as stored in the folder's config.json" (transformers' own "auto")."""


def parse_dtype(name: str | None):
    """torch dtype for a name in DTYPES; None for "auto" or None."""
    if name in (None, "auto"):
        return None
    if name not in DTYPES:
        raise UserError(f"unknown dtype {name!r}; use auto, {SAVED_DTYPE}, {', '.join(DTYPES)}")
    return DTYPES[name]


def _positive_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def check_generation(*, max_new_tokens: int, batch_size: int = 1) -> None:
    """Refuse generation settings that cannot give an answer (`UserError` naming the flag)."""
    if not _positive_int(max_new_tokens):
        raise UserError(f"--max-new-tokens {max_new_tokens}: must be at least 1 (0 or less generates no answer). "
                        "Fix: pass --max-new-tokens 1 or more (short answers need about 16).")
    if not _positive_int(batch_size):
        raise UserError(f"--batch-size {batch_size}: must be at least 1. Fix: pass --batch-size 1 or more.")


DEFAULT_TEMPLATE = "vicuna_v1"
"""Template of a model folder that does not say which it was trained with (LLaVA-1.5's)."""


def trained_template(model_dir: str | Path, template: str | None = None) -> str:
    """The chat template to ask a model folder in: `template` when given (checked), else the one
    the folder was trained with (the `template` of the `recipe.yaml` our trainer writes beside the
    weights), else vicuna_v1 (LLaVA-1.5 and converted folders)."""
    from lrm_llava.options import load_yaml

    if template:
        return check_template(template)
    recipe = Path(model_dir) / "recipe.yaml"
    if not recipe.is_file():
        return DEFAULT_TEMPLATE
    template = (load_yaml(recipe.read_text(encoding="utf-8")) or {}).get("template")
    return check_template(template) if template else DEFAULT_TEMPLATE


_REFOLD_HOW = ("save the folder again (`lrm-llava train` writes complete folders), or copy it anew "
               "from where it was made.")
_REFOLD = f"Fix: {_REFOLD_HOW}"
"""The fix of a model folder that is broken (truncated, half copied, hand-edited)."""


def check_model_folder(path: str | Path) -> Path:
    """`path` as a Path when it looks like a loadable model folder; `UserError` otherwise.

    Cheap checks before transformers reads anything: the folder and its config.json exist,
    config.json is a JSON object with a `model_type`, and every weight file (`model*.safetensors`)
    has a complete safetensors header covering its data (a truncated copy fails here)."""
    from lrm_llava.jsonio import read_json

    folder = Path(path)
    if not folder.is_dir() or not (folder / "config.json").is_file():
        raise UserError(
            f"model folder {str(folder)!r} not found or has no config.json. Fix: pass a folder written by "
            "`lrm-llava train` (or any Hugging Face Llava folder)"
        )
    try:
        config = read_json(folder / "config.json", "model config")
    except DataError as err:
        raise UserError(f"model folder {str(folder)!r}: config.json is broken: {err} Or {_REFOLD_HOW}") from None
    if not isinstance(config, dict) or not config.get("model_type"):
        raise UserError(f"model folder {str(folder)!r}: config.json is not a model config (no \"model_type\"). "
                        f"{_REFOLD}")
    for weights in sorted(folder.glob("model*.safetensors")):
        _check_safetensors(weights)
    return folder


def _check_safetensors(path: Path) -> None:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt"):
            pass
    except (SafetensorError, OSError) as err:
        raise UserError(f"model weights {str(path)!r} cannot be read ({err}): the file is truncated or "
                        f"corrupt (an interrupted copy or download?). {_REFOLD}") from None


def load_model(path: str | Path, *, device: str | torch.device | None = None, dtype=None):
    """(model, processor) from a saved folder with plain transformers, in eval mode on `device`.

    `device`: see `resolve_device` (None or "auto": a GPU when there is one). `dtype` (a torch dtype
    or its name: "float32", "bfloat16", "float16") defaults to bfloat16 on a GPU that supports it,
    float32 otherwise; "saved" keeps the dtype stored in the folder's config.json. Every problem
    with the folder or the device is a `UserError` that names it and the fix.
    """
    from safetensors import SafetensorError
    from transformers import AutoModelForImageTextToText, AutoProcessor

    folder = check_model_folder(path)
    dev = resolve_device(device)
    if dtype == SAVED_DTYPE:
        dtype = "auto"  # transformers' name for the dtype in config.json
    else:
        if isinstance(dtype, str):
            dtype = parse_dtype(dtype)
        if dtype is None:
            bf16 = dev.type == "cuda" and torch.cuda.is_bf16_supported()
            dtype = torch.bfloat16 if bf16 else torch.float32
    try:
        model = AutoModelForImageTextToText.from_pretrained(folder, dtype=dtype)
        processor = AutoProcessor.from_pretrained(folder)
    except (OSError, ValueError, KeyError, SafetensorError) as err:
        raise UserError(f"model folder {str(folder)!r} cannot be loaded as a Llava model + processor "
                        f"({type(err).__name__}: {' '.join(str(err).split())}). {_REFOLD}") from None
    if not hasattr(model, "model") or not hasattr(model.model, "multi_modal_projector"):
        raise UserError(f"model folder {str(folder)!r}: {type(model).__name__} has no multi_modal_projector; "
                        "pass a Llava model folder")
    if getattr(processor, "image_processor", None) is None or getattr(processor, "tokenizer", None) is None:
        raise UserError(f"model folder {str(folder)!r}: the processor lacks an image processor or a tokenizer. "
                        "Fix: save a LlavaProcessor into the folder (`lrm-llava train` does).")
    model.to(dev).eval()
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
    check_generation(max_new_tokens=max_new_tokens, batch_size=batch_size)
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
