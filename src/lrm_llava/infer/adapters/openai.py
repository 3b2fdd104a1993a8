"""The `openai` adapter: any OpenAI-compatible chat-completions endpoint (`vllm serve`, SGLang,
Ollama, OpenAI, ...), through the one HTTP client (`lrm_llava.httpclient`).

Each question is one request to `{api_base}/chat/completions`:

    {"model": NAME, "max_tokens": N, "temperature": 0,
     "messages": [{"role": "user", "content": [
         {"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}},
         {"type": "text", "text": PROMPT}]}]}

(no image part for a text-only question); the reply is `choices[0].message.content`. The server
applies the model's chat template. Requests run `concurrency` at a time (threads); 429 and 5xx
answers, timeouts and dropped connections are retried by the client (honouring Retry-After). Every
reply goes to the request cache (`cache.RequestCache`, keyed by model + prompt + image + generation
settings) as soon as it arrives, so a killed run, rerun, asks nothing twice.

The key: `OPENAI_API_KEY` is sent only to the official https://api.openai.com/v1; any other
`api_base` gets a key only from the variable named by `api_key_env` (the rule of translation,
`httpclient.api_key_source`). The key is never printed, logged or written (errors are redacted).
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image

from lrm_llava.errors import UserError
from lrm_llava.httpclient import (
    OPENAI_API_ROOT,
    OPENAI_KEY_VAR,
    HttpClient,
    HttpOptions,
    describe_value,
    key_for,
    safe_url,
)
from lrm_llava.infer.adapters.base import Request
from lrm_llava.infer.adapters.cache import RequestCache, request_key
from lrm_llava.infer.generate import _open_image, check_generation

_RESUME = "answered questions are kept (predictions and request cache); rerun the same command to resume"


def png_data_url(image: Image.Image) -> str:
    """`image` as a base64 PNG data URL (RGB, or as it is when L/RGB/RGBA)."""
    if image.mode not in ("RGB", "RGBA", "L"):
        image = image.convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class OpenAIAdapter:
    """A model served behind an OpenAI-compatible chat-completions API (see the module docstring)."""

    name = "openai"

    def __init__(self, *, api_base: str | None, model_name: str | None, api_key_env: str | None = None,
                 max_new_tokens: int = 16, concurrency: int = 8, cache: str | Path | None = None,
                 timeout: float = 120.0, retries: int = 5, backoff: float = 1.0, max_wait: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep):
        check_generation(max_new_tokens=max_new_tokens, batch_size=concurrency)
        if not api_base:
            raise UserError("--adapter openai needs --api-base URL: the root of the chat-completions API, e.g. "
                            "http://127.0.0.1:8000/v1 for `vllm serve` (docs/benchmarks.md)")
        if not model_name:
            raise UserError("--adapter openai needs --model-name NAME: the model's name on the server (what "
                            "GET {api-base}/models lists; for `vllm serve PATH`, PATH or --served-model-name)")
        self.model_name = model_name
        self.max_new_tokens = max_new_tokens
        self.concurrency = concurrency
        self.client = HttpClient(HttpOptions(api_base, timeout=timeout, retries=retries, backoff=backoff,
                                             max_wait=max_wait), "openai adapter", sleep=sleep, give_up_hint=_RESUME)
        self.api_base = self.client.base_url
        self.api_key_env = api_key_env or ""
        self._headers()  # refuse a missing or malformed key now, by its variable's name
        self.cache_path = cache
        self._cache: RequestCache | None = None

    @property
    def settings(self) -> dict[str, Any]:
        """The generation settings sent with every request (and part of its cache key)."""
        return {"max_new_tokens": self.max_new_tokens, "temperature": 0.0}

    def describe(self) -> dict[str, Any]:
        return {"adapter": self.name, "model_id": self.model_name, "generation": self.settings,
                "api_base": safe_url(self.api_base)}

    def _headers(self) -> tuple[dict[str, str], str]:
        key, hint = key_for(OPENAI_KEY_VAR, (OPENAI_API_ROOT,), self.api_base, self.api_key_env, "openai adapter",
                            "--api-key-env VAR")
        return ({"Authorization": f"Bearer {key}"} if key else {}), hint

    def cache(self) -> RequestCache | None:
        if self._cache is None and self.cache_path is not None:
            self._cache = RequestCache(self.cache_path)
        return self._cache

    def payload(self, prompt: str, image: Image.Image | None) -> dict[str, Any]:
        """The chat-completions request of one question."""
        content: list[dict[str, Any]] = []
        if image is not None:
            content.append({"type": "image_url", "image_url": {"url": png_data_url(image)}})
        content.append({"type": "text", "text": prompt})
        return {"model": self.model_name, "messages": [{"role": "user", "content": content}],
                "max_tokens": self.max_new_tokens, "temperature": 0.0}

    def _ask(self, prompt: str, image: Image.Image | None, key: str) -> str:
        headers, hint = self._headers()
        reply = self.client.post_json("/chat/completions", self.payload(prompt, image), headers, hint)
        message = self.client.field(reply, "choices", 0, "message", kind=dict)
        content = message.get("content")
        if content is None:
            content = ""  # a reply of no text (e.g. stopped at once) is an empty answer
        if not isinstance(content, str):
            raise self.client.fail(f"the reply of model {self.model_name!r} has {describe_value(content)} at "
                                   "choices[0].message.content instead of text")
        text = content.strip()
        cache = self.cache()
        if cache is not None:
            cache.put(key, self.model_name, text)
        return text

    def generate(self, requests: list[Request]) -> list[str]:
        if not requests:
            return []
        images = [None if r.image is None else _open_image(r.image) for r in requests]
        keys = [request_key(self.model_name, r.prompt, img, self.settings) for r, img in zip(requests, images)]
        cache = self.cache()
        results: list[str | None] = [cache.get(k) if cache is not None else None for k in keys]
        todo: dict[str, int] = {}  # one request per distinct key (a repeated question is asked once)
        for i, r in enumerate(results):
            if r is None:
                todo.setdefault(keys[i], i)
        if todo:
            answers: dict[str, str] = {}
            first_error: BaseException | None = None
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(todo))) as pool:
                futures = {k: pool.submit(self._ask, requests[i].prompt, images[i], k) for k, i in todo.items()}
                for k, future in futures.items():
                    try:
                        answers[k] = future.result()
                    except BaseException as err:  # the others finish (and are cached) before it is raised
                        first_error = first_error or err
            if first_error is not None:
                raise first_error
            results = [answers[k] if r is None else r for r, k in zip(results, keys)]
        return [r if r is not None else "" for r in results]
