"""`torchrun --nproc_per_node 2 -m lrm_llava.cli eval ...` on CPU: the questions are shared by rank,
a killed two-process run resumes, and the results equal a one-process run's."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lrm_llava.bench import EvalConfig, read_predictions, run_eval
from lrm_llava.bench.run import process_rank
from lrm_llava.errors import UserError

ARGS = dict(benchmarks="mme,pope,mmbench,seed", languages="en,de", batch_size=3, max_new_tokens=3,
            model_name="tiny", progress=False, fidelity=False, device="cpu")


class Killed(Exception):
    pass


def _kill_after(n: int):
    def on_batch(batches, rows):
        if batches == n:
            raise Killed

    return on_batch


@pytest.mark.slow
def test_torchrun_two_processes_resume_and_equal_one_process(saved_tiny_model, translated_root, tmp_path,
                                                             monkeypatch):
    one = tmp_path / "one"
    run_eval(EvalConfig(model=str(saved_tiny_model), bench_root=translated_root, out=one, **ARGS))

    two = tmp_path / "two"
    cfg = EvalConfig(model=str(saved_tiny_model), bench_root=translated_root, out=two, **ARGS)
    monkeypatch.setenv("WORLD_SIZE", "2")
    for rank, batches in ((1, 1), (0, 2)):  # both ranks killed part way, as a kill leaves them
        monkeypatch.setenv("RANK", str(rank))
        with pytest.raises(Killed):
            run_eval(cfg, on_batch=_kill_after(batches))
    pred = two / "predictions"
    assert len(read_predictions([pred / "mme.rank1.jsonl"])) == 3
    assert len(read_predictions([pred / "mme.rank0.jsonl"])) == 4  # all of its English MME share
    with open(pred / "mme.rank0.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"model": "tiny", "question_id": "exis')  # a half-written line
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")

    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "lrm_llava.cli", "eval", "--model", str(saved_tiny_model), "--bench-root", str(translated_root),
           "--benchmarks", ARGS["benchmarks"], "--languages", ARGS["languages"], "--batch-size", "3",
           "--max-new-tokens", "3", "--model-name", "tiny", "--out", str(two), "--no-progress", "--no-fidelity",
           "--device", "cpu"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    assert (two / "results.json").read_bytes() == (one / "results.json").read_bytes()
    assert sorted(p.name for p in pred.iterdir()) == ["mmbench.jsonl", "mme.jsonl", "pope.jsonl", "seed.jsonl",
                                                      "settings.json"]  # rank files and markers merged away
    rows = read_predictions(sorted(pred.glob("*.jsonl")))
    ones = {(r["benchmark"], r["language"], r["split"], r["question_id"]): r["output"]
            for r in read_predictions(sorted((one / "predictions").glob("*.jsonl")))}
    assert {(r["benchmark"], r["language"], r["split"], r["question_id"]): r["output"] for r in rows} == ones
    assert len(rows) == len(ones)
    assert json.loads((two / "run.json").read_text())["processes"] == 2


def test_rank_and_world_size_come_from_the_environment(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert process_rank() == (0, 1)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert process_rank() == (1, 4)
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(UserError, match="the rank must be 0 ... WORLD_SIZE-1"):
        process_rank()
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(UserError, match="not numbers"):
        process_rank()
