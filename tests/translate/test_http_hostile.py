"""The HTTP client against hostile or broken local servers: redirects to another origin, echoed
headers, dropped connections, bad status lines, non-UTF-8 bodies, wrong JSON shapes, bad options."""

from __future__ import annotations

import base64
import json
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lrm_llava.errors import TranslationError, UserError
from lrm_llava.httpclient import HttpClient, HttpOptions, api_key_source, redact, safe_url
from lrm_llava.translate import make_translator, translate_texts
from lrm_llava.translate.http import GoogleTranslator

KEYS = {"GOOGLE_API_KEY": "g-key-7731", "DEEPL_AUTH_KEY": "d-key-8842", "OPENAI_API_KEY": "o-key-9953"}
ENV = {"google": "GOOGLE_API_KEY", "deepl": "DEEPL_AUTH_KEY", "openai": "OPENAI_API_KEY"}
PATHS = {"google": "/language/translate/v2", "deepl": "/v2/translate", "openai": "/v1/chat/completions"}
FAST = {"retries": 2, "backoff": 0.001, "max_wait": 0.01, "timeout": 2}


class Server:
    """A local HTTP server whose every request is answered by `behave(handler, body)`."""

    def __init__(self, behave):
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append({"method": self.command, "path": self.path,
                                        "headers": {k.lower(): v for k, v in self.headers.items()}})
                behave(self, json.loads(body) if body else None)

            do_POST = do_GET = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda *args: None  # a handler that drops the socket is the point
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def serve(monkeypatch):
    for key, value in KEYS.items():
        monkeypatch.setenv(key, value)
    servers: list[Server] = []

    def start(behave) -> Server:
        servers.append(Server(behave))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def send(handler, status: int, payload=None, raw: bytes | None = None, headers: dict | None = None):
    data = raw if raw is not None else json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


def good_reply(path: str, body: dict) -> dict:
    if path.endswith("/language/translate/v2"):
        return {"data": {"translations": [{"translatedText": f"{body['target']}:{q}"} for q in body["q"]]}}
    if path.endswith("/v2/translate"):
        return {"translations": [{"text": f"{body['target_lang']}:{t}"} for t in body["text"]]}
    texts = json.loads(body["messages"][-1]["content"])
    return {"choices": [{"message": {"role": "assistant", "content": json.dumps([f"llm:{t}" for t in texts])}}]}


def backend(name: str, url: str, **options):
    base = url + "/v1" if name == "openai" else url
    return make_translator(name, base_url=base, api_key_env=ENV[name], **{**FAST, **options})


def drop(handler, body):
    """Read the request, then close the socket without a word."""
    handler.close_connection = True


def reset(handler, body):
    """Read the request, then abort the connection (RST)."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True


def bad_status(handler, body):
    handler.wfile.write(b"HTTP/1.1 abc nonsense\r\n\r\n")
    handler.close_connection = True


def scripted(*actions):
    """Each request takes the next action (the last one repeats); "ok" answers correctly."""
    queue = list(actions)

    def behave(handler, body):
        action = queue.pop(0) if len(queue) > 1 else queue[0]
        if action == "ok":
            send(handler, 200, good_reply(handler.path, body))
        else:
            action(handler, body)

    return behave


# ------------------------------------------------------------------------------------ 1. redirects
@pytest.mark.parametrize("name", ["google", "deepl", "openai"])
@pytest.mark.parametrize("status", [302, 307])
def test_redirect_to_another_port_never_carries_the_key(serve, name, status):
    other = serve(lambda h, body: send(h, 200, good_reply(h.path, body)))
    target = other.url.replace("http://", "http://mallory:pw123@") + PATHS[name] + "?steal=1"
    api = serve(lambda h, body: send(h, status, {}, headers={"Location": target}))
    with pytest.raises(TranslationError) as err:
        translate_texts(["Good morning."], "en", "de", backend(name, api.url))
    msg = str(err.value)
    assert other.requests == []  # the second server never saw anything, let alone the key
    assert len(api.requests) == 1 and KEYS[ENV[name]] in str(api.requests[0]["headers"])
    assert msg.startswith(f"{name}:") and f"HTTP {status}" in msg and other.url in msg
    assert "do not follow redirects" in msg
    for secret in (*KEYS.values(), "mallory", "pw123", "steal"):
        assert secret not in msg


def test_same_origin_redirect_is_followed_with_the_key(serve):
    def behave(handler, body):
        if handler.path == "/language/translate/v2":
            send(handler, 307, {}, headers={"Location": "/moved/language/translate/v2"})
        else:
            send(handler, 200, good_reply(handler.path, body))

    api = serve(behave)
    assert translate_texts(["Hello."], "en", "de", backend("google", api.url)) == ["de:Hello."]
    assert [r["path"] for r in api.requests] == ["/language/translate/v2", "/moved/language/translate/v2"]
    assert api.requests[1]["headers"]["x-goog-api-key"] == KEYS["GOOGLE_API_KEY"]


def test_redirect_loops_and_redirected_posts_are_errors(serve):
    loop = serve(lambda h, body: send(h, 308, {}, headers={"Location": h.path}))
    with pytest.raises(TranslationError, match="more than 5 redirects"):
        translate_texts(["Hello."], "en", "de", backend("google", loop.url))
    assert len(loop.requests) == 6
    post = serve(lambda h, body: send(h, 302, {}, headers={"Location": "/elsewhere"}))
    with pytest.raises(TranslationError, match="HTTP 302 to a POST"):
        translate_texts(["Hello."], "en", "de", backend("google", post.url))
    nowhere = serve(lambda h, body: send(h, 307, {}, headers={"Location": "http://[::1"}))
    with pytest.raises(TranslationError, match="no valid Location"):
        translate_texts(["Hello."], "en", "de", backend("google", nowhere.url))


# ------------------------------------------------------------------------- 2. secrets never printed
@pytest.mark.parametrize("name", ["google", "deepl", "openai"])
@pytest.mark.parametrize("shape", ["json", "text"])
def test_headers_echoed_in_a_400_body_are_redacted(serve, name, shape):
    def behave(handler, body):
        echoed = dict(handler.headers.items())
        if shape == "json":
            send(handler, 400, {"error": {"message": f"bad request; you sent {echoed}"}})
        else:
            send(handler, 400, raw=f"bad request; you sent {echoed}".encode())

    api = serve(behave)
    with pytest.raises(TranslationError) as err:
        translate_texts(["Good morning."], "en", "de", backend(name, api.url))
    msg = str(err.value)
    assert "HTTP 400" in msg and "bad request" in msg and "***" in msg
    for secret in KEYS.values():
        assert secret not in msg


@pytest.mark.parametrize("bad", ["abc\nsecret-tail", "abc\rsecret-tail", "abc\x01secret-tail", "abcésecret-tail"])
def test_key_with_a_newline_or_control_character_is_refused_by_name(serve, monkeypatch, bad):
    api = serve(scripted("ok"))
    monkeypatch.setenv("GOOGLE_API_KEY", bad)
    with pytest.raises(UserError) as err:
        translate_texts(["Hello."], "en", "de", backend("google", api.url))
    msg = str(err.value)
    assert "$GOOGLE_API_KEY" in msg and "newline" in msg and "secret-tail" not in msg
    assert api.requests == []


def test_client_refuses_header_injection_without_showing_the_value(serve):
    api = serve(scripted("ok"))
    client = HttpClient(HttpOptions(api.url, **FAST), "probe")
    with pytest.raises(UserError) as err:
        client.post_json("/x", {}, {"X-Api-Key": "k\r\nInjected: yes"})
    assert "X-Api-Key" in str(err.value) and "Injected" not in str(err.value)
    assert api.requests == []


def test_userinfo_in_the_base_url_is_used_for_basic_auth_and_never_shown(serve):
    api = serve(lambda h, body: send(h, 500, {"error": {"message": f"echo {h.headers.get('Authorization')}"}}))
    url = api.url.replace("http://", "http://alice:pa55word@")
    tr = make_translator("openai", base_url=url + "/v1", model="m", **FAST)
    with pytest.raises(TranslationError) as err:
        translate_texts(["Hello."], "en", "de", tr)
    msg = str(err.value)
    token = base64.b64encode(b"alice:pa55word").decode()
    assert api.requests[0]["headers"]["authorization"] == "Basic " + token
    assert "giving up after 3 attempts" in msg and api.url in msg
    for secret in ("pa55word", "alice:", token):
        assert secret not in msg
    # nothing listens on a closed port: the connection error shows no userinfo either
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    tr = make_translator("openai", base_url=f"http://alice:pa55word@127.0.0.1:{port}/v1", **FAST)
    with pytest.raises(TranslationError) as err:
        translate_texts(["Hello."], "en", "de", tr)
    assert "connection failed" in str(err.value) and "pa55word" not in str(err.value)
    assert "alice" not in str(err.value)
    with pytest.raises(UserError, match="query string") as err:
        make_translator("openai", base_url=api.url + "/v1?key=zz-top-secret")
    assert "zz-top-secret" not in str(err.value)


def test_redact_and_safe_url():
    assert redact("a k3y and k%2By and k+y", ["k3y", "k+y"]) == "a *** and *** and ***"
    assert safe_url("https://u:p@host:8443/v1/x?key=s#f") == "https://host:8443/v1/x"


# ------------------------------------------------------------------------ 3. retries and messages
@pytest.mark.parametrize(
    ("failure", "words"),
    [(drop, "closed the connection without answering"), (bad_status, "malformed HTTP status line"),
     (reset, "reset the connection")],
)
def test_broken_connections_are_retried_then_reported(serve, failure, words):
    api = serve(scripted(failure))
    with pytest.raises(TranslationError) as err:
        translate_texts(["Hello."], "en", "de", backend("google", api.url))
    msg = str(err.value)
    assert len(api.requests) == 3  # retries=2: three attempts
    assert msg.startswith("google: giving up after 3 attempts") and words in msg and "rerun" in msg
    assert KEYS["GOOGLE_API_KEY"] not in msg
    ok = serve(scripted(failure, "ok"))
    assert translate_texts(["Hello."], "en", "de", backend("google", ok.url)) == ["de:Hello."]
    assert len(ok.requests) == 2


def test_retry_after_is_honoured_and_capped(serve):
    api = serve(scripted(lambda h, b: send(h, 429, {}, headers={"Retry-After": "7"}), "ok"))
    waits: list[float] = []
    client = HttpClient(HttpOptions(api.url, retries=3, backoff=0.5, max_wait=60), "probe", sleep=waits.append)
    assert client.post_json("/language/translate/v2", {"q": ["a"], "target": "de"})["data"]
    assert waits == [7.0]
    api = serve(scripted(lambda h, b: send(h, 503, {}, headers={"Retry-After": "3600"}), "ok"))
    tr = GoogleTranslator(HttpOptions(api.url, retries=3, backoff=0.5, max_wait=2.5), sleep=waits.append)
    assert tr.translate(["a"], "en", "de") == ["de:a"]
    assert waits == [7.0, 2.5]
    api = serve(scripted(lambda h, b: send(h, 500, {}), lambda h, b: send(h, 502, {}), "ok"))
    tr = GoogleTranslator(HttpOptions(api.url, retries=3, backoff=0.5, max_wait=60), sleep=waits.append)
    assert tr.translate(["a"], "en", "de") == ["de:a"]
    assert waits == [7.0, 2.5, 0.5, 1.0]  # no Retry-After: exponential back-off


def test_invalid_utf8_is_a_clear_error_not_retried(serve):
    api = serve(lambda h, body: send(h, 200, raw=b'{"data": "\xff\xfe\xfa"}'))
    with pytest.raises(TranslationError, match=r"google: the reply from .* is not UTF-8"):
        translate_texts(["Hello."], "en", "de", backend("google", api.url))
    assert len(api.requests) == 1


def test_hostile_json_is_a_clear_error(serve):
    api = serve(lambda h, body: send(h, 200, raw=b"[" * 200_000))
    with pytest.raises(TranslationError, match="did not answer JSON"):
        translate_texts(["Hello."], "en", "de", backend("google", api.url))
    client = HttpClient(HttpOptions(api.url, max_reply_bytes=1000, **FAST), "probe")
    with pytest.raises(UserError, match="limit 1000"):
        client.get_json("/big")


def test_openai_null_content_names_backend_and_field(serve):
    api = serve(lambda h, body: send(h, 200, {"choices": [{"message": {"content": None},
                                                            "finish_reason": "length"}]}))
    with pytest.raises(TranslationError) as err:
        translate_texts(["Hello."], "en", "de", backend("openai", api.url))
    msg = str(err.value)
    assert msg.startswith("openai:") and "choices[0].message.content" in msg and "null" in msg
    assert "'length'" in msg


@pytest.mark.parametrize(
    ("name", "reply", "missing"),
    [
        ("openai", {"object": "error"}, "lacks choices (got an object with keys [object])"),
        ("openai", {"choices": []}, "lacks choices[0]"),
        ("google", {"data": {}}, "lacks data.translations"),
        ("google", {"data": {"translations": [{"text": "x"}]}}, "lacks data.translations[0].translatedText"),
        ("deepl", {"translations": "oops"}, "has a string at translations, expected a list"),
        ("deepl", [1, 2], "lacks translations (got a list of 2)"),
    ],
)
def test_wrong_reply_shapes_name_backend_and_what_is_missing(serve, name, reply, missing):
    api = serve(lambda h, body: send(h, 200, reply))
    with pytest.raises(TranslationError) as err:
        translate_texts(["Hello."], "en", "de", backend(name, api.url))
    assert str(err.value).startswith(f"{name}:") and missing in str(err.value)


@pytest.mark.parametrize(
    ("options", "words"),
    [({"timeout": "abc"}, "option timeout='abc' is not valid: expected a number"),
     ({"retries": 1.5}, "option retries=1.5 is not valid: expected a whole number"),
     ({"batch_size": "many"}, "option batch_size='many' is not valid: expected a whole number"),
     ({"backoff": -1}, "expected a number of at least 0"),
     ({"api_key_env": "sk-live key"}, "not an environment variable name")],
)
def test_options_of_the_wrong_type_are_clear_errors(options, words):
    with pytest.raises(UserError) as err:
        make_translator("google", base_url="http://127.0.0.1:9", **options)
    assert words in str(err.value)


def test_local_model_options_of_the_wrong_type_are_clear_errors(tmp_path):
    with pytest.raises(UserError, match="nllb backend's option batch_size='abc'"):
        make_translator("nllb", path=tmp_path, batch_size="abc")


# ---------------------------------------------------------------------- which key goes where
def test_openai_key_only_goes_to_the_official_host_unless_opted_in(serve, monkeypatch):
    api = serve(scripted("ok"))
    tr = make_translator("openai", base_url=api.url + "/v1", model="m", **FAST)
    assert translate_texts(["Hello."], "en", "de", tr) == ["llm:Hello."]
    assert "authorization" not in api.requests[-1]["headers"]
    monkeypatch.setenv("MY_SERVER_KEY", "srv-key-4410")
    tr = make_translator("openai", base_url=api.url + "/v1", model="m", api_key_env="MY_SERVER_KEY", **FAST)
    assert translate_texts(["Bye."], "en", "de", tr) == ["llm:Bye."]
    assert api.requests[-1]["headers"]["authorization"] == "Bearer srv-key-4410"
    monkeypatch.delenv("MY_SERVER_KEY")
    tr = make_translator("openai", base_url=api.url + "/v1", model="m", api_key_env="MY_SERVER_KEY", **FAST)
    with pytest.raises(UserError, match="MY_SERVER_KEY"):
        translate_texts(["Again."], "en", "de", tr)

    official = ("https://api.openai.com/v1",)
    assert api_key_source("OPENAI_API_KEY", official, "https://api.openai.com/v1") == "OPENAI_API_KEY"
    assert api_key_source("OPENAI_API_KEY", official, "https://API.openai.com:443/v1/") == "OPENAI_API_KEY"
    for other in ("http://api.openai.com/v1", "https://api.openai.com.evil.test/v1",
                  "https://api.openai.com:8443/v1", "http://127.0.0.1:8000/v1"):
        assert api_key_source("OPENAI_API_KEY", official, other) == ""
    assert api_key_source("OPENAI_API_KEY", official, "http://127.0.0.1:8000/v1", "MY_KEY") == "MY_KEY"


def test_401_without_a_key_says_how_to_send_one(serve):
    api = serve(lambda h, body: send(h, 401, {"error": {"message": "missing key"}}))
    tr = make_translator("google", base_url=api.url, **FAST)
    with pytest.raises(TranslationError) as err:
        translate_texts(["Hello."], "en", "de", tr)
    assert "x-goog-api-key" not in api.requests[0]["headers"]
    assert "HTTP 401" in str(err.value) and "api_key_env" in str(err.value)


def test_get_json_for_other_clients(serve):
    api = serve(lambda h, body: send(h, 200, {"data": [{"id": "qwen"}]}))
    client = HttpClient(HttpOptions(api.url + "/v1", **FAST), "eval")
    reply = client.get_json("/models", headers={"Authorization": "Bearer t0k"})
    assert client.field(reply, "data", 0, "id", kind=str) == "qwen"
    assert api.requests[0]["method"] == "GET" and api.requests[0]["path"] == "/v1/models"
    with pytest.raises(UserError, match="not on the API's origin"):
        client.get_json("http://127.0.0.2:1/v1/models")
