"""kill -9 at random points, then the same command again: the result equals an uninterrupted run's.

For `data build`, `eval` and `train`, the real entry point (`python -m lrm_llava.cli`) runs in a
subprocess and gets SIGKILL from the test at a point drawn from a seeded generator
(`LRM_HOSTILE_SEED`, default 7), chosen by watching what the command writes: the requests it has
sent to a slow local translation server, the prediction lines it has flushed, the checkpoint it is
saving. A second run of the same command is killed again (resuming a resumed run), and a third
(in-process) finishes. Then:

- `data build`: the output JSON is byte for byte the uninterrupted run's, and the backend was asked
  for no finished batch twice (at most one batch in flight is lost per kill);
- `eval`: `results.json` and `results.csv` are byte for byte the uninterrupted run's and the
  predictions hold the same rows, each question once (a line torn by the kill is dropped);
- `train`: the final weights are `torch.equal` to the uninterrupted run's, after one kill while a
  checkpoint folder is being written (before its `trainer_state.json`) when the timing allows it,
  and one during the final save.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest
import torch
from hostile_support import (
    SlowTranslateAPI,
    World,
    kill_when,
    llava_samples,
    run_cli,
    spawn_cli,
    write_images,
)

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("LRM_HOSTILE_SEED", "7"))


def _kill_when(argv: list[str], log: Path, condition, *, group: bool = False) -> bool:
    """Run the command in a subprocess (output appended to `log`) and SIGKILL it (`group`: with its
    process group) once `condition()` holds; False when it finished (successfully) first."""
    with log.open("ab") as fh:
        proc = spawn_cli(argv, stdout=fh, stderr=subprocess.STDOUT, start_new_session=group)
    return kill_when(proc, condition, log_file=log, group=group)


def _ok(argv: list[str]) -> None:
    result = run_cli(argv)
    assert result.code == 0 and not result.escaped, f"{argv} failed:\n{result.err[-3000:]}\n{result.escaped}"


# ------------------------------------------------------------------------------------------ data build
_ADJ = ("red", "small", "round", "bright", "striped", "wooden", "shiny", "old")
_NOUN = ("ball", "cup", "lamp", "chair", "kite", "boat", "hat", "clock")


def wordy_samples(n: int) -> list[dict]:
    """`n` samples whose sentences differ in words (numbers are masked before MT, so they would not)."""
    out = []
    for i in range(n):
        adj, noun, other = _ADJ[i % 8], _NOUN[(i // 8) % 8], _NOUN[(i + 3) % 8]
        out.append({"id": f"w{i}", "image": f"{i % 6}.png", "conversations": [
            {"from": "human", "value": f"<image>\nWhere is the {adj} {noun}?"},
            {"from": "gpt", "value": f"The {adj} {noun} is next to the {other}."},
            {"from": "human", "value": f"Is the {noun} bigger than the {other}?"},
            {"from": "gpt", "value": f"Yes, the {noun} looks {adj} and bigger."}]})
    return out

def test_data_build_killed_twice_resumes_to_the_same_bytes(tmp_path):
    rng = random.Random(f"{SEED}:build")
    base = tmp_path
    source = base / "en.json"
    source.write_text(json.dumps(wordy_samples(48)), encoding="utf-8")
    images = write_images(base / "img")
    api = SlowTranslateAPI(delay=0.03)
    try:
        def argv(out: Path) -> list[str]:
            return ["data", "build", "--source", str(source), "--image-root", str(images), "--stage", "finetune",
                    "--languages", "de,fr", "--mix", "1.0", "--backend", "google", "--base-url", api.url,
                    "--option", "batch_size=4", "--option", "retries=0", "--out", str(out), "--no-progress"]

        _ok(argv(base / "ref" / "out.json"))
        total, unique = api.requests, len(api.texts)
        assert total >= 20, f"only {total} requests: too few to kill in the middle"

        api.reset()
        out = base / "cut" / "out.json"
        k1 = rng.randint(max(1, total // 5), total // 2)
        killed = _kill_when(argv(out), base / "build.log", lambda: api.requests >= k1)
        assert killed and not out.exists(), f"kill 1 at request {k1} of {total}: the output must not exist yet"
        first = api.requests

        k2 = rng.randint(1, total - first + 1)  # the last value: after the last request (writing the output)
        start = api.requests
        killed2 = _kill_when(argv(out), base / "build.log", lambda: api.requests - start >= k2)
        _ok(argv(out))
        print(f"data build: {total} requests; killed at request {k1}, then {k2} after the restart "
              f"({'killed' if killed2 else 'finished first'}); {len(api.texts)} strings sent for {unique}")

        ref = (base / "ref" / "out.json").read_bytes()
        assert out.read_bytes() == ref, f"seed {SEED}: kills at request {k1} and {k2} after the restart, of {total}"
        assert len(api.texts) <= unique + 2 * 4, (
            f"{len(api.texts)} strings sent over the killed runs for {unique} distinct: finished batches were "
            "asked for again")
    finally:
        api.close()


def test_data_build_on_ray_killed_twice_resumes_to_the_same_bytes(tmp_path):
    """`--engine ray`: the driver and the local Ray it started get SIGKILL (the process group, as a
    scheduler kills a job) while workers are translating; the rerun resumes from the blocks the
    driver had committed to the cache and asks the backend only for the rest (plus what was in
    flight at the kill), and the output equals `--engine local`'s byte for byte."""
    pytest.importorskip("ray.data")
    rng = random.Random(f"{SEED}:ray")
    source = tmp_path / "en.json"
    source.write_text(json.dumps(wordy_samples(48)), encoding="utf-8")
    images = write_images(tmp_path / "img")
    api = SlowTranslateAPI(delay=0.05)
    workers, block, batch = 2, 8, 4
    try:
        def argv(out: Path, *engine: str) -> list[str]:
            return ["data", "build", "--source", str(source), "--image-root", str(images), "--stage", "finetune",
                    "--languages", "de,fr", "--mix", "1.0", "--backend", "google", "--base-url", api.url,
                    "--option", f"batch_size={batch}", "--option", "retries=0", "--out", str(out), "--no-progress",
                    *engine]

        ray = ("--engine", "ray", "--engine-option", f"workers={workers},block_size={block},num_cpus=2")
        _ok(argv(tmp_path / "ref" / "out.json"))  # the local engine, uninterrupted
        total, unique = api.requests, len(api.texts)
        assert total >= 20, f"only {total} requests: too few to kill in the middle"

        api.reset()
        out = tmp_path / "cut" / "out.json"
        cache = out.with_name("out.translations.sqlite")

        def committed_pairs() -> set[tuple[str, str]]:
            """The (target language, source string) pairs the driver has committed to the cache."""
            import sqlite3

            if not cache.exists():
                return set()
            try:
                with sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=0.2) as db:
                    return set(db.execute("SELECT tgt, text FROM translations").fetchall())
            except sqlite3.Error:
                return set()  # being created or locked by the writer: look again

        def committed() -> int:
            return len(committed_pairs())

        # Each killed run is checked on its own: nothing the runs before it had committed is asked
        # for again. What a kill loses is only what was not committed: blocks in flight or finished
        # on a worker but not yet written by the driver (their number depends on Ray's scheduling).
        before: set[tuple[str, str]] = set()
        runs = []
        k1 = rng.randint(2, max(2, unique // block // 2)) * block
        start = len(api.asked)
        killed = _kill_when(argv(out, *ray), tmp_path / "build.log", lambda: committed() >= k1, group=True)
        assert killed and not out.exists(), f"kill 1 after {k1} committed segments of {unique}"
        runs.append((before, api.asked[start:]))
        before = committed_pairs()
        k2 = len(before) + rng.randint(1, max(1, (unique - len(before)) // block - 1)) * block
        start = len(api.asked)
        killed2 = _kill_when(argv(out, *ray), tmp_path / "build.log", lambda: committed() >= k2, group=True)
        runs.append((before, api.asked[start:]))
        before = committed_pairs()
        start = len(api.asked)
        _ok(argv(out, *ray))
        runs.append((before, api.asked[start:]))
        print(f"data build --engine ray: {unique} distinct strings; committed before each run: "
              f"{[len(done) for done, _ in runs]} ({'killed' if killed2 else 'finished first'} the second time); "
              f"{len(api.texts)} strings sent in all")

        assert out.read_bytes() == (tmp_path / "ref" / "out.json").read_bytes()
        # The cache keys what the backend was asked (same language codes, same strings): so the
        # check below compares like with like.
        assert set(api.asked) <= committed_pairs()
        for number, (done, asked) in enumerate(runs, 1):
            again = [pair for pair in asked if pair in done]
            assert not again, f"run {number} asked again for {len(again)} committed strings, e.g. {again[:2]}"
        # (a set: a request a killed worker had already sent can reach the server after the kill)
        assert len(set(runs[-1][1])) == unique - len(runs[-1][0]), "the last run asked for more than was missing"
    finally:
        api.close()


# ------------------------------------------------------------------------------------------------ eval
def _lines(folder: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in folder.glob("*.jsonl")) if folder.is_dir() else 0


def _rows(folder: Path) -> dict[str, list[dict]]:
    return {p.name: [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
            for p in sorted(folder.glob("*.jsonl"))}


def test_eval_killed_twice_resumes_to_the_same_results(world: World, tmp_path):
    rng = random.Random(f"{SEED}:eval")

    def argv(out: Path) -> list[str]:
        return ["eval", "--model", str(world.model), "--bench-root", str(world.bench), "--benchmarks",
                "mme,pope,mmbench,seed", "--languages", "en", "--out", str(out), "--batch-size", "1",
                "--max-new-tokens", "4", "--device", "cpu", "--dtype", "float32", "--no-fidelity", "--no-progress"]

    ref = tmp_path / "ref"
    _ok(argv(ref))
    total = _lines(ref / "predictions")
    assert total >= 10

    out = tmp_path / "cut"
    k1 = rng.randint(1, total - 1)
    killed = _kill_when(argv(out), tmp_path / "eval.log", lambda: _lines(out / "predictions") >= k1)
    assert killed and not (out / "results.json").exists(), f"kill 1 at prediction {k1} of {total}"
    # the second run answers the rest and is killed once every answer is on disk: while scoring and
    # writing the report
    killed2 = _kill_when(argv(out), tmp_path / "eval.log", lambda: _lines(out / "predictions") >= total)
    print(f"eval: {total} predictions; killed at line {k1}, then once all were written "
          f"({'killed' if killed2 else 'finished first'}; results.json then: {(out / 'results.json').exists()})")
    _ok(argv(out))

    for name in ("results.json", "results.csv"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), f"{name} differs (seed {SEED}, kill at {k1})"
    assert _rows(out / "predictions") == _rows(ref / "predictions")


# ----------------------------------------------------------------------------------------------- train
def _state(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_train_killed_while_saving_resumes_to_the_same_weights(tmp_path):
    rng = random.Random(f"{SEED}:train")
    data = tmp_path / "train.json"
    data.write_text(json.dumps(llava_samples(16)), encoding="utf-8")
    images = write_images(tmp_path / "img")
    steps = 24

    def argv(out: Path, *extra: str) -> list[str]:
        return ["train", "--recipe", "tiny", "--stage", "pretrain", "--data", str(data), "--image-root", str(images),
                "--output-dir", str(out), "--set", f"max_steps={steps}", "--set", "save_steps=2", *extra]

    ref = tmp_path / "ref"
    _ok(argv(ref))

    out = tmp_path / "cut"
    step = 2 * rng.randint(2, steps // 2 - 2)
    seen: dict[str, bool] = {}

    def saving() -> bool:
        # the checkpoint folder exists but its trainer_state.json (written last) does not yet
        for name in (f"checkpoint-{step}", f"tmp-checkpoint-{step}"):
            folder = out / name
            if folder.is_dir():
                seen["mid_save"] = not (folder / "trainer_state.json").exists()
                return True
        # a poll that came too late (a loaded machine): kill at the next checkpoint instead
        if any(p.name.split("-")[-1].isdigit() and int(p.name.split("-")[-1]) > step for p in out.glob("checkpoint-*")):
            seen["mid_save"] = False
            return True
        return False

    assert _kill_when(argv(out), tmp_path / "train.log", saving), f"kill at checkpoint-{step}"
    assert not (out / "recipe.yaml").exists()
    if seen.get("mid_save"):
        assert not (out / f"checkpoint-{step}" / "trainer_state.json").exists()
    # resumed, then killed while the final model folder is being written
    killed2 = _kill_when(argv(out, "--resume"), tmp_path / "train.log", lambda: (out / "model.safetensors").exists())
    print(f"train: killed at checkpoint-{step} (mid-save: {seen.get('mid_save')}), then in the final save "
          f"({'killed' if killed2 else 'finished first'})")
    _ok(argv(out, "--resume"))

    a, b = _state(ref), _state(out)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), (
        f"seed {SEED}: weights differ after a kill at checkpoint-{step} (mid-save: {seen.get('mid_save')})")
    logged = [json.loads(line)["step"] for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert logged == list(range(1, steps + 1))
