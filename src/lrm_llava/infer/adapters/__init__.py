"""Evaluation adapters: one small model interface (`Request`s in, texts out) over every kind of model.

| adapter | model | prompt |
|---|---|---|
| `llava` | a folder of this project (`recipe.yaml` beside the weights), or a LLaVA folder without a chat template | the template it was trained with (`lrm_llava.infer.generate_batch`, unchanged) |
| `hf` | any folder that `AutoProcessor` + `AutoModelForImageTextToText` load (InstructBLIP through its own class) | the processor's chat template, or the family's documented format (`hf.QUIRKS`) |
| `openai` | any OpenAI-compatible chat-completions server (`vllm serve`, OpenAI, ...) | multi-part user content: the image as a base64 PNG data URL, then the text |

    >>> from lrm_llava.infer.adapters import Request, make_adapter
    >>> model = make_adapter(path="runs/model")                 # adapter picked from the folder
    >>> model = make_adapter("openai", model_name="llava-hf/llava-1.5-7b-hf", api_base="http://127.0.0.1:8000/v1")
    >>> model.generate([Request(image, "Gibt es einen Hund?", "de")])

`detect_adapter(path)` is the rule `--adapter auto` follows: `recipe.yaml` in the folder -> `llava`;
else a `model_type` in config.json -> `hf`, except a `llava` folder that ships no chat template
(converted LLaVA-1.5 folders, `save_model` output), which is asked in vicuna_v1 by `llava` as before.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lrm_llava.errors import UserError
from lrm_llava.infer.adapters.base import EvalModel, Request

ADAPTERS = ("llava", "hf", "openai")
"""Adapter names (`--adapter`; "auto" picks one from the model folder)."""

AUTO = "auto"

DEFAULT_CONCURRENCY = 8
"""Requests in flight at once to a server (`--concurrency`)."""

_MISSING_MODEL_FIX = ("Fix: pass the folder of a saved model (written by `lrm-llava train` or "
                      "save_pretrained), or evaluate a server with --adapter openai --api-base URL --model-name NAME")


def has_chat_template(folder: str | Path) -> bool:
    """Whether a model folder ships a chat template (chat_template.jinja / .json, or one inside
    processor_config.json / tokenizer_config.json)."""
    from lrm_llava.errors import DataError
    from lrm_llava.jsonio import read_json

    folder = Path(folder)
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    for name in ("processor_config.json", "tokenizer_config.json"):
        if (folder / name).is_file():
            try:
                data = read_json(folder / name, "model config")
            except DataError:
                continue
            if isinstance(data, dict) and data.get("chat_template"):
                return True
    return False


def check_model_path(path: str | Path | None) -> Path:
    """`path` as a Path when it is an existing folder; a `UserError` naming the fix otherwise."""
    if path is None or not str(path).strip():
        raise UserError(f"no --model given. {_MISSING_MODEL_FIX}")
    folder = Path(path)
    if not folder.exists():
        raise UserError(f"--model {str(path)!r}: no such folder. {_MISSING_MODEL_FIX}")
    if not folder.is_dir():
        raise UserError(f"--model {str(path)!r} is a file, not a model folder. {_MISSING_MODEL_FIX}")
    return folder


def detect_adapter(path: str | Path) -> str:
    """The adapter a model folder is evaluated with (the rule of `--adapter auto`, module docstring)."""
    from lrm_llava.infer.adapters.hf import model_type_of

    folder = check_model_path(path)
    if (folder / "recipe.yaml").is_file():
        return "llava"
    model_type = model_type_of(folder)  # UserError for a folder without a usable config.json
    if model_type == "llava" and not has_chat_template(folder):
        return "llava"
    return "hf"


def make_adapter(
    adapter: str = AUTO,
    *,
    path: str | Path | None = None,
    model_name: str | None = None,
    template: str | None = None,
    max_new_tokens: int = 16,
    batch_size: int = 16,
    device: str | None = None,
    dtype: str | None = None,
    api_base: str | None = None,
    api_key_env: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    request_cache: str | Path | None = None,
    progress: bool = False,
    model=None,
    processor=None,
) -> EvalModel:
    """The adapter `adapter` ("auto": `detect_adapter(path)`) for a model folder or a server.

    Nothing is loaded yet (the model loads at the first `generate`), so `describe()` is cheap.
    `model`/`processor` (already loaded, a LLaVA model) give a `llava` adapter."""
    kind = (adapter or AUTO).strip().lower()
    if kind not in (AUTO, *ADAPTERS):
        raise UserError(f"--adapter {adapter!r}: unknown; choose auto, {', '.join(ADAPTERS)}")
    if model is not None:
        if kind not in (AUTO, "llava"):
            raise UserError(f"a loaded model is evaluated with the llava adapter, not {kind!r}")
        from lrm_llava.infer.adapters.llava import LlavaAdapter

        return LlavaAdapter(path, template=template, max_new_tokens=max_new_tokens, batch_size=batch_size,
                            device=device, dtype=dtype, model=model, processor=processor, progress=progress,
                            model_id=str(path) if path is not None else "model")
    if kind == AUTO:
        if path is None and api_base:
            kind = "openai"
        else:
            kind = detect_adapter(path)
    if kind != "openai" and api_base:
        raise UserError(f"--api-base is for --adapter openai (a server); the {kind} adapter runs a local folder")
    if kind == "openai":
        from lrm_llava.infer.adapters.openai import OpenAIAdapter

        if template:
            raise UserError("--template is for the llava adapter; a server applies its own chat template")
        return OpenAIAdapter(api_base=api_base, model_name=model_name, api_key_env=api_key_env,
                             max_new_tokens=max_new_tokens, concurrency=concurrency, cache=request_cache)
    folder = check_model_path(path)
    if kind == "llava":
        from lrm_llava.infer.adapters.llava import LlavaAdapter

        return LlavaAdapter(folder, template=template, max_new_tokens=max_new_tokens, batch_size=batch_size,
                            device=device, dtype=dtype, model_id=str(path), progress=progress)
    from lrm_llava.infer.adapters.hf import HFAdapter

    if template:
        raise UserError("--template is for the llava adapter; the hf adapter asks in the processor's chat "
                        "template (or the family's documented prompt format)")
    return HFAdapter(folder, max_new_tokens=max_new_tokens, batch_size=batch_size, device=device, dtype=dtype,
                     model_id=str(path), progress=progress)


def add_adapter_flags(parser: argparse.ArgumentParser) -> None:
    """The flags that pick and configure the adapter (`eval`): --adapter, --api-base, --api-key-env,
    --concurrency, --request-cache. The model flags (--template --device --dtype --batch-size
    --max-new-tokens) come from `lrm_llava.options.add_model_flags`."""
    group = parser.add_argument_group("model adapter")
    group.add_argument("--adapter", default=AUTO, choices=[AUTO, *ADAPTERS],
                       help="how the model is run: llava (this project's folders), hf (any Hugging Face "
                       "image-text-to-text folder), openai (a chat-completions server); auto (default): "
                       "llava for a folder with recipe.yaml, else hf")
    group.add_argument("--api-base", default=None, metavar="URL",
                       help="root of an OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1 (--adapter openai; "
                       "the served model is named by --model-name)")
    group.add_argument("--api-key-env", default=None, metavar="VAR",
                       help="environment variable holding the server's API key (default: OPENAI_API_KEY, sent "
                       "only to the official api.openai.com; other servers get no key unless named here)")
    group.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                       help=f"requests in flight at once to the server (default: {DEFAULT_CONCURRENCY})")
    group.add_argument("--request-cache", default=None, metavar="FILE",
                       help="SQLite cache of server replies (default: <out>/request-cache.sqlite); a rerun "
                       "asks nothing twice")


__all__ = [
    "ADAPTERS",
    "AUTO",
    "DEFAULT_CONCURRENCY",
    "EvalModel",
    "Request",
    "add_adapter_flags",
    "check_model_path",
    "detect_adapter",
    "has_chat_template",
    "make_adapter",
]
