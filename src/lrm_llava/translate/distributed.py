"""Distributed translation on Ray Data: the same segments, the same cache, many workers.

    from lrm_llava.translate.distributed import RayEngine
    engine = RayEngine("nllb", {"path": "models/nllb-200-distilled-600M", "device": "cuda"}, workers=8,
                       gpus_per_worker=1, address="auto")          # address=None starts a local Ray
    engine.prefill({"de": texts, "fr": texts}, "en", translator, cache)   # one job for every language
    out = translate_texts(texts, "en", "de", translator, cache, engine=engine)   # as without Ray
    engine.close()

How it works: the driver plans the segments exactly as `translate_texts` does (protection,
splitting, de-duplication, cache look-up) and splits the ones the cache lacks into blocks of
`block_size`. A Ray Data pipeline (`map_batches` over an actor pool of `workers` actors, each of
which builds its own backend once with `make_translator(backend, **options)`) translates the blocks
with the local rules (same batches of `max_batch`, same validity checks; what comes back invalid is
retried in a second pass over all blocks, in the local engine's order and batches). Finished blocks
stream back to the driver, which is the cache's only writer: each block is committed to the SQLite
cache as it arrives, so a killed job resumes with the blocks it finished, and the rest of the
pipeline (`translate_texts`, the build) reads the translations from the cache as if they had been
made in-process: the output is byte for byte the output of the local engine.

Multi-node: start Ray on each node (`ray start --head` on one, `ray start --address=HEAD:6379` on
the others, with lrm-llava and the model folder installed at the same path on each), then pass
`address="auto"` (or `--address auto` on the command line) on the head node. Keys of paid APIs are
read from each worker's environment, as in-process.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

from lrm_llava import languages
from lrm_llava.errors import TranslationError, UserError
from lrm_llava.translate.cache import TranslationCache, TranslationStats
from lrm_llava.translate.core import Translator, _cache_key, _call, _plans, _segments, _valid

ENGINES = ("local", "ray")
"""`--engine` values: in-process batches, or Ray Data workers."""


def translate_block(translator: Translator, segments: list[str], src: str, tgt: str) -> dict:
    """One pass over a block, by `translate_texts`' rules: batches of `max_batch`, each output
    checked. Returns {"good": {segment: output}, "bad": [segments, in order], "calls", "chars",
    "seconds"}; the driver retries the bad ones of all blocks together, as the local engine does."""
    stats = TranslationStats()
    good: dict[str, str] = {}
    bad: list[str] = []
    step = max(1, translator.max_batch)
    for i in range(0, len(segments), step):
        batch = segments[i : i + step]
        for seg, out in zip(batch, _call(translator, batch, src, tgt, stats)):
            if _valid(seg, out, translator):
                good[seg] = out
            else:
                bad.append(seg)
    return {"good": good, "bad": bad, "calls": stats.calls, "chars": stats.chars, "seconds": stats.seconds}


class BlockTranslator:
    """The Ray Data actor: builds its backend once, then translates whole blocks."""

    def __init__(self, backend: str, options: dict) -> None:
        from lrm_llava.translate.backends import make_translator

        self.translator = make_translator(backend, **options)

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        results = []
        for payload in batch["payload"]:
            job = json.loads(payload)
            start = time.perf_counter()
            out = translate_block(self.translator, job["segments"], job["src"], job["tgt"])
            out.update(block=job["block"], src=job["src"], tgt=job["tgt"], wall=time.perf_counter() - start)
            results.append(json.dumps(out, ensure_ascii=False))
        return {"result": np.array(results, dtype=object)}


@dataclass
class RayEngine:
    """Translate segments on a Ray Data actor pool (see the module docstring)."""

    backend: str
    """Backend name, as for `make_translator`."""
    options: dict = field(default_factory=dict)
    """`make_translator` options (path, model, device, batch_size, ...); each actor builds its own backend."""
    address: str | None = None
    """Ray cluster to join ("auto", "HEAD:6379", "ray://head:10001"); None: `RAY_ADDRESS` when set (a
    Ray job), else a new local Ray for this job, even where another runs on the machine."""
    workers: int = 2
    """Actors in the pool (one backend each)."""
    block_size: int = 256
    """Segments per block: the unit of work, of streaming back and of resuming."""
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    num_cpus: int | None = None
    """CPUs of a local Ray (default: what the workers need)."""
    progress: bool = False
    stop_after_blocks: int | None = None
    """Stop (TranslationError) after this many finished blocks, as if the job were killed (tests, drills)."""
    counters: dict = field(default_factory=lambda: {"blocks": 0, "segments": 0, "failed": 0, "calls": 0,
                                                    "chars": 0, "seconds": 0.0, "retries": 0, "wall": 0.0,
                                                    "cached": 0, "first_block_s": 0.0})
    """What the engine did: blocks and segments translated, backend calls, characters, seconds in the
    backends (summed over workers), wall-clock seconds of the Ray jobs, segments written to the cache,
    seconds until the first block came back (actor start-up and backend loading included)."""
    _prefilled: dict = field(default_factory=dict, repr=False)
    _good: dict = field(default_factory=dict, repr=False)
    _failed: dict = field(default_factory=dict, repr=False)
    _started: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if self.workers < 1 or self.block_size < 1:
            raise UserError(f"ray engine: workers ({self.workers}) and block_size ({self.block_size}) must be >= 1")

    # ------------------------------------------------------------------ the hook translate_texts calls
    def run(self, segments: list[str], src: str, tgt: str, translator: Translator, stats: TranslationStats,
            commit=None) -> tuple[dict[str, str], set[str]]:
        """`translate_texts`' engine hook: translate what `prefill` has not already done."""
        key = (src, tgt)
        good, failed = self._good.setdefault(key, {}), self._failed.setdefault(key, set())
        rest = [s for s in segments if s not in good and s not in failed]
        if rest:
            before = dict(self.counters)
            self._execute({key: rest}, {key: commit}, translator)
            for name in ("calls", "chars", "seconds", "retries"):
                setattr(stats, name, getattr(stats, name) + self.counters[name] - before[name])
        return {s: good[s] for s in segments if s in good}, {s for s in segments if s in failed}

    # ------------------------------------------------------------------ every language in one job
    def prefill(self, texts_by_lang: dict[str, list[str]], src: str, translator: Translator,
                cache: TranslationCache | None = None, max_chars: int = 400) -> dict:
        """Translate, in one Ray job, every segment `translate_texts` would send for these texts
        (per target language), committing each block to `cache` as it arrives. Returns the counters."""
        src = languages.get(src).code
        use_cache = cache is not None and getattr(translator, "cacheable", True)
        work: dict[tuple[str, str], list[str]] = {}
        commits = {}
        for tgt, texts in texts_by_lang.items():
            tgt = languages.get(tgt).code
            if tgt == src or not texts:
                continue
            todo = _segments(_plans(list(texts), src, translator, max_chars))
            if use_cache:
                have = cache.get_many(*_cache_key(translator), src, tgt, todo)
                todo = [t for t in todo if t not in have]
            todo = sorted(todo, key=len)
            if todo:
                work[(src, tgt)] = todo
                commits[(src, tgt)] = _committer(cache, translator, src, tgt) if use_cache else None
        before = dict(self.counters)
        try:
            if work:
                self._execute(work, commits, translator)
        finally:
            for name, value in self.counters.items():
                self._prefilled[name] = self._prefilled.get(name, 0) + value - before[name]
        return dict(self.counters)

    def account(self, total: TranslationStats) -> None:
        """Fold what `prefill` did into the build's counters: the segments it committed to the cache
        were sent to the backend (misses), not found there (hits, as `translate_texts` counted them
        afterwards); its calls, characters and seconds are added. Call once, after the languages."""
        done = self._prefilled
        total.hits -= done.get("cached", 0)
        total.misses += done.get("cached", 0)
        for name in ("calls", "chars", "seconds", "retries"):
            setattr(total, name, getattr(total, name) + done.get(name, 0))
        self._prefilled = {}

    # ------------------------------------------------------------------ Ray
    def _init(self) -> None:
        try:
            import ray
            import ray.data  # noqa: F401
        except ImportError:
            raise UserError("--engine ray needs Ray Data: pip install 'lrm-llava[ray]'") from None
        import logging

        logging.getLogger("ray").setLevel(logging.WARNING)
        # Ray Data warns that its progress bars are off, which we chose: keep its errors only
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        if ray.is_initialized():
            return
        # Ray's C++ core logs an ERROR line on every run of an actor pool (its own constructor
        # arguments in the object store, ray-project/ray#53727): keep its stderr to fatal errors
        # unless the user asks for more. Failures that matter reach us as Python exceptions.
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
        common = {"include_dashboard": False, "logging_level": "ERROR", "log_to_driver": False,
                  "ignore_reinit_error": True}
        # a Ray job's driver has RAY_ADDRESS set: its cluster is the one to use
        flag, address = ("--address", self.address) if self.address else ("RAY_ADDRESS", os.environ.get("RAY_ADDRESS"))
        try:
            if address:
                check_reachable(address, flag)
                ray.init(address=address, **common)
            else:
                # "local": a new Ray for this job even where a cluster already runs on this machine
                # (Ray would otherwise join it, and refuse the num_cpus given for a local one)
                cpus = self.num_cpus or max(1, int(round(self.workers * max(self.cpus_per_worker, 0.01)))) + 1
                ray.init(address="local", num_cpus=cpus, **common)
        except (ConnectionError, ValueError, RuntimeError, TimeoutError) as err:
            hint = (f"Start the cluster with `ray start --head` on its head node and pass --address auto there, "
                    f"or {_without(flag)} for a local Ray." if address else
                    "Check the free memory and /tmp space, or join a running cluster with --address.")
            where = f"join the Ray cluster at {address} ({flag})" if address else "start a local Ray"
            raise UserError(f"cannot {where}: {str(err).rstrip('.')}. {hint}") from None
        self._started = True
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = self.progress
        for flag in ("print_on_execution_start", "enable_rich_progress_bars"):
            if hasattr(ctx, flag):
                setattr(ctx, flag, False)

    def block_length(self, translator: Translator) -> int:
        """`block_size` rounded up to a whole number of the backend's batches: the blocks then cut
        the length-sorted segments into the very batches the local engine sends, so a model sees
        the same padding and gives the same bytes."""
        step = max(1, translator.max_batch)
        return -(-self.block_size // step) * step

    def _execute(self, work: dict[tuple[str, str], list[str]], commits: dict, translator: Translator) -> None:
        """Translate `work` (length-sorted segments per language pair) in two passes, as
        `translate_texts` does: everything once, then what came back invalid, retried together in
        the same order and batches as the local engine's retry."""
        self._init()
        c = self.counters
        c["segments"] += sum(len(segments) for segments in work.values())
        blocks_before = c["blocks"]
        retry = self._pass(work, commits, translator, blocks_before)
        c["retries"] += sum(len(segments) for segments in retry.values())
        failed = self._pass(retry, commits, translator, blocks_before) if retry else {}
        for key, segments in failed.items():
            self._failed.setdefault(key, set()).update(segments)
            c["failed"] += len(segments)

    def _pass(self, work: dict[tuple[str, str], list[str]], commits: dict, translator: Translator,
              blocks_before: int) -> dict[tuple[str, str], list[str]]:
        """One Ray Data job over the blocks of `work`; commits the good outputs as blocks arrive and
        returns the bad segments per language pair, in `work`'s order."""
        import ray.data

        size = self.block_length(translator)
        jobs = []
        for (src, tgt), segments in work.items():
            for i in range(0, len(segments), size):
                jobs.append({"block": len(jobs), "src": src, "tgt": tgt, "segments": segments[i : i + size]})
        if not jobs:
            return {}
        items = [{"payload": json.dumps(job, ensure_ascii=False)} for job in jobs]
        ds = ray.data.from_items(items, override_num_blocks=len(items))
        ds = ds.map_batches(BlockTranslator, batch_size=1, compute=ray.data.ActorPoolStrategy(size=self.workers),
                            fn_constructor_kwargs={"backend": self.backend, "options": dict(self.options)},
                            num_cpus=self.cpus_per_worker, num_gpus=self.gpus_per_worker or None)
        bad: dict[int, list[str]] = {}
        c = self.counters
        start = time.perf_counter()
        try:
            for row in ds.iter_rows():
                out = json.loads(row["result"])
                key = (out["src"], out["tgt"])
                good = out["good"]
                self._good.setdefault(key, {}).update(good)
                commit = commits.get(key)
                if commit is not None and good:
                    commit(good)  # the driver is the cache's only writer
                    c["cached"] += len(good)
                bad[out["block"]] = out["bad"]
                c["blocks"] += 1
                for name in ("calls", "chars", "seconds"):
                    c[name] += out[name]
                if c["blocks"] == 1:
                    c["first_block_s"] += time.perf_counter() - start
                finished = c["blocks"] - blocks_before
                if self.stop_after_blocks is not None and finished >= self.stop_after_blocks:
                    raise TranslationError(f"ray engine stopped after {finished} finished blocks "
                                           "(stop_after_blocks); rerun to resume from the cache")
        except TranslationError:
            raise
        except Exception as err:  # a worker's failure arrives wrapped by Ray: name the backend and the cause
            cause = err
            while getattr(cause, "__cause__", None) is not None:
                cause = cause.__cause__
            raise TranslationError(f"{self.backend} backend failed on a Ray worker: {cause}; "
                                   f"{c['blocks'] - blocks_before} finished blocks are cached, rerun to resume") from None
        finally:
            c["wall"] += time.perf_counter() - start
        retry: dict[tuple[str, str], list[str]] = {}
        for job in jobs:  # in work's order, whatever order the blocks came back in
            if bad.get(job["block"]):
                retry.setdefault((job["src"], job["tgt"]), []).extend(bad[job["block"]])
        return retry

    def close(self) -> None:
        """Shut down the local Ray this engine started (a joined cluster is left running)."""
        if self._started:
            import ray

            ray.shutdown()
            self._started = False


def _committer(cache: TranslationCache, translator: Translator, src: str, tgt: str):
    key = _cache_key(translator)
    return lambda good: cache.put_many(*key, src, tgt, good)


def check_reachable(address: str, flag: str = "--address", timeout: float = 5.0) -> None:
    """Fail in seconds, with a message, where Ray would retry a wrong HOST:PORT for minutes.

    "auto" and "local" are Ray's own to resolve; "HOST:PORT" and "ray://HOST:PORT" must accept a
    TCP connection."""
    import socket

    if address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"{flag} {address!r} is not a Ray address: use auto (on a node of a running "
                        "cluster), HOST:PORT (the head's `ray start --head --port`) or ray://HOST:10001")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        raise UserError(f"no Ray cluster answers at {address} ({err}): start one with `ray start --head "
                        f"--port={port}` on {host}, or {_without(flag)} for a local Ray") from None


def _without(flag: str) -> str:
    return "leave --address out" if flag == "--address" else f"unset {flag}"


def make_engine(name: str, backend: str, options: dict, *, address: str | None = None,
                engine_options: dict | None = None, progress: bool = False):
    """None for the local engine, else a `RayEngine` (`engine_options`: workers, block_size,
    cpus_per_worker, gpus_per_worker, num_cpus, stop_after_blocks)."""
    if name not in ENGINES:
        raise UserError(f"unknown engine {name!r}; use {' or '.join(ENGINES)}")
    if name == "local":
        if address:
            raise UserError("--address needs --engine ray")
        return None
    opts = dict(engine_options or {})
    known = {"workers", "block_size", "cpus_per_worker", "gpus_per_worker", "num_cpus", "stop_after_blocks"}
    unknown = sorted(set(opts) - known)
    if unknown:
        raise UserError(f"unknown engine option(s) {', '.join(unknown)}; use {', '.join(sorted(known))}")
    return RayEngine(backend, dict(options), address=address, progress=progress, **opts)
