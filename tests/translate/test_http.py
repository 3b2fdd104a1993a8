"""Google v2, DeepL v2 and OpenAI-compatible backends against a local server speaking their JSON."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lrm_llava.errors import TranslationError, UserError
from lrm_llava.translate import TranslationCache, make_translator, translate_texts

KEYS = {"GOOGLE_API_KEY": "g-secret-1", "DEEPL_AUTH_KEY": "d-secret-2", "OPENAI_API_KEY": "o-secret-3"}


class FakeAPI:
    """Records requests; `script` holds per-request actions: 'ok', an HTTP status, or 'sleep'."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list = []
        self.openai_mode = "array"
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                api.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                action = api.script.pop(0) if api.script else "ok"
                if action == "sleep":
                    time.sleep(0.6)
                    action = "ok"
                if action != "ok":
                    self._send(action, {"error": {"message": f"status {action}"}})
                    return
                self._send(200, api.reply(self.path, body))

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def reply(self, path, body):
        if path == "/language/translate/v2":
            return {"data": {"translations": [{"translatedText": f"{body['target']}:{q}"} for q in body["q"]]}}
        if path == "/v2/translate":
            return {"translations": [{"detected_source_language": "EN", "text": f"{body['target_lang']}:{t}"}
                                     for t in body["text"]]}
        if path == "/v1/chat/completions":
            texts = json.loads(body["messages"][-1]["content"])
            content = json.dumps([f"llm:{t}" for t in texts], ensure_ascii=False)
            if self.openai_mode == "fenced":
                content = f"```json\n{content}\n```"
            elif self.openai_mode == "broken" and len(texts) > 1:
                content = "Sure! Here you go: llm:..."
            return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
        raise AssertionError(path)


@pytest.fixture()
def api(monkeypatch):
    for key, value in KEYS.items():
        monkeypatch.setenv(key, value)
    fake = FakeAPI()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


FAST = {"retries": 2, "backoff": 0.01, "timeout": 0.3}


def test_google_request_format_and_128_limit(api):
    tr = make_translator("google", base_url=api.url, api_key_env="GOOGLE_API_KEY", **FAST)
    texts = [f"Word {chr(65 + i // 26)}{chr(97 + i % 26)} here." for i in range(130)]
    out = translate_texts(texts, "en", "zh", tr)
    assert out[0] == "zh-CN:" + texts[0]
    assert [len(r["body"]["q"]) for r in api.requests] == [128, 2]
    req = api.requests[0]
    assert req["body"]["source"] == "en" and req["body"]["target"] == "zh-CN" and req["body"]["format"] == "text"
    assert req["headers"]["X-Goog-Api-Key"] == KEYS["GOOGLE_API_KEY"]
    assert "key=" not in req["path"]


def test_deepl_format_auth_header_and_unsupported_language(api):
    tr = make_translator("deepl", base_url=api.url, api_key_env="DEEPL_AUTH_KEY", **FAST)
    assert translate_texts(["Good morning."], "en", "de", tr) == ["DE:Good morning."]
    req = api.requests[0]
    assert req["path"] == "/v2/translate"
    assert req["body"] == {"text": ["Good morning."], "target_lang": "DE", "source_lang": "EN"}
    assert req["headers"]["Authorization"] == "DeepL-Auth-Key " + KEYS["DEEPL_AUTH_KEY"]
    with pytest.raises(TranslationError, match="deepl does not offer Croatian"):
        translate_texts(["Good morning."], "en", "hr", tr)


def test_openai_array_protocol_fenced_reply_and_fallback(api):
    tr = make_translator("openai", base_url=api.url + "/v1", model="local-llm", api_key_env="OPENAI_API_KEY", **FAST)
    out = translate_texts(["One cat.", "Two dogs run."], "en", "fr", tr)
    assert out == ["llm:One cat.", "llm:Two dogs run."]
    body = api.requests[0]["body"]
    assert body["model"] == "local-llm" and body["temperature"] == 0.0
    assert "into French" in body["messages"][0]["content"]
    assert api.requests[0]["headers"]["Authorization"] == "Bearer " + KEYS["OPENAI_API_KEY"]
    api.openai_mode = "fenced"
    assert translate_texts(["A bird."], "en", "fr", tr) == ["llm:A bird."]
    api.openai_mode = "broken"
    n = len(api.requests)
    assert translate_texts(["Red box.", "Blue box."], "en", "it", tr) == ["llm:Red box.", "llm:Blue box."]
    assert len(api.requests) == n + 3  # one failed array request, then one request per string


def test_429_then_success_and_timeout_then_success(api):
    tr = make_translator("google", base_url=api.url, **FAST)
    api.script = [429, 503, "ok"]
    assert translate_texts(["Hello."], "en", "de", tr) == ["de:Hello."]
    assert len(api.requests) == 3
    api.script = ["sleep", "ok"]
    assert translate_texts(["Again."], "en", "de", tr) == ["de:Again."]
    assert len(api.requests) == 5


def test_persistent_failure_is_reported_without_key_and_finished_work_kept(api, tmp_path):
    tr = make_translator("google", base_url=api.url, api_key_env="GOOGLE_API_KEY", **FAST, batch_size=1)
    cache = TranslationCache(tmp_path / "c.sqlite")
    api.script = ["ok", 500, 500, 500]
    with pytest.raises(TranslationError) as err:
        translate_texts(["First.", "Second."], "en", "de", tr, cache)
    msg = str(err.value)
    assert "giving up after 3 attempts" in msg and "HTTP 500" in msg and "rerun" in msg
    assert KEYS["GOOGLE_API_KEY"] not in msg
    assert len(cache) == 1  # the finished batch survived
    api.script = [403]
    with pytest.raises(TranslationError) as err:
        translate_texts(["Third."], "en", "de", tr, cache)
    assert "HTTP 403" in str(err.value) and "API key" in str(err.value)
    assert KEYS["GOOGLE_API_KEY"] not in str(err.value)


def test_missing_key_is_a_clear_error(monkeypatch, api):
    monkeypatch.delenv("DEEPL_AUTH_KEY")
    tr = make_translator("deepl", base_url=api.url, api_key_env="DEEPL_AUTH_KEY", **FAST)
    with pytest.raises(UserError, match="DEEPL_AUTH_KEY"):
        translate_texts(["Hi there."], "en", "de", tr)
    assert api.requests == []
