"""The `hf` adapter: any local folder that `AutoProcessor` + `AutoModelForImageTextToText` load
(and the families that need their own class), asked the way the family is documented.

Prompts go through the processor's chat template with an image content part:
`[{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]`, rendered with
`add_generation_prompt=True`. Families without a chat template use their documented prompt format
(InstructBLIP: the question itself; PaliGemma: the prefix `answer {lang} {question}`). Generation is
greedy with left padding, in batches of prompts of similar length that either all carry an image
or none do, then put back in input order: batched replies equal one-by-one replies (tested for
LLaVA-1.5, LLaVA-NeXT, InstructBLIP, PaliGemma, Gemma 3 and Idefics3).

Every family quirk lives in `QUIRKS`, one named entry per model type:

| model type | quirk |
|---|---|
| `gemma3`, `idefics3`, `smolvlm` | the chat template writes BOS itself: tokenize without adding a second (`bos_in_template`); images as one list per prompt (`nested_images`) |
| `paligemma` | no chat template: prefix prompt `answer {lang} {question}` on one line, the processor writes `<image>`s + BOS and the closing newline (`prompt="prefix"`); image required; the processor's `labels` dropped |
| `instructblip`, `blip-2` | no chat template: the question itself (`prompt="plain"`); own model class where the Auto class lacks it; image required; InstructBLIP's Q-Former text stays right-padded (`right_padded`: a BERT with absolute positions) |
| `qwen2_vl`, `qwen2_5_vl` | the processor must return `mm_token_type_ids` (`mm_token_type_ids`; these families need torchvision) |

Any template that starts with the tokenizer's BOS is detected as well, whatever the family.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lrm_llava.errors import UserError
from lrm_llava.infer.adapters.base import Request
from lrm_llava.infer.generate import (
    SAVED_DTYPE,
    _open_image,
    check_generation,
    check_model_folder,
    parse_dtype,
    resolve_device,
)


@dataclass(frozen=True)
class Quirks:
    """How one model family departs from the plain chat-template path."""

    prompt: str = "chat"
    """"chat": the processor's chat template; "plain": the question as is (InstructBLIP);
    "prefix": PaliGemma's `answer {lang} {question}` prefix prompt."""
    model_class: str | None = None
    """transformers class to load the weights with when `AutoModelForImageTextToText` may not."""
    bos_in_template: bool = False
    """The chat template starts with BOS already: the tokenizer must not add a second."""
    nested_images: bool = False
    """The processor wants one list of images per prompt (`[[img], [img]]`)."""
    mm_token_type_ids: bool = False
    """The model needs `mm_token_type_ids` from the processor (asked with `return_mm_token_type_ids`)."""
    needs_image: bool = False
    """The family cannot answer a text-only question."""
    drop_inputs: tuple[str, ...] = ()
    """Processor outputs that must not reach `generate` (PaliGemma returns training `labels`)."""
    right_padded: tuple[str, ...] = ()
    """Processor outputs, with their attention mask after them, that must stay right-padded while the
    prompt is left-padded: InstructBLIP's Q-Former is a BERT with absolute positions."""


QUIRKS: dict[str, Quirks] = {
    "gemma3": Quirks(bos_in_template=True, nested_images=True),
    "idefics3": Quirks(bos_in_template=True, nested_images=True),
    "smolvlm": Quirks(bos_in_template=True, nested_images=True),
    "paligemma": Quirks(prompt="prefix", bos_in_template=True, needs_image=True, drop_inputs=("labels",)),
    "instructblip": Quirks(prompt="plain", model_class="InstructBlipForConditionalGeneration", needs_image=True,
                           right_padded=("qformer_input_ids", "qformer_attention_mask")),
    "blip-2": Quirks(prompt="plain", model_class="Blip2ForConditionalGeneration", needs_image=True),
    "qwen2_vl": Quirks(mm_token_type_ids=True),
    "qwen2_5_vl": Quirks(mm_token_type_ids=True),
}
"""Every family quirk, by `model_type` (config.json); a type not listed uses `Quirks()`."""

PROMPT_FORMATS = {"chat": "chat_template", "plain": "question", "prefix": "paligemma_prefix"}
"""How the prompt is written, as recorded in the generation settings."""

_TORCHVISION_FIX = ("this model family's image processor needs torchvision. Fix: install the torchvision "
                    "build that matches your torch (pip install torchvision), or evaluate the model through "
                    "a server (`vllm serve` + `--adapter openai`, docs/benchmarks.md)")


def model_type_of(path: str | Path) -> str:
    """`model_type` of a model folder's config.json (checked by `check_model_folder`)."""
    from lrm_llava.jsonio import read_json

    folder = check_model_folder(path)
    return str(read_json(folder / "config.json", "model config")["model_type"])


def _dtype_for(dtype, dev: torch.device):
    if dtype == SAVED_DTYPE:
        return "auto"
    if isinstance(dtype, str):
        dtype = parse_dtype(dtype)
    if dtype is None:
        bf16 = dev.type == "cuda" and torch.cuda.is_bf16_supported()
        dtype = torch.bfloat16 if bf16 else torch.float32
    return dtype


def load_hf_model(path: str | Path, *, device: str | torch.device | None = None, dtype=None):
    """(model, processor, model_type) of a Hugging Face image-text-to-text folder, in eval mode.

    Problems with the folder (no config, unknown family, torchvision missing) are `UserError`s that
    name the fix."""
    import transformers
    from safetensors import SafetensorError

    folder = check_model_folder(path)
    model_type = model_type_of(folder)
    quirks = QUIRKS.get(model_type, Quirks())
    dev = resolve_device(device)
    torch_dtype = _dtype_for(dtype, dev)
    try:
        processor = transformers.AutoProcessor.from_pretrained(folder)
        cls = getattr(transformers, quirks.model_class, None) if quirks.model_class else None
        cls = cls or transformers.AutoModelForImageTextToText
        model = cls.from_pretrained(folder, dtype=torch_dtype)
    except ImportError as err:
        if "torchvision" in str(err).lower():
            raise UserError(f"model folder {str(folder)!r} ({model_type}): {_TORCHVISION_FIX}") from None
        raise UserError(f"model folder {str(folder)!r} ({model_type}) needs a package that is not installed: "
                        f"{' '.join(str(err).split())}") from None
    except (OSError, ValueError, KeyError, TypeError, SafetensorError) as err:
        raise UserError(
            f"model folder {str(folder)!r} (model_type {model_type!r}) cannot be loaded as an image-text-to-text "
            f"model + processor ({type(err).__name__}: {' '.join(str(err).split())[:400]}). Fix: pass a folder "
            "that AutoProcessor and AutoModelForImageTextToText load (a vision-language model saved with "
            "save_pretrained), or --adapter llava for a LLaVA folder of this project") from None
    if getattr(processor, "tokenizer", None) is None or getattr(processor, "image_processor", None) is None:
        raise UserError(f"model folder {str(folder)!r}: its processor ({type(processor).__name__}) lacks a tokenizer "
                        "or an image processor; save the model's full processor into the folder "
                        "(processor.save_pretrained)")
    model.to(dev).eval()
    return model, processor, model_type


class HFAdapter:
    """A Hugging Face vision-language folder, asked through its processor (see the module docstring)."""

    name = "hf"

    def __init__(self, path: str | Path, *, max_new_tokens: int = 16, batch_size: int = 16,
                 device: str | None = None, dtype: str | None = None, model_id: str | None = None,
                 progress: bool = False):
        check_generation(max_new_tokens=max_new_tokens, batch_size=batch_size)
        self.path = path
        self.model_type = model_type_of(path)
        self.quirks = QUIRKS.get(self.model_type, Quirks())
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.device = device
        self.dtype = dtype
        self.model_id = model_id or str(path)
        self.progress = progress
        self.model = self.processor = None

    def load(self) -> HFAdapter:
        """Load the model now (else at the first `generate`)."""
        if self.model is None:
            self.model, self.processor, _ = load_hf_model(self.path, device=self.device, dtype=self.dtype)
            self._check_prompt_format()
        return self

    def describe(self) -> dict[str, Any]:
        return {"adapter": self.name, "model_id": self.model_id,
                "generation": {"model_type": self.model_type, "prompt": PROMPT_FORMATS[self.quirks.prompt],
                               "max_new_tokens": self.max_new_tokens, "dtype": self.dtype or "auto"}}

    # ------------------------------------------------------------------------------ prompts
    def _chat_template(self) -> str | None:
        return getattr(self.processor, "chat_template", None) or \
            getattr(self.processor.tokenizer, "chat_template", None)

    def _check_prompt_format(self) -> None:
        if self.quirks.prompt == "chat" and not self._chat_template():
            raise UserError(
                f"model folder {str(self.path)!r} ({self.model_type}) has no chat template, and no documented "
                "prompt format of its family is known here. Fix: save the model's chat template into the "
                "folder (chat_template.jinja, as processor.save_pretrained writes it), or, for a LLaVA folder, "
                "--adapter llava --template vicuna_v1")

    def render(self, request: Request) -> tuple[str, bool]:
        """(the text handed to the processor, whether the tokenizer adds special tokens to it)."""
        tokenizer = self.processor.tokenizer
        has_image = request.image is not None
        if self.quirks.prompt == "plain":
            return request.prompt, True
        if self.quirks.prompt == "prefix":
            # PaliGemma: "<image>...<bos>answer en question\n"; the processor writes BOS and the newline.
            line = " ".join(request.prompt.split())
            return f"{self.processor.image_token}answer {request.language} {line}", False
        content = ([{"type": "image"}] if has_image else []) + [{"type": "text", "text": request.prompt}]
        messages = [{"role": "user", "content": content}]
        apply = self.processor.apply_chat_template if getattr(self.processor, "chat_template", None) else \
            tokenizer.apply_chat_template
        text = apply(messages, add_generation_prompt=True, tokenize=False)
        bos = getattr(tokenizer, "bos_token", None)
        has_bos = self.quirks.bos_in_template or bool(bos and text.startswith(bos))
        return text, not has_bos

    # --------------------------------------------------------------------------- generation
    def generate(self, requests: list[Request]) -> list[str]:
        if not requests:
            return []
        self.load()
        if self.quirks.needs_image and any(r.image is None for r in requests):
            raise UserError(f"{self.model_type} models answer questions about an image only; "
                            "this benchmark has text-only questions")
        rendered = [self.render(r) for r in requests]
        tokenizer = self.processor.tokenizer
        lengths = [len(ids) for ids in tokenizer([t for t, _ in rendered], add_special_tokens=False)["input_ids"]]
        order = sorted(range(len(requests)), key=lambda i: (requests[i].image is None, -lengths[i], i))
        batches: list[list[int]] = []
        for i in order:  # homogeneous batches: all with an image, or none
            last = batches[-1] if batches else None
            if last and len(last) < self.batch_size and \
                    (requests[last[0]].image is None) == (requests[i].image is None):
                last.append(i)
            else:
                batches.append([i])
        results: list[str] = [""] * len(requests)
        old_side = tokenizer.padding_side
        tokenizer.padding_side = "left"
        try:
            iterator = batches
            if self.progress:
                from tqdm.auto import tqdm

                iterator = tqdm(batches, desc="generate", unit="batch")
            for batch in iterator:
                texts = [rendered[i][0] for i in batch]
                images = [None if requests[i].image is None else _open_image(requests[i].image) for i in batch]
                for i, text in zip(batch, self._generate_one_batch(texts, images, rendered[batch[0]][1])):
                    results[i] = text
        finally:
            tokenizer.padding_side = old_side
        return results

    @torch.inference_mode()
    def _generate_one_batch(self, texts: list[str], images: list, add_special_tokens: bool) -> list[str]:
        tokenizer = self.processor.tokenizer
        kwargs: dict[str, Any] = {"text": texts, "padding": True, "return_tensors": "pt",
                                  "add_special_tokens": add_special_tokens}
        if images[0] is not None:
            kwargs["images"] = [[img] for img in images] if self.quirks.nested_images else images
        if self.quirks.mm_token_type_ids:
            kwargs["return_mm_token_type_ids"] = True
        inputs = self.processor(**kwargs)
        for key in self.quirks.drop_inputs:
            inputs.pop(key, None)
        if self.quirks.right_padded and self.quirks.right_padded[0] in inputs:
            ids, mask = self.quirks.right_padded
            inputs[ids], inputs[mask] = _right_pad(inputs[ids], inputs[mask])
        inputs = inputs.to(self.model.device)
        for key, value in inputs.items():
            if torch.is_tensor(value) and value.is_floating_point():
                inputs[key] = value.to(self.model.dtype)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False, num_beams=1,
                                  pad_token_id=pad)
        prompt = inputs["input_ids"]
        if out.shape[1] >= prompt.shape[1] and torch.equal(out[:, : prompt.shape[1]], prompt):
            out = out[:, prompt.shape[1]:]  # decoder-only models return the prompt too
        return [text.strip() for text in tokenizer.batch_decode(out, skip_special_tokens=True)]


def _right_pad(ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`ids` with each row's kept tokens (mask 1) moved to the left, padding after them."""
    ids2, mask2 = torch.zeros_like(ids), torch.zeros_like(mask)
    pad = ids[mask == 0]
    if pad.numel():
        ids2.fill_(int(pad[0]))
    for row in range(ids.shape[0]):
        kept = ids[row][mask[row].bool()]
        ids2[row, : kept.numel()] = kept
        mask2[row, : kept.numel()] = 1
    return ids2, mask2
