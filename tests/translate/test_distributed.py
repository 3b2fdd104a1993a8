"""The Ray engine: `data build --engine ray` on a local Ray (2 CPUs, pseudo backend) writes the file
`--engine local` writes, byte for byte; a run stopped midway resumes from the cache and sends the
backend only what was not finished."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from lrm_llava.cli import main
from lrm_llava.errors import TranslationError, UserError
from lrm_llava.instruct import BuildConfig, build_dataset
from lrm_llava.translate import TranslationCache, make_translator, translate_texts
from lrm_llava.translate.distributed import RayEngine, make_engine, translate_block

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")


@pytest.fixture(scope="module")
def local_ray():
    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield
    if started:
        ray.shutdown()


def _word(i: int) -> str:
    return "".join("bcdfghjklm"[int(d)] for d in str(i)) + "o"  # numbers are masked before MT: use words


def _source(tmp_path, n=60):
    rows = []
    for i in range(n):
        i = _word(i)
        rows.append({"id": f"s{i}", "image": f"img/{i}.png", "conversations": [
            {"from": "human", "value": f"<image>\nWhat colour is the car number {i}?\n"
                                       "Answer the question using a single word or phrase."},
            {"from": "gpt", "value": f"It is red, car {i}. The driver waves."},
            {"from": "human", "value": f"Where does car {i} park?"}, {"from": "gpt", "value": "Near the park gate."}]})
    path = tmp_path / "en.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def _cli(src, out, *extra):
    return main(["data", "build", "--source", str(src), "--stage", "finetune", "--languages", "de,fr,zh",
                 "--backend", "pseudo", "--out", str(out), "--no-progress", "--option", "batch_size=8", *extra])


def test_translate_block_follows_local_rules():
    tr = make_translator("pseudo")
    out = translate_block(tr, ["a [0] b", "c"], "en", "de")
    assert out["good"] == {"a [0] b": "[de] a [0] b", "c": "[de] c"} and out["bad"] == []


def test_engine_equals_local_byte_for_byte(tmp_path, local_ray, capsys):
    src = _source(tmp_path)
    assert _cli(src, tmp_path / "local.json") == 0
    assert _cli(src, tmp_path / "ray.json", "--engine", "ray", "--engine-option", "workers=2,block_size=7") == 0
    assert "ray engine:" in capsys.readouterr().out
    assert (tmp_path / "ray.json").read_bytes() == (tmp_path / "local.json").read_bytes()
    stats = json.loads((tmp_path / "ray.stats.json").read_text())
    local = json.loads((tmp_path / "local.stats.json").read_text())
    assert stats["engine"]["workers"] == 2 and stats["engine"]["blocks"] > 2
    for key in ("hits", "misses", "segments", "unique", "strings"):
        assert stats["translation"][key] == local["translation"][key], key
    # a finished build reruns with no backend call
    assert _cli(src, tmp_path / "ray.json", "--engine", "ray") == 0
    rerun = json.loads((tmp_path / "ray.stats.json").read_text())
    assert rerun["translation"]["calls"] == 0 and rerun["engine"]["blocks"] == 0


def test_killed_run_resumes_and_sends_only_the_rest(tmp_path, local_ray):
    src = _source(tmp_path)
    cfg = dict(sources=[str(src)], out=str(tmp_path / "multi.json"), languages="de,fr", backend="pseudo",
               progress=False, engine="ray", engine_options={"workers": 2, "block_size": 5},
               backend_options={"batch_size": 5})
    stopped = {**cfg, "engine_options": {"workers": 2, "block_size": 5, "stop_after_blocks": 3}}
    with pytest.raises(TranslationError, match="stopped after 3 finished blocks"):
        build_dataset(BuildConfig(**stopped))
    cache_path = tmp_path / "multi.translations.sqlite"
    with TranslationCache(cache_path) as cache:
        finished = cache._db.execute("SELECT COUNT(*) FROM translations").fetchone()[0]
    assert finished == 15  # three blocks of five, committed as they arrived
    stats = build_dataset(BuildConfig(**cfg))
    tr = stats.translation
    assert tr["hits"] == finished and tr["misses"] == tr["segments"] - finished  # only the rest was sent
    local = build_dataset(BuildConfig(**{**cfg, "engine": "local", "out": str(tmp_path / "local.json"),
                                         "cache": str(tmp_path / "fresh.sqlite")}))
    assert local.translation["misses"] == tr["segments"]
    assert (tmp_path / "multi.json").read_bytes() == (tmp_path / "local.json").read_bytes()


def test_engine_hook_in_translate_texts(tmp_path, local_ray):
    tr = make_translator("pseudo")
    texts = [f"The {_word(i)} sentence about a cat." for i in range(20)] + ["B", "12"]
    engine = RayEngine("pseudo", {}, workers=2, block_size=4)
    with TranslationCache(tmp_path / "c.sqlite") as cache:
        out = translate_texts(texts, "en", "de", tr, cache, engine=engine)
    assert list(out) == list(translate_texts(texts, "en", "de", tr, None))
    assert out.stats.calls == engine.counters["calls"] > 0


def test_engine_options_are_checked():
    assert make_engine("local", "pseudo", {}) is None
    with pytest.raises(UserError, match="unknown engine option"):
        make_engine("ray", "pseudo", {}, engine_options={"wrokers": 2})
    with pytest.raises(UserError, match="--address needs --engine ray"):
        make_engine("local", "pseudo", {}, address="auto")


def test_bench_translate_on_ray_equals_local(tmp_path, local_ray):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from benchdata import make_bench_root

    from lrm_llava.bench.run import load_items

    outs = {}
    for engine in ("local", "ray"):
        root = make_bench_root(tmp_path / engine)
        argv = ["bench", "translate", "--benchmark", "seed", "--src", str(root), "--out", str(root),
                "--languages", "de,cs", "--backend", "pseudo", "--no-progress", "--engine", engine]
        if engine == "ray":
            argv += ["--engine-option", "workers=2,block_size=3"]
        assert main(argv) == 0
        outs[engine] = {lang: [(i.question_id, i.question, i.options) for i in load_items(root, "seed", lang)]
                        for lang in ("de", "cs")}
    assert outs["ray"] == outs["local"] and outs["ray"]["de"]


def test_hf_mt_model_on_ray_equals_local(tmp_path, local_ray):
    """A real `transformers` MT model (a random Marian built here, the one of
    benchmarks/translate_throughput.py) loaded by every Ray actor from its folder: the blocks are
    whole calls of the local engine's (256 segments), so the model sees the same batches and the
    output is the same bytes."""
    pytest.importorskip("transformers")
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from translate_throughput import build_tiny_marian

    src = _source(tmp_path, n=420)  # > 512 segments a language: three blocks each
    texts = [turn["value"] for row in json.loads(src.read_text()) for turn in row["conversations"]]
    build_tiny_marian(tmp_path / "marian", texts, d_model=16, layers=1)
    model = ("--backend", "marian", "--model", str(tmp_path / "marian"), "--option", "max_new_tokens=8")

    def build(out, *engine):
        argv = ["data", "build", "--source", str(src), "--stage", "finetune", "--languages", "de,zh",
                "--out", str(out), "--no-progress", "--option", "batch_size=8", *model, *engine]
        assert main(argv) == 0

    build(tmp_path / "local.json")
    build(tmp_path / "ray.json", "--engine", "ray", "--engine-option", "workers=2,block_size=10")
    stats = json.loads((tmp_path / "ray.stats.json").read_text())
    local = json.loads((tmp_path / "local.stats.json").read_text())
    print(stats["engine"], local["translation"])
    assert stats["engine"]["blocks"] >= 4 and stats["engine"]["block_size"] == 10
    assert local["translation"]["misses"] > local["translation"]["kept_english"]  # the model's words are used
    for key in ("misses", "kept_english", "segments"):
        assert stats["translation"][key] == local["translation"][key], key
    assert (tmp_path / "ray.json").read_bytes() == (tmp_path / "local.json").read_bytes()


def test_invalid_outputs_are_retried_in_a_second_pass_as_locally(tmp_path, local_ray):
    """A random tiny NLLB answers nothing valid: every segment goes to the second (retry) pass, then
    stays English, the same counts and bytes as the local engine."""
    pytest.importorskip("transformers")
    from mt_models import tiny_nllb

    tiny_nllb(tmp_path / "nllb")
    src = _source(tmp_path, n=12)
    outs = {}
    for engine in ("local", "ray"):
        argv = ["data", "build", "--source", str(src), "--stage", "finetune", "--languages", "de",
                "--out", str(tmp_path / f"{engine}.json"), "--no-progress", "--backend", "nllb",
                "--model", str(tmp_path / "nllb"), "--option", "max_new_tokens=4", "--engine", engine]
        assert main(argv + (["--engine-option", "workers=2"] if engine == "ray" else [])) == 0
        outs[engine] = json.loads((tmp_path / f"{engine}.stats.json").read_text())["translation"]
    assert outs["ray"]["retries"] == outs["local"]["retries"] == outs["local"]["segments"] > 0
    assert outs["ray"]["kept_english"] == outs["local"]["kept_english"] > 0
    assert (tmp_path / "ray.json").read_bytes() == (tmp_path / "local.json").read_bytes()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_joins_a_running_cluster_and_starts_its_own_beside_one(tmp_path):
    """A cluster started with `ray start --head` runs on this machine (as on a shared node):
    `--address auto` joins it, and a build without --address starts a Ray of its own beside it
    (Ray's default would join the running one and then refuse the CPU count of a local Ray); both
    write the local engine's bytes. A wrong address is a one-line error within seconds, not
    minutes of Ray retrying. The builds run as processes: this one already holds a Ray."""
    src = _source(tmp_path, n=30)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}

    def build(out, *extra):
        argv = [sys.executable, "-m", "lrm_llava.cli", "data", "build", "--source", str(src), "--stage", "finetune",
                "--languages", "de,fr", "--backend", "pseudo", "--out", str(out), "--no-progress", *extra]
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=240)

    assert build(tmp_path / "local.json").returncode == 0
    ray_bin = os.path.join(os.path.dirname(sys.executable), "ray")
    port = _free_port()
    head = subprocess.Popen([ray_bin, "start", "--head", "--block", "--port", str(port), "--num-cpus", "2",
                             "--include-dashboard=false", "--disable-usage-stats"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    try:
        started = time.monotonic()
        for line in head.stdout:  # `ray start` says when the node is up, then blocks
            if "Ray runtime started" in line or time.monotonic() - started > 90:
                break
        assert head.poll() is None, "ray start --head exited"
        for name, extra in (("joined", ("--address", "auto")), ("beside", ())):
            run = build(tmp_path / f"{name}.json", "--engine", "ray", "--engine-option", "workers=2", *extra)
            assert run.returncode == 0, run.stderr[-2000:]
            assert (tmp_path / f"{name}.json").read_bytes() == (tmp_path / "local.json").read_bytes(), name
        wrong = build(tmp_path / "wrong.json", "--engine", "ray", "--address", f"127.0.0.1:{_free_port()}")
        assert wrong.returncode != 0 and "Traceback" not in wrong.stderr
        assert "no Ray cluster answers at 127.0.0.1:" in wrong.stderr and not (tmp_path / "wrong.json").exists()
    finally:
        # SIGKILL: `ray start --block` takes ~30 s to stop on SIGTERM; `ray stop` would stop every
        # Ray of the machine, this process's included
        os.killpg(head.pid, signal.SIGKILL)
        head.wait(timeout=60)
        current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
        if current.exists() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()  # the dead head's address: no later `auto` should try it
