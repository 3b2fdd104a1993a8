"""`eval --adapter openai` against a real chat-completions server on 127.0.0.1, started here: images as
PNG data URLs in multi-part content, 429/500 retried, a killed run resuming without asking an
answered question again, the key never printed or written."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from lrm_llava.bench import EvalConfig, read_predictions, run_eval
from lrm_llava.cli import main
from lrm_llava.errors import UserError
from lrm_llava.infer.adapters import Request, make_adapter
from lrm_llava.infer.adapters.cache import RequestCache, request_key
from lrm_llava.infer.adapters.openai import OpenAIAdapter

KEY = "sk-eval-secret-4471"
MODEL = "served-vlm"


class ChatServer:
    """A chat-completions server: answers "Yes" to a mostly red image, "No" to another, "A" to an
    options question; `plan` gives status codes to answer before success, per (prompt, image)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.answered: Counter = Counter()  # (prompt, image digest) -> 200 replies
        self.attempts: Counter = Counter()
        self.auth: set[str | None] = set()
        self.plan: list[int] = []  # statuses every question gets first, in order
        self.refuse: set[str] = set()  # prompt substrings answered 400 (a request that fails for good)
        self.echo_401 = False
        self.in_flight = self.max_in_flight = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    server.handle(self, body)
                finally:
                    with server.lock:
                        server.in_flight -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def handle(self, h: BaseHTTPRequestHandler, body: dict) -> None:
        assert h.path == "/v1/chat/completions" and body["model"] == MODEL and body["temperature"] == 0
        assert body["max_tokens"] >= 1
        (message,) = body["messages"]
        assert message["role"] == "user" and isinstance(message["content"], list)
        parts = {p["type"]: p for p in message["content"]}
        prompt = parts["text"]["text"]
        url = parts["image_url"]["image_url"]["url"]
        assert url.startswith("data:image/png;base64,")
        png = base64.b64decode(url.split(",", 1)[1])
        image = Image.open(io.BytesIO(png)).convert("RGB")
        ident = (prompt, png)
        with self.lock:
            self.auth.add(h.headers.get("Authorization"))
            attempt = self.attempts[ident]
            self.attempts[ident] += 1
        time.sleep(0.01)
        if self.echo_401:
            return self.send(h, 401, {"error": {"message": f"bad key {h.headers.get('Authorization')}"}})
        if any(s in prompt for s in self.refuse):
            return self.send(h, 400, {"error": {"message": "this one fails"}})
        if attempt < len(self.plan):
            return self.send(h, self.plan[attempt], {"error": {"message": "busy"}}, retry_after="0")
        r, g, b = image.getpixel((image.width // 2, image.height // 2))
        answer = "A" if "\nA. " in prompt else ("Yes" if r > max(g, b) else "No")
        with self.lock:
            self.answered[ident] += 1
        self.send(h, 200, {"id": "x", "object": "chat.completion", "model": MODEL, "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": f" {answer}\n"}}]})

    @staticmethod
    def send(h, status: int, payload: dict, retry_after: str | None = None) -> None:
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        if retry_after is not None:
            h.send_header("Retry-After", retry_after)
        h.end_headers()
        h.wfile.write(data)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = ChatServer()
    yield s
    s.close()


def _config(server, root, out, **kw) -> EvalConfig:
    base = dict(bench_root=root, out=out, adapter="openai", api_base=server.url, model_name=MODEL,
                api_key_env="MY_EVAL_KEY", benchmarks="pope,mmbench", languages="en,de", batch_size=5,
                concurrency=4, progress=False, fidelity=False)
    return EvalConfig(**{**base, **kw})


def _all_bytes(folder) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_eval_through_a_server_retries_and_never_shows_the_key(server, translated_root, tmp_path, monkeypatch,
                                                             capsys):
    monkeypatch.setenv("MY_EVAL_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-official-never-sent")
    server.plan = [429, 500]  # every question: a 429, then a 500, then the answer
    out = tmp_path / "eval"
    code = main(["eval", "--adapter", "openai", "--api-base", server.url, "--model-name", MODEL,
                 "--api-key-env", "MY_EVAL_KEY", "--bench-root", str(translated_root), "--benchmarks", "pope,mmbench",
                 "--languages", "en,de", "--out", str(out), "--concurrency", "4", "--batch-size", "5",
                 "--no-progress", "--no-fidelity"])
    assert code == 0
    rows = read_predictions(sorted((out / "predictions").glob("*.jsonl")))
    assert len(rows) == (6 + 6) * 2
    assert server.auth == {f"Bearer {KEY}"}  # the named variable's key; OPENAI_API_KEY stays home
    assert all(n == 3 for n in server.attempts.values())  # 429 and 500 retried
    assert max(server.answered.values()) == 1  # a repeated (prompt, image) is answered from the cache
    assert server.max_in_flight > 1
    pope = {(r["language"], r["split"], r["question_id"]): r for r in rows if r["benchmark"] == "pope"}
    assert pope[("en", "random", "1")]["output"] == "No"  # p1.png is dark: the image went through
    assert all(r["output"] == "A" for r in rows if r["benchmark"] == "mmbench")
    assert {(r["adapter"], r["model_id"]) for r in rows} == {("openai", MODEL)}
    assert rows[0]["generation"] == {"max_new_tokens": 16, "temperature": 0.0}
    run = json.loads((out / "run.json").read_text())
    assert run["adapter"] == "openai" and run["api_base"] == server.url and run["model"] == MODEL
    printed = capsys.readouterr()
    assert KEY not in printed.out + printed.err
    assert KEY.encode() not in _all_bytes(out) and (out / "request-cache.sqlite").is_file()


def test_a_killed_run_resumes_without_asking_twice(server, translated_root, tmp_path, monkeypatch):
    monkeypatch.setenv("MY_EVAL_KEY", KEY)
    out = tmp_path / "eval"
    server.refuse = {"[de] Is there a dog"}  # a German POPE question fails for good, mid-batch
    with pytest.raises(UserError, match="HTTP 400 .*this one fails"):
        run_eval(_config(server, translated_root, out))
    first = sum(server.answered.values())
    assert first > 0
    server.refuse = set()
    run_eval(_config(server, translated_root, out))
    assert max(server.answered.values()) == 1  # nothing answered before was asked again
    rows = read_predictions(sorted((out / "predictions").glob("*.jsonl")))
    assert len(rows) == 24 and sum(server.answered.values()) < 24 + first
    # a rerun of the finished run asks nothing
    before = sum(server.attempts.values())
    run_eval(_config(server, translated_root, out))
    assert sum(server.attempts.values()) == before


def test_the_key_goes_only_where_it_is_named(server, tmp_path, monkeypatch):
    red = Image.new("RGB", (8, 8), (255, 0, 0))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    adapter = make_adapter("openai", api_base=server.url, model_name=MODEL, request_cache=None)
    assert adapter.generate([Request(red, "Red?"), Request(red.convert("L"), "Red?")]) == ["Yes", "No"]
    assert server.auth == {None}  # OPENAI_API_KEY goes to api.openai.com only
    monkeypatch.setenv("MY_EVAL_KEY", KEY)
    server.echo_401 = True  # a server that echoes the key in its error
    adapter = OpenAIAdapter(api_base=server.url, model_name=MODEL, api_key_env="MY_EVAL_KEY", retries=0)
    with pytest.raises(UserError) as err:
        adapter.generate([Request(red, "Red?")])
    assert KEY not in str(err.value) and "HTTP 401" in str(err.value) and "***" in str(err.value)
    monkeypatch.delenv("MY_EVAL_KEY")
    with pytest.raises(UserError, match="needs an API key in the environment variable MY_EVAL_KEY"):
        OpenAIAdapter(api_base=server.url, model_name=MODEL, api_key_env="MY_EVAL_KEY")
    with pytest.raises(UserError, match="needs --api-base URL"):
        make_adapter("openai", model_name=MODEL)
    with pytest.raises(UserError, match="needs --model-name NAME"):
        make_adapter("openai", api_base=server.url)


def test_request_cache_key_is_model_prompt_image_and_settings(tmp_path, tiny_image):
    settings = {"max_new_tokens": 16, "temperature": 0.0}
    key = request_key(MODEL, "Red?", tiny_image, settings)
    assert key == request_key(MODEL, "Red?", tiny_image.copy(), dict(settings))
    other = tiny_image.copy()
    other.putpixel((0, 0), (1, 2, 3))
    assert len({key, request_key("other", "Red?", tiny_image, settings), request_key(MODEL, "Red!", tiny_image, settings),
                request_key(MODEL, "Red?", other, settings), request_key(MODEL, "Red?", None, settings),
                request_key(MODEL, "Red?", tiny_image, {**settings, "max_new_tokens": 8})}) == 6
    cache = RequestCache(tmp_path / "c.sqlite")
    cache.put(key, MODEL, "Yes")
    cache.close()
    assert RequestCache(tmp_path / "c.sqlite").get(key) == "Yes"
    (tmp_path / "bad.sqlite").write_bytes(b"not a database at all, just some bytes" * 100)
    with pytest.raises(UserError, match="request cache .* cannot be used .* Fix: delete the file"):
        RequestCache(tmp_path / "bad.sqlite").get(key)
