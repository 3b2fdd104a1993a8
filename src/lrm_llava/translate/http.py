"""The HTTP translation backends: Google Cloud Translation v2, DeepL v2, any OpenAI-compatible
chat API, all on the one HTTP client of `lrm_llava.httpclient` (origin-bound keys, redaction,
retries: see its docstring).

| backend | key variable (official host only) | request |
|---------|------------------|---------|
| google  | GOOGLE_API_KEY   | POST {base_url}/language/translate/v2, JSON `{"q": [...], "source", "target", "format": "text"}`, header `X-goog-api-key`; ≤128 strings per request |
| deepl   | DEEPL_AUTH_KEY   | POST {base_url}/v2/translate, JSON `{"text": [...], "source_lang", "target_lang"}`, header `Authorization: DeepL-Auth-Key ...`; ≤50 strings; free keys (":fx") use api-free.deepl.com |
| openai  | OPENAI_API_KEY   | POST {base_url}/chat/completions with a translation prompt; a JSON array of strings in and out |

Each backend's default variable is sent only to that service's official https host; another
`base_url` gets a key only when you name its variable with the option `api_key_env=VAR`.
Options (`--option KEY=VALUE`): `timeout` (seconds per socket wait), `retries`, `backoff`,
`max_wait`, `batch_size`, `api_key_env`. Run e.g.:

    GOOGLE_API_KEY=... lrm-llava data build ... --backend google
    lrm-llava data build ... --backend openai --model qwen2.5-7b --base-url http://127.0.0.1:8000/v1
    MY_VLLM_KEY=... lrm-llava data build ... --backend openai --base-url https://llm.example.org/v1 \\
        --option api_key_env=MY_VLLM_KEY
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lrm_llava import languages
from lrm_llava.errors import TranslationError
from lrm_llava.httpclient import (
    OPENAI_API_ROOT,
    OPENAI_KEY_VAR,
    HttpClient,
    HttpOptions,
    api_key_source,
    describe_value,
    key_for,
)
from lrm_llava.options import typed_option

_RESUME_HINT = "finished batches are cached, rerun the same command to resume"


def post_json(url: str, payload: dict, headers: dict[str, str], opts: HttpOptions, what: str) -> Any:
    """POST `payload` to the absolute `url` (on the origin of `opts.base_url`) with `HttpClient`."""
    client = HttpClient(opts, what, error=TranslationError, give_up_hint=_RESUME_HINT)
    return client.post_json(url, payload, headers)


# -------------------------------------------------------------------------------- the backends
OFFICIAL_URLS = {
    "google": ("https://translation.googleapis.com",),
    "deepl": ("https://api.deepl.com", "https://api-free.deepl.com"),
    "openai": (OPENAI_API_ROOT,),
}
"""Each backend's official API roots: the only origins its default key variable is sent to."""

DEFAULT_KEY_VARS = {"google": "GOOGLE_API_KEY", "deepl": "DEEPL_AUTH_KEY", "openai": OPENAI_KEY_VAR}


@dataclass
class _HttpBackend:
    http: HttpOptions
    api_key_env: str = ""
    """Environment variable of the key for a non-official base URL (opt-in); empty: the default
    variable, sent only to the official host."""
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    """Waits between attempts (tests pass a recorder)."""
    exact: bool = False
    """MT services are not exact backends: their inputs are protected and split (`translate_texts`)."""

    def _client(self) -> HttpClient:
        client = getattr(self, "_cached_client", None)
        if client is None or client.opts is not self.http:
            client = HttpClient(self.http, self.name, error=TranslationError, sleep=self.sleep,
                                give_up_hint=_RESUME_HINT)
            self._cached_client = client
        return client

    def _key(self) -> tuple[str, str]:
        """(key, hint for a 401/403): the key to send to this base URL ("" for none)."""
        return key_for(DEFAULT_KEY_VARS[self.name], OFFICIAL_URLS[self.name], self.http.base_url,
                       self.api_key_env, f"{self.name} backend", "--option api_key_env=VAR")


@dataclass
class GoogleTranslator(_HttpBackend):
    """Google Cloud Translation - Basic (v2)."""

    name: str = "google"
    model: str = "v2"
    max_batch: int = 128
    """The v2 API accepts at most 128 strings per request."""

    def translate(self, texts: list[str], src: str, tgt: str) -> list[str]:
        payload = {
            "q": texts,
            "source": languages.get(src).google,
            "target": languages.get(tgt).google,
            "format": "text",  # the default, html, would escape quotes and ampersands
        }
        key, hint = self._key()
        client = self._client()
        headers = {"X-goog-api-key": key} if key else {}
        reply = client.post_json("/language/translate/v2", payload, headers, hint)
        items = client.field(reply, "data", "translations", kind=list)
        return [client.field(reply, "data", "translations", i, "translatedText", kind=str)
                for i in range(len(items))]


@dataclass
class DeepLTranslator(_HttpBackend):
    """DeepL API v2 (Pro or Free)."""

    name: str = "deepl"
    model: str = "v2"
    max_batch: int = 50
    """DeepL accepts at most 50 texts per request."""

    def translate(self, texts: list[str], src: str, tgt: str) -> list[str]:
        target = languages.get(tgt)
        if not target.deepl_target:
            raise TranslationError(
                f"deepl does not offer {target.english_name} ({tgt}); translate it with another "
                "backend (e.g. --backend google or nllb) in a separate run"
            )
        payload = {"text": texts, "target_lang": target.deepl_target}
        if languages.get(src).deepl_source:
            payload["source_lang"] = languages.get(src).deepl_source
        key, hint = self._key()
        headers = {"Authorization": "DeepL-Auth-Key " + key} if key else {}
        client = self._client()
        reply = client.post_json("/v2/translate", payload, headers, hint)
        items = client.field(reply, "translations", kind=list)
        return [client.field(reply, "translations", i, "text", kind=str) for i in range(len(items))]


OPENAI_SYSTEM_PROMPT = (
    "You are a professional translator. Translate each string of the JSON array the user sends from "
    "{src} into {tgt}. Keep every placeholder such as [0] or [1] exactly as it is, keep line breaks, "
    "do not answer questions, do not add explanations. Reply with a JSON array of the translated "
    "strings only, same length and order."
)


@dataclass
class OpenAITranslator(_HttpBackend):
    """Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, ...).

    `OPENAI_API_KEY` is sent only to https://api.openai.com; another base URL gets no key unless
    `api_key_env` names the variable holding its key."""

    model: str = "gpt-4o"
    """Chat model name sent in the request."""
    name: str = "openai"
    max_batch: int = 16
    """Strings per chat request (sent as one JSON array)."""
    temperature: float = 0.0
    extra_body: dict = field(default_factory=dict)

    def _chat(self, texts: list[str], src: str, tgt: str) -> str:
        system = OPENAI_SYSTEM_PROMPT.format(
            src=languages.get(src).english_name, tgt=languages.get(tgt).english_name
        )
        payload = {
            "model": self.model,
            "temperature": self.temperature,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": json.dumps(texts, ensure_ascii=False)},
            ],
            **self.extra_body,
        }
        key, hint = self._key()
        client = self._client()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        reply = client.post_json("/chat/completions", payload, headers, hint)
        message = client.field(reply, "choices", 0, "message", kind=dict)
        if not isinstance(message.get("content"), str):
            finish = client.field(reply, "choices", 0, kind=dict).get("finish_reason")
            why = f" (finish_reason {finish!r})" if finish else ""
            raise client.fail(
                f"the reply of model {self.model!r} has {describe_value(message.get('content'))} at "
                f"choices[0].message.content instead of text{why}; check that the model is a chat "
                "model that answers in text"
            )
        return message["content"]

    def translate(self, texts: list[str], src: str, tgt: str) -> list[str]:
        parsed = _json_array(self._chat(texts, src, tgt))
        if parsed is not None and len(parsed) == len(texts):
            return parsed
        # The model broke the array contract: fall back to one string per request.
        out = []
        for text in texts:
            one = _json_array(self._chat([text], src, tgt))
            if one is None or len(one) != 1:
                raise TranslationError(
                    f"openai: model {self.model!r} did not return a JSON array of one translation "
                    f"for {text[:60]!r}; try another model or a lower temperature"
                )
            out.extend(one)
        return out


def _json_array(content: str) -> list[str] | None:
    content = content.strip()
    if content.startswith("```"):  # models like to wrap JSON in a fenced block
        content = content.strip("`")
        content = content[content.find("[") :] if "[" in content else content
    start, end = content.find("["), content.rfind("]")
    if start < 0 or end < start:
        return None
    try:
        value = json.loads(content[start : end + 1])
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return value


_DEFAULT_URLS = {
    "google": "https://translation.googleapis.com",
    "deepl": "https://api.deepl.com",
    "openai": OPENAI_API_ROOT,
}


def make_http_translator(name: str, options: dict):
    """Build an HTTP backend from `make_translator` options (each checked for its type)."""
    base_url = str(options.get("base_url") or _DEFAULT_URLS[name])
    api_key_env = typed_option(options, "api_key_env", str, "", name)
    if name == "deepl" and "base_url" not in options:
        var = api_key_env or DEFAULT_KEY_VARS["deepl"]
        if os.environ.get(var, "").strip().endswith(":fx"):
            base_url = "https://api-free.deepl.com"
    http = HttpOptions(
        base_url=base_url,
        timeout=typed_option(options, "timeout", float, 60.0, name, minimum=0.001),
        retries=typed_option(options, "retries", int, 5, name, minimum=0),
        backoff=typed_option(options, "backoff", float, 1.0, name, minimum=0.0),
        max_wait=typed_option(options, "max_wait", float, 60.0, name, minimum=0.0),
    )
    HttpClient(http, name)  # refuses a malformed base URL now rather than at the first batch
    if api_key_env:
        api_key_source("", (), base_url, api_key_env)  # checks the variable's name
    limit = {"google": 128, "deepl": 50}.get(name)
    batch = typed_option(options, "batch_size", int, limit or 16, name, minimum=1)
    if name == "google":
        return GoogleTranslator(http, api_key_env=api_key_env, max_batch=min(batch, 128))
    if name == "deepl":
        return DeepLTranslator(http, api_key_env=api_key_env, max_batch=min(batch, 50))
    return OpenAITranslator(
        http, api_key_env=api_key_env, model=str(options.get("model") or "gpt-4o"), max_batch=batch
    )
