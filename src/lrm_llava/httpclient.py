"""The one HTTP client of every API call (translation backends, the `openai` evaluation adapter).

Only the standard library (urllib) is used. `HttpClient` sends JSON (POST or GET) to one API root
and is the only place that talks to the network:

    client = HttpClient(HttpOptions("http://127.0.0.1:8000/v1", retries=3), what="my-server")
    reply = client.get_json("/models", headers={"Authorization": "Bearer " + key})
    text = client.field(reply, "data", 0, "id", kind=str)     # clear error if the shape differs

Its rules, in one place:

- **Credentials stay at their origin.** A request only goes to the scheme, host and port of the
  API root. Redirects to another origin are never followed (the error says where it pointed, not
  the key); same-origin ones are (307/308 for any method, 301/302/303 for GET).
- **Keys go only where they were meant to go** (`api_key_source`). A service's default variable
  (`GOOGLE_API_KEY`, `DEEPL_AUTH_KEY`, `OPENAI_API_KEY`) is sent only to that service's official
  https host. Another base URL (a proxy, vLLM, Ollama, a test server) gets a key only from a
  variable named explicitly (`--option api_key_env=VAR` for translation, `--api-key-env VAR` for
  evaluation); without it no key is sent. `user:password@` in a URL becomes HTTP Basic auth for
  that origin and is never shown.
- **Nothing secret is printed.** Every text that goes into an error passes through `redact()`,
  which removes the values of credential headers, keys and URL passwords (a server that echoes
  request headers in its error body cannot make us print them); every URL shown drops its
  userinfo and query. A key with a newline or control character is refused by name
  ("the key in $VAR contains ..."), never shown (`env_key`).
- **Transient failures are retried**, `retries` times with back-off `backoff * 2**attempt` seconds
  (or the server's `Retry-After`), each wait capped at `max_wait`: HTTP 408/425/429/5xx (and
  DeepL's 529), timeouts, refused/reset/dropped connections, malformed status lines and cut-off
  replies. Other HTTP errors fail at once with the status and the server's (redacted) message.
  Replies that are not UTF-8 JSON, too large, or of the wrong shape are errors naming the caller
  and what was wrong; no traceback reaches the user.
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import json
import math
import os
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from lrm_llava.errors import UserError

OPENAI_API_ROOT = "https://api.openai.com/v1"
"""The official OpenAI API root: the only origin `OPENAI_KEY_VAR` is sent to by default."""

OPENAI_KEY_VAR = "OPENAI_API_KEY"
"""The default key variable of OpenAI(-compatible) calls (translation and evaluation)."""

_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504, 529}
_REDIRECT_STATUS = {301, 302, 303, 307, 308}
_MAX_REDIRECTS = 5
_CREDENTIAL_HEADER = re.compile(r"auth|key|token|secret|password|cookie|session", re.IGNORECASE)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MASK = "***"


# --------------------------------------------------------------------------- URLs and redaction
def safe_url(url: str) -> str:
    """`url` as it may be shown: no `user:password@`, no query string, no fragment."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<malformed URL>"
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of `url`, the unit credentials are bound to (default ports filled in)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:  # malformed: matches no real origin, so nothing is sent there
        return "", "", None
    scheme = parts.scheme.lower()
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def redact(text: object, secrets: Iterable[str]) -> str:
    """`str(text)` with every secret value (and its URL-encoded form) replaced by ***.

    Every text that goes from the client into an error message passes through here."""
    out = str(text)
    forms = set()
    for secret in secrets:
        if secret:
            forms.update({secret, urllib.parse.quote(secret, safe=""), json.dumps(secret)[1:-1]})
    for form in sorted(forms, key=len, reverse=True):
        if form:
            out = out.replace(form, _MASK)
    return out


def _bad_chars(value: str) -> bool:
    return any(not (0x20 <= ord(c) < 0x7F) for c in value)


def env_key(var: str, who: str, required: bool = True) -> str:
    """The API key in environment variable `var` ("" when unset and not `required`).

    Surrounding whitespace is dropped; a key with a newline, control or non-ASCII character inside is
    refused by the variable's name, without showing it."""
    value = os.environ.get(var, "").strip()
    if required and not value:
        raise UserError(f"the {who} needs an API key in the environment variable {var}")
    if _bad_chars(value):
        raise UserError(
            f"the key in ${var} contains a newline, control or non-ASCII character; set {var} to the "
            "key alone (one line, no quotes or spaces around it)"
        )
    return value


def api_key_source(default_var: str, official: Iterable[str], base_url: str, api_key_env: str = "") -> str:
    """The environment variable whose key may be sent to `base_url` ("" = send none).

    `default_var` only goes to the `official` origins (https URLs); any other `base_url` gets a key
    only from an explicitly named `api_key_env` (which then goes to that base URL, whatever it is)."""
    if api_key_env:
        if not _ENV_NAME.fullmatch(api_key_env):
            raise UserError(
                f"api_key_env={api_key_env!r} is not an environment variable name; give the name of the "
                "variable that holds the key (e.g. --option api_key_env=MY_SERVER_KEY), not the key"
            )
        return api_key_env
    return default_var if origin(base_url) in {origin(u) for u in official} else ""


def key_for(default_var: str, official: Iterable[str], base_url: str, api_key_env: str, who: str,
            flag: str) -> tuple[str, str]:
    """(key, hint for a 401/403) of one API call: the key that may go to `base_url` by the rule of
    `api_key_source` ("" for none, and a hint that says why and which `flag` names a variable)."""
    official = tuple(official)
    var = api_key_source(default_var, official, base_url, api_key_env)
    if not var:
        where = ", ".join(safe_url(u) for u in official) or "its official host"
        return "", (f"no API key was sent: {default_var} only goes to {where}; to send a key to this base URL, "
                    f"name its variable with {flag}")
    return env_key(var, who), f"check the API key in ${var}"


# ------------------------------------------------------------------------------------ the client
@dataclass
class HttpOptions:
    """Connection settings of one API root."""

    base_url: str
    """API root, e.g. https://translation.googleapis.com (tests point it at 127.0.0.1)."""
    timeout: float = 60.0
    """Seconds one socket wait (connect, send, first byte, each read) may take before the attempt
    counts as timed out (and is retried)."""
    retries: int = 5
    """Retries after the first attempt for 429 / 5xx / timeouts / dropped connections."""
    backoff: float = 1.0
    """First back-off in seconds; doubles after each retry."""
    max_wait: float = 60.0
    """Longest single wait between attempts: caps the back-off and the server's Retry-After."""
    max_reply_bytes: int = 64 * 1024 * 1024
    """Larger replies are refused (a misbehaving server cannot fill the memory)."""


class _Retry(Exception):
    """A transient failure: try again (after `retry_after` seconds if the server said so)."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib copies every header, keys included, to wherever a redirect points; here a 3xx comes
    back as an HTTPError and `HttpClient` decides."""

    def http_error_302(self, req, fp, code, msg, headers):  # no parsing of Location here either
        return None

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


class HttpClient:
    """JSON over HTTP(S) to one API root, with the rules of this module's docstring.

    `what` starts every error message (the backend's name); `error` is the exception raised
    (a `UserError` subclass); `sleep` waits between attempts (tests pass a recorder);
    `give_up_hint` is appended when the retries are exhausted."""

    def __init__(
        self,
        opts: HttpOptions,
        what: str = "HTTP",
        *,
        error: type[UserError] = UserError,
        sleep: Callable[[float], None] = time.sleep,
        give_up_hint: str = "",
    ):
        self.opts = opts
        self.what = what
        self.error = error
        self.sleep = sleep
        self.give_up_hint = give_up_hint
        self._secrets: set[str] = set()
        self._base_headers: dict[str, str] = {}
        self.base_url = self._parse_base(opts.base_url)
        self._origin = origin(self.base_url)
        self._opener = urllib.request.build_opener(_NoRedirect)

    def _parse_base(self, url: str) -> str:
        try:
            parts = urllib.parse.urlsplit(str(url).strip())
            parts.port  # noqa: B018 - raises ValueError for a malformed port
        except ValueError:
            raise UserError(f"{self.what}: base URL {safe_url(str(url))!r} is malformed") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise UserError(
                f"{self.what}: base URL {safe_url(str(url))!r} must start with http:// or https:// and "
                "name a host (e.g. http://127.0.0.1:8000/v1)"
            )
        if parts.query or parts.fragment:
            raise UserError(
                f"{self.what}: base URL {safe_url(str(url))!r} has a query string or fragment; give the "
                "API root only (keys come from environment variables, never from the URL)"
            )
        userinfo, sep, host = parts.netloc.rpartition("@")
        if sep:
            user, _, password = userinfo.partition(":")
            user, password = urllib.parse.unquote(user), urllib.parse.unquote(password)
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self._secrets.update(s for s in (password, token, userinfo) if s)
            self._base_headers["Authorization"] = "Basic " + token
        return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", "")).rstrip("/")

    # ------------------------------------------------------------------ public helpers
    def url(self, path: str) -> str:
        """The absolute URL of `path` under the API root (an absolute URL must share its origin)."""
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", path):
            if origin(path) != self._origin:
                raise self.fail(
                    f"{safe_url(path)} is not on the API's origin {safe_url(self.base_url)}; "
                    "credentials are only sent to the base URL's scheme, host and port"
                )
            return path
        return self.base_url + "/" + path.lstrip("/")

    def redact(self, text: object, extra: Iterable[str] = ()) -> str:
        """`text` without any secret this client knows (keys, credential headers, URL passwords)."""
        return redact(text, [*self._secrets, *extra])

    def fail(self, message: str, extra_secrets: Iterable[str] = ()) -> UserError:
        """The client's error for `message`, prefixed with the backend name and redacted."""
        return self.error(self.redact(f"{self.what}: {message}", extra_secrets))

    def post_json(self, path: str, payload: Any, headers: dict[str, str] | None = None,
                  auth_hint: str = "") -> Any:
        """POST `payload` as JSON to `path` and return the decoded JSON reply (retrying transient
        failures). `auth_hint` is added to the error of a 401/403."""
        return self.request_json("POST", path, payload, headers, auth_hint)

    def get_json(self, path: str, headers: dict[str, str] | None = None, auth_hint: str = "") -> Any:
        """GET `path` and return the decoded JSON reply (retrying transient failures)."""
        return self.request_json("GET", path, None, headers, auth_hint)

    def field(self, reply: Any, *keys: str | int, kind: type | tuple[type, ...] = object) -> Any:
        """`reply[k0][k1]...` checked to be of `kind`; else an error naming the backend, the missing
        path (e.g. `choices[0].message.content`) and what was there instead."""
        value, shown = reply, ""
        for key in keys:
            shown += f"[{key}]" if isinstance(key, int) else (f".{key}" if shown else str(key))
            try:
                if isinstance(key, int) and not isinstance(value, list):
                    raise TypeError
                value = value[key]
            except (KeyError, IndexError, TypeError):
                raise self.fail(
                    f"the reply from {safe_url(self.base_url)} lacks {shown} "
                    f"(got {describe_value(value)}); is this the right API for the {self.what} backend?"
                ) from None
        if not isinstance(value, kind):
            names = "/".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            raise self.fail(
                f"the reply from {safe_url(self.base_url)} has {describe_value(value)} at {shown}, "
                f"expected {_JSON_NAMES.get(names, names)}"
            )
        return value

    # ------------------------------------------------------------------ the request loop
    def request_json(self, method: str, path: str, payload: Any = None,
                     headers: dict[str, str] | None = None, auth_hint: str = "") -> Any:
        """Send one JSON request with retries; see `post_json` / `get_json`."""
        url = self.url(path)
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        all_headers = {"Accept": "application/json", "User-Agent": "lrm-llava"}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(self._base_headers)
        all_headers.update(headers or {})
        secrets = self._check_headers(all_headers)
        last = ""
        retry_after: float | None = None
        attempts = max(0, int(self.opts.retries)) + 1
        for attempt in range(attempts):
            if attempt:
                self.sleep(self._wait(attempt, retry_after))
            try:
                body = self._send(method, url, data, all_headers, secrets, auth_hint)
            except _Retry as retry:
                last, retry_after = retry.reason, retry.retry_after
                continue
            return self._decode(body, url, secrets)
        hint = f"; {self.give_up_hint}" if self.give_up_hint else ""
        raise self.fail(f"giving up after {attempts} attempts on {safe_url(url)}: {last}{hint}", secrets)

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        wait = retry_after if retry_after is not None else self.opts.backoff * 2 ** (attempt - 1)
        return max(0.0, min(wait, self.opts.max_wait))

    def _check_headers(self, headers: dict[str, str]) -> list[str]:
        """Refuse header values http.client would choke on (naming the header, never the value);
        return the secret values among them (credential headers, and their part after the scheme)."""
        secrets = list(self._secrets)
        for name, value in headers.items():
            value = str(value)
            credential = bool(_CREDENTIAL_HEADER.search(name))
            if credential:
                secrets.append(value)
                scheme, sep, rest = value.partition(" ")
                if sep and rest.strip():
                    secrets.append(rest.strip())
            if _bad_chars(value) or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
                what = "the key in it" if credential else "its value"
                raise UserError(
                    f"{self.what}: cannot send header {name!r}: {what} contains a newline, control or "
                    "non-ASCII character"
                )
        return secrets

    def _send(self, method: str, url: str, data: bytes | None, headers: dict[str, str],
              secrets: list[str], auth_hint: str) -> bytes:
        """One attempt (following same-origin redirects); raises `_Retry` or the final error."""
        current = url
        for _ in range(_MAX_REDIRECTS + 1):
            request = urllib.request.Request(current, data=data, method=method, headers=headers)
            try:
                with self._opener.open(request, timeout=self.opts.timeout) as reply:
                    return self._read(reply, current, secrets)
            except urllib.error.HTTPError as err:
                with err:
                    if err.code in _REDIRECT_STATUS:
                        current = self._redirect(err, current, method, secrets)
                        if err.code == 303 or (err.code in (301, 302) and method != "GET"):
                            method, data = "GET", None
                        continue
                    detail = self.redact(_error_text(err), secrets)
                    if err.code in _RETRY_STATUS:
                        raise _Retry(f"HTTP {err.code} {detail}", _retry_after(err.headers)) from None
                    hint = ""
                    if err.code in (401, 403):
                        hint = f" ({auth_hint or 'check the API key in the environment'})"
                    message = f"HTTP {err.code} from {safe_url(current)}: {detail}{hint}"
                    raise self.fail(message, secrets) from None
            except urllib.error.URLError as err:
                reason = err.reason
                if isinstance(reason, TimeoutError):
                    raise _Retry(f"timed out after {self.opts.timeout:g} s") from None
                if isinstance(reason, ssl.SSLCertVerificationError):
                    raise self.fail(
                        f"the TLS certificate of {safe_url(current)} could not be verified "
                        f"({reason.verify_message or reason}); check the base URL", secrets
                    ) from None
                raise _Retry(self.redact(f"connection failed ({reason})", secrets)) from None
            except TimeoutError:
                raise _Retry(f"timed out after {self.opts.timeout:g} s") from None
            except http.client.RemoteDisconnected:
                raise _Retry("the server closed the connection without answering") from None
            except http.client.IncompleteRead:
                raise _Retry("the reply was cut off before its end") from None
            except http.client.BadStatusLine:
                raise _Retry("the server sent a malformed HTTP status line") from None
            except http.client.HTTPException as err:
                raise _Retry(f"malformed HTTP reply ({type(err).__name__})") from None
            except ConnectionResetError:
                raise _Retry("the server reset the connection") from None
            except ConnectionError as err:
                raise _Retry(f"the connection failed ({type(err).__name__})") from None
            except OSError as err:
                raise _Retry(self.redact(f"network error ({err})", secrets)) from None
            except ValueError:  # http.client's checks; _check_headers should have caught it
                raise UserError(
                    f"{self.what}: cannot send the request to {safe_url(current)}: a header (an API key?) "
                    "or the URL contains a newline, control or non-ASCII character"
                ) from None
        raise self.fail(f"more than {_MAX_REDIRECTS} redirects from {safe_url(url)}", secrets)

    def _redirect(self, err: urllib.error.HTTPError, current: str, method: str, secrets: list[str]) -> str:
        location = (err.headers.get("Location") or "").strip()
        try:
            target = urllib.parse.urljoin(current, location) if location else ""
        except ValueError:
            target = ""
        shown = safe_url(target) if target else "nowhere (no valid Location header)"
        if not target or origin(target) != self._origin:
            raise self.fail(
                f"{safe_url(current)} answered HTTP {err.code}, redirecting to {shown}; API calls do not "
                "follow redirects to another scheme, host or port (the API key would go with them): "
                "if you trust that address, pass it as the base URL", secrets
            )
        if err.code in (301, 302, 303) and method not in ("GET", "HEAD"):
            raise self.fail(
                f"{safe_url(current)} answered HTTP {err.code} to a {method}, redirecting to {shown}; "
                "pass that address as the base URL", secrets
            )
        return target

    def _read(self, reply: http.client.HTTPResponse, url: str, secrets: list[str]) -> bytes:
        limit = self.opts.max_reply_bytes
        length = getattr(reply, "length", None)
        if length is not None and length > limit:
            raise self.fail(f"{safe_url(url)} sent a reply of {length} bytes (limit {limit})", secrets)
        body = reply.read() if length is not None else reply.read(limit + 1)
        if len(body) > limit:
            raise self.fail(f"{safe_url(url)} sent a reply of more than {limit} bytes", secrets)
        return body

    def _decode(self, body: bytes, url: str, secrets: list[str]) -> Any:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise self.fail(
                f"the reply from {safe_url(url)} is not UTF-8 (invalid byte at position {err.start}); "
                "is the base URL an API that answers JSON?", secrets
            ) from None
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            raise self.fail(f"{safe_url(url)} did not answer JSON: {text[:200]!r}", secrets) from None


_JSON_NAMES = {"str": "a string", "list": "a list", "dict": "an object", "int/float": "a number"}


def describe_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        keys = ", ".join(map(str, list(value)[:8]))
        return f"an object with keys [{keys}]" if keys else "an empty object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return {str: "a string", bool: "a boolean"}.get(type(value), "a number")


def _retry_after(headers) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent or invalid."""
    raw = (headers.get("Retry-After") or "").strip() if headers is not None else ""
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _error_text(err: urllib.error.HTTPError) -> str:
    """The server's message from an error reply (at most 300 characters; redacted by the caller)."""
    try:
        body = err.read(65536).decode("utf-8", "replace")
    except Exception:  # the body is only decoration for the message
        return str(err.reason or "")
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return body[:300]
    msg = parsed
    if isinstance(parsed, dict):
        msg = parsed.get("error", parsed.get("message", parsed))
        if isinstance(msg, dict):
            msg = msg.get("message", msg)
    return str(msg)[:300]
