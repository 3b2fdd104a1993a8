"""HTTP translation backends: Google Cloud Translation v2, DeepL v2, any OpenAI-compatible chat API.

Only the standard library (urllib) is used. Keys come from environment variables and nowhere else,
and never appear in messages or logs:

| backend | variable         | request |
|---------|------------------|---------|
| google  | GOOGLE_API_KEY   | POST {base_url}/language/translate/v2, JSON `{"q": [...], "source", "target", "format": "text"}`, header `X-goog-api-key`; ≤128 strings per request |
| deepl   | DEEPL_AUTH_KEY   | POST {base_url}/v2/translate, JSON `{"text": [...], "source_lang", "target_lang"}`, header `Authorization: DeepL-Auth-Key ...`; ≤50 strings; free keys (":fx") use api-free.deepl.com |
| openai  | OPENAI_API_KEY   | POST {base_url}/chat/completions with a translation prompt; a JSON array of strings in and out; optional for local servers (vLLM, Ollama) |

429, 5xx (and DeepL's 529) and timeouts are retried with exponential back-off
(`backoff * 2**attempt` seconds, `retries` times); other errors fail at once with the status and
the server's message. Run e.g.:

    GOOGLE_API_KEY=... lrm-llava data build ... --backend google
    lrm-llava data build ... --backend openai --model qwen2.5-7b --base-url http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from lrm_llava import languages
from lrm_llava.errors import TranslationError, UserError

_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504, 529}


@dataclass
class HttpOptions:
    """Connection settings shared by the HTTP backends."""

    base_url: str
    """API root, e.g. https://translation.googleapis.com (tests point it at 127.0.0.1)."""
    timeout: float = 60.0
    """Seconds before one request counts as timed out (and is retried)."""
    retries: int = 5
    """Retries after the first attempt for 429 / 5xx / timeouts."""
    backoff: float = 1.0
    """First back-off in seconds; doubles after each retry."""


def post_json(url: str, payload: dict, headers: dict[str, str], opts: HttpOptions, what: str) -> dict:
    """POST `payload` as JSON and return the decoded JSON reply, retrying transient failures.

    `what` names the backend in error messages; headers (which hold keys) are never echoed.
    """
    data = json.dumps(payload).encode("utf-8")
    last = ""
    for attempt in range(opts.retries + 1):
        if attempt:
            time.sleep(opts.backoff * 2 ** (attempt - 1))
        request = urllib.request.Request(
            url, data=data, method="POST", headers={"Content-Type": "application/json", **headers}
        )
        try:
            with urllib.request.urlopen(request, timeout=opts.timeout) as reply:
                body = reply.read().decode("utf-8")
        except urllib.error.HTTPError as err:
            detail = _error_text(err)
            if err.code in _RETRY_STATUS:
                last = f"HTTP {err.code} {detail}"
                continue
            hint = " (check the API key in the environment)" if err.code in (401, 403) else ""
            raise TranslationError(f"{what}: HTTP {err.code} from {_origin(url)}: {detail}{hint}") from None
        except TimeoutError:
            last = f"timed out after {opts.timeout:g} s"
            continue
        except urllib.error.URLError as err:
            if isinstance(err.reason, TimeoutError):
                last = f"timed out after {opts.timeout:g} s"
                continue
            last = f"connection failed ({err.reason})"
            continue
        try:
            return json.loads(body)
        except json.JSONDecodeError:
            raise TranslationError(f"{what}: {_origin(url)} did not answer JSON: {body[:200]!r}") from None
    raise TranslationError(
        f"{what}: giving up after {opts.retries + 1} attempts on {_origin(url)}: {last}; "
        "finished batches are cached, rerun the same command to resume"
    )


def _origin(url: str) -> str:
    # Scheme, host and path only: never a query string (it could carry credentials).
    return url.split("?", 1)[0]


def _error_text(err: urllib.error.HTTPError) -> str:
    try:
        body = err.read().decode("utf-8", "replace")
    except Exception:  # the body is only decoration for the message
        return err.reason or ""
    try:
        parsed = json.loads(body)
        msg = parsed.get("error", parsed.get("message", parsed))
        if isinstance(msg, dict):
            msg = msg.get("message", msg)
        return str(msg)[:300]
    except (json.JSONDecodeError, AttributeError):
        return body[:300]


def _key(var: str, backend: str, required: bool = True) -> str:
    value = os.environ.get(var, "").strip()
    if required and not value:
        raise UserError(f"the {backend} backend needs an API key in the environment variable {var}")
    return value


@dataclass
class GoogleTranslator:
    """Google Cloud Translation - Basic (v2)."""

    http: HttpOptions
    name: str = "google"
    model: str = "v2"
    exact: bool = False
    max_batch: int = 128
    """The v2 API accepts at most 128 strings per request."""
    key_var: str = "GOOGLE_API_KEY"

    def translate(self, texts: list[str], src: str, tgt: str) -> list[str]:
        payload = {
            "q": texts,
            "source": languages.get(src).google,
            "target": languages.get(tgt).google,
            "format": "text",  # the default, html, would escape quotes and ampersands
        }
        headers = {"X-goog-api-key": _key(self.key_var, self.name)}
        url = self.http.base_url.rstrip("/") + "/language/translate/v2"
        reply = post_json(url, payload, headers, self.http, "google")
        try:
            return [t["translatedText"] for t in reply["data"]["translations"]]
        except (KeyError, TypeError):
            raise TranslationError(f"google: unexpected reply shape: {str(reply)[:200]}") from None


@dataclass
class DeepLTranslator:
    """DeepL API v2 (Pro or Free)."""

    http: HttpOptions
    name: str = "deepl"
    model: str = "v2"
    exact: bool = False
    max_batch: int = 50
    """DeepL accepts at most 50 texts per request."""
    key_var: str = "DEEPL_AUTH_KEY"

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
        headers = {"Authorization": "DeepL-Auth-Key " + _key(self.key_var, self.name)}
        url = self.http.base_url.rstrip("/") + "/v2/translate"
        reply = post_json(url, payload, headers, self.http, "deepl")
        try:
            return [t["text"] for t in reply["translations"]]
        except (KeyError, TypeError):
            raise TranslationError(f"deepl: unexpected reply shape: {str(reply)[:200]}") from None


OPENAI_SYSTEM_PROMPT = (
    "You are a professional translator. Translate each string of the JSON array the user sends from "
    "{src} into {tgt}. Keep every placeholder such as [0] or [1] exactly as it is, keep line breaks, "
    "do not answer questions, do not add explanations. Reply with a JSON array of the translated "
    "strings only, same length and order."
)


@dataclass
class OpenAITranslator:
    """Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, ...)."""

    http: HttpOptions
    model: str = "gpt-4o"
    """Chat model name sent in the request."""
    name: str = "openai"
    exact: bool = False
    max_batch: int = 16
    """Strings per chat request (sent as one JSON array)."""
    key_var: str = "OPENAI_API_KEY"
    key_required: bool = True
    """False for local servers that need no key."""
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
        key = _key(self.key_var, self.name, required=self.key_required)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        url = self.http.base_url.rstrip("/") + "/chat/completions"
        reply = post_json(url, payload, headers, self.http, "openai")
        try:
            return reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise TranslationError(f"openai: unexpected reply shape: {str(reply)[:200]}") from None

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
    except json.JSONDecodeError:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return value


_DEFAULT_URLS = {
    "google": "https://translation.googleapis.com",
    "deepl": "https://api.deepl.com",
    "openai": "https://api.openai.com/v1",
}


def make_http_translator(name: str, options: dict):
    """Build an HTTP backend from `make_translator` options."""
    base_url = options.get("base_url") or _DEFAULT_URLS[name]
    if name == "deepl" and "base_url" not in options and os.environ.get("DEEPL_AUTH_KEY", "").endswith(":fx"):
        base_url = "https://api-free.deepl.com"
    http = HttpOptions(
        base_url=base_url,
        timeout=float(options.get("timeout", 60.0)),
        retries=int(options.get("retries", 5)),
        backoff=float(options.get("backoff", 1.0)),
    )
    batch = options.get("batch_size")
    if name == "google":
        tr = GoogleTranslator(http)
        tr.max_batch = min(int(batch or 128), 128)
    elif name == "deepl":
        tr = DeepLTranslator(http)
        tr.max_batch = min(int(batch or 50), 50)
    else:
        tr = OpenAITranslator(
            http,
            model=str(options.get("model") or "gpt-4o"),
            key_required="base_url" not in options,
        )
        tr.max_batch = int(batch or 16)
    return tr
