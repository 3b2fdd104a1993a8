"""Tiny valid inputs for the hostile tests, and the helpers that run the real command line.

`make_world` (behind the session fixture `world` of conftest.py; read-only: copy before breaking
anything) holds a tiny English LLaVA file with its images, the four benchmarks in English
(`tests/bench/benchdata.py`), a predictions file and the tiny saved model of `tests/conftest.py`. `run_cli` runs `lrm_llava.cli.main` in-process and
returns (exit code, stdout, stderr, traceback text of anything that escaped); `spawn_cli` starts the
real entry point, `python -m lrm_llava.cli`, in a subprocess. `digest` hashes files and folders, to
check that a command left its inputs byte for byte as they were.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

_BENCH_TESTS = str(Path(__file__).resolve().parents[1] / "bench")
if _BENCH_TESTS not in sys.path:  # pytest puts it there when it collects tests/bench; not when run alone
    sys.path.append(_BENCH_TESTS)
from benchdata import make_bench_root  # noqa: E402  (the bench tests' builders, reused)

COLOURS = {"red": (255, 0, 0), "green": (0, 200, 0), "blue": (0, 0, 255)}
REPO = Path(__file__).resolve().parents[2]


def llava_samples(n: int, *, prefix: str = "s") -> list[dict]:
    """`n` valid English samples: images 0.png .. (n % 3 text-only samples mixed in)."""
    samples = []
    for i in range(n):
        name = list(COLOURS)[i % 3]
        if i % 4 == 3:
            samples.append({"id": f"{prefix}{i}", "conversations": [
                {"from": "human", "value": f"Say hello number {i}."},
                {"from": "gpt", "value": f"Hello number {i}!"}]})
            continue
        samples.append({"id": f"{prefix}{i}", "image": f"{i % 6}.png", "conversations": [
            {"from": "human", "value": f"<image>\nWhat colour is picture {i}?"},
            {"from": "gpt", "value": f"Picture {i} is {name}."},
            {"from": "human", "value": f"Is picture {i} round?"},
            {"from": "gpt", "value": "No, it is a rectangle." if i % 2 else "Yes, it is round."}]})
    return samples


def write_images(root: Path, n: int = 6) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (24 + 2 * i, 16), list(COLOURS.values())[i % 3]).save(root / f"{i}.png")
    return root


def prediction_row(qid, output="yes", **kw) -> dict:
    return {"model": "m", "question_id": qid, "benchmark": "pope", "language": "en", "split": "random",
            "output": output, "answer": "yes", **kw}


@dataclass
class World:
    base: Path
    images: Path
    source: Path
    bench: Path
    model: Path
    predictions: Path


# ------------------------------------------------------------------------------------------ helpers
def digest(path: Path) -> dict[str, str]:
    """{relative path: sha256} of a file, or of every file and folder under a folder (the folder's
    own entries included, so a new file inside it counts as a change); {} when it does not exist."""
    path = Path(path)
    if not path.exists():
        return {}
    if path.is_file():
        return {".": hashlib.sha256(path.read_bytes()).hexdigest()}
    out = {}
    for p in sorted(path.rglob("*")):
        rel = str(p.relative_to(path))
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "<dir>"
    return out


@dataclass
class Result:
    code: int
    out: str
    err: str
    escaped: str
    """Traceback of an exception that escaped `main()` ("" if none): what a user would see."""


def run_cli(argv: list[str]) -> Result:
    """`lrm_llava.cli.main(argv)` in this process; exit codes from argparse (SystemExit) kept."""
    from lrm_llava.cli import main

    out, err = io.StringIO(), io.StringIO()
    escaped = ""
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - what escapes main() is what a user would see as a traceback
            escaped = traceback.format_exc()
            code = 1
    return Result(code, out.getvalue(), err.getvalue(), escaped)


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(REPO / "src"), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env


def spawn_cli(argv: list[str], **kw) -> subprocess.Popen:
    """The real entry point in a subprocess: `python -m lrm_llava.cli ARGV` (stdout/stderr piped)."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-m", "lrm_llava.cli", *argv], env=cli_env(), cwd=REPO, **kw)


def chmod_stops_writes(folder: Path) -> bool:
    """Whether a folder with mode 0o500 refuses new files here (not for root, which writes anyway)."""
    probe = folder / "probe"
    probe.mkdir()
    probe.chmod(0o500)
    try:
        (probe / "x").write_text("x")
    except OSError:
        return True
    finally:
        probe.chmod(0o700)
    return False


def make_world(base: Path, model: Path) -> World:
    images = write_images(base / "img")
    source = base / "src.json"
    source.write_text(json.dumps(llava_samples(8)), encoding="utf-8")
    bench = make_bench_root(base / "bench")
    predictions = base / "pope.jsonl"
    predictions.write_text("".join(json.dumps(prediction_row(str(i), "yes" if i % 2 else "no")) + "\n"
                                   for i in range(4)), encoding="utf-8")
    return World(base=base, images=images, source=source, bench=bench, model=Path(model), predictions=predictions)


# ------------------------------------------------------------------------------- kill -9 helpers
def kill_when(proc: subprocess.Popen, condition, *, log_file: Path | None = None, timeout: float = 120.0,
              poll: float = 0.0005, group: bool = False) -> bool:
    """SIGKILL `proc` as soon as `condition()` holds; True when it was killed, False when it ended
    on its own first (with status 0: any other status fails, showing the end of `log_file`). `poll`
    is short so that a kill lands inside windows of a few milliseconds (a checkpoint being written).
    `group`: kill the whole process group (start `proc` with `start_new_session=True`), as a job
    scheduler or a closed terminal does: the local Ray a driver started dies with it."""
    import signal
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        if proc.poll() is not None:
            if proc.returncode != 0:
                log = Path(log_file).read_text(errors="replace")[-3000:] if log_file else ""
                raise AssertionError(f"{proc.args} ended with status {proc.returncode} before the kill point:\n{log}")
            return False
        time.sleep(poll)
    proc.kill()
    proc.wait()
    raise AssertionError(f"{proc.args}: neither finished nor reached the kill point in {timeout:.0f}s")


class SlowTranslateAPI:
    """A local Google-Translate-v2-compatible server (`--backend google --base-url URL`) that
    answers each request after `delay` seconds with "<target>:<text>": a slow, deterministic
    backend, so that a `data build` spends seconds translating and can be killed in the middle.
    `requests` counts the requests received, `texts` every string asked for and `asked` each
    (target, string) pair in order."""

    def __init__(self, delay: float = 0.03):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.delay = delay
        self.lock = threading.Lock()
        self.requests = 0
        self.texts: list[str] = []
        self.asked: list[tuple[str, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                import time

                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with api.lock:  # several workers call at once
                    api.requests += 1
                    api.texts.extend(body["q"])
                    api.asked.extend((body["target"], q) for q in body["q"])
                time.sleep(api.delay)
                data = json.dumps({"data": {"translations": [{"translatedText": f"{body['target']}:{q}"}
                                                             for q in body["q"]]}}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed while we slept

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def reset(self) -> None:
        self.requests = 0
        self.texts = []
        self.asked = []

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
