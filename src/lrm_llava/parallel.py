"""Independent CPU jobs side by side, each in its own spawned process with its own torch thread
count and log file.

    run_jobs([Job("a", train_a, (cfg,), Path("logs/a.log")), Job("b", ...)], workers=2, threads=1)

Why: the tiny ShapeWorld models multiply 128-wide matrices, which one core keeps busy and a second
speeds up by far less than 2x. On two cores, two of the demo's stage-2 trainings side by side on
one thread each finish 1.16x sooner than one after the other on two threads
(`benchmarks/side_by_side.py`, docs/performance.md). Processes are spawned (not forked), which is
safe with CUDA and with torch's thread pools.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lrm_llava.errors import UserError


@dataclass(frozen=True)
class Job:
    """One call `fn(*args)` to run in a worker process."""

    label: str
    """Name in progress lines and errors."""
    fn: Callable[..., Any]
    """A module-level function (it is pickled by reference)."""
    args: tuple
    """Its arguments (pickled)."""
    log: Path
    """File that receives everything the job prints, progress bars included."""


def _call_logged(log: str, threads: int, fn: Callable[..., Any], args: tuple) -> Any:
    import torch

    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    torch.set_num_threads(threads)
    return fn(*args)


def threads_per_worker(workers: int) -> int:
    """The CPUs shared evenly between the workers (at least one thread each)."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def last_line(log: Path, tail_bytes: int = 4096) -> str:
    """The last non-empty line of a log file ("" if none yet); a progress bar's carriage-return
    updates count as lines, so this is the bar as it stands now."""
    try:
        with open(log, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - tail_bytes))
            tail = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in re.split(r"[\r\n]", tail)]
    return next((line for line in reversed(lines) if line), "")


def format_progress(lines: dict[str, str], width: int = 72) -> str:
    """One terminal line from `on_progress`'s {label: last log line}: progress-bar glyphs dropped,
    each job's line cut to `width` characters."""
    parts = []
    for label, line in lines.items():
        line = " ".join(re.sub(r"\|[^|]*\|", " ", line).split())
        parts.append(f"{label}: {line[:width]}")
    return " | ".join(parts)


def run_jobs(jobs: list[Job], workers: int, threads: int,
             on_done: Callable[[Job, int, str | None], None] | None = None, noun: str = "jobs",
             on_progress: Callable[[dict[str, str]], None] | None = None,
             progress_every: float = 30.0) -> list[Any]:
    """Run every job, `workers` at a time; their return values in the order of `jobs`.

    A failed job does not stop the others. `on_done(job, finished_count, error_or_None)` is called as
    each one ends. `on_progress({label: last log line})` is called every `progress_every` seconds
    in which no job ended, for the jobs running, so a terminal shows life while output goes to the
    logs. When any failed, a UserError lists them all with their logs.
    """
    for job in jobs:
        job.log.parent.mkdir(parents=True, exist_ok=True)
    results: list[Any] = [None] * len(jobs)
    failed: list[str] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_call_logged, str(job.log), threads, job.fn, job.args): i
                   for i, job in enumerate(jobs)}
        pending, done = set(futures), 0
        while pending:
            ended, pending = wait(pending, timeout=progress_every if on_progress else None,
                                  return_when=FIRST_COMPLETED)
            if not ended and on_progress is not None:
                running = sorted(futures[f] for f in pending if f.running())  # in the order of `jobs`
                lines = {jobs[i].label: line for i in running if (line := last_line(jobs[i].log))}
                if lines:
                    on_progress(lines)
            for future in ended:
                i, done = futures[future], done + 1
                error = None
                try:
                    results[i] = future.result()
                except Exception as err:  # noqa: BLE001 - reported with its log, after the other jobs
                    error = f"{type(err).__name__}: {err}"
                    failed.append(f"{jobs[i].label}: {error} (log: {jobs[i].log})")
                if on_done is not None:
                    on_done(jobs[i], done, error)
    if failed:
        raise UserError(f"{len(failed)} of {len(jobs)} {noun} failed; what the others finished is kept, so "
                        "rerunning the same command redoes only these:\n  " + "\n  ".join(failed))
    return results
