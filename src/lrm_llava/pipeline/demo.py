"""The ShapeWorld demo: the whole paper, offline, on a CPU, in minutes.

    lrm-llava demo [--out runs/demo] [--quick]        (or simply `make demo`)
    lrm-llava demo --out runs/demo-long --set finetune.num_train_epochs=6   # a longer stage 2
    lrm-llava demo --out runs/demo-1 --jobs 1      # the two models one after the other

world → tiny backbones → multilingual data (table backend) → stage 1 → stage 2 for two models,
`english-only` (English data only, same steps) and `lrm-llava` (the paper's recipe: mix 1.0, all
three task instructions) → benchmarks translated → both models evaluated on all four benchmarks in
all ten languages → report. Every step writes its outputs under `--out` (layout below) and is
skipped when they were made with the same settings (`lrm_llava.pipeline.reuse`), so an interrupted
demo resumes where it stopped.

    <out>/world/        scenes, English sources, translation table, benchmarks (English)
    <out>/backbones/    vision/ and llm/ (HF folders) + metrics.json
    <out>/data/<name>/  pretrain.json and finetune.json (LLaVA JSON) + stats
    <out>/models/<name>/pretrain/  and  .../finetune/   (HF Llava folders)
    <out>/bench/        benchmarks per language (native formats)
    <out>/eval/<name>/  predictions JSONL + per-model results
    <out>/report/       results.json (tidy rows), results.csv, report.md, PNG charts,
                        reliance.md/.json/.csv (answers changed by a swapped image, per model)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from lrm_llava.instruct.tasks import TASKS
from lrm_llava.jsonio import write_json
from lrm_llava.pipeline.steps import (
    RunConfig,
    Variant,
    log,
    models_progress,
    step_backbones,
    step_bench,
    step_data,
    step_eval,
    step_reliance,
    step_train,
    step_world,
)

MODELS = ("english-only", "lrm-llava")
"""The two models the demo compares."""


@dataclass
class DemoConfig(RunConfig):
    """What `lrm-llava demo` runs."""

    out: str = "runs/demo"
    """Folder of every output; rerunning with the same folder resumes."""
    mix: float = 1.0
    """Non-English samples = mix x English samples (the paper's default 1.0)."""
    tasks: tuple[str, ...] = TASKS
    """Task instructions of the `lrm-llava` model's finetuning data."""
    models: tuple[str, ...] = MODELS
    """Which of the two models to train and evaluate."""
    jobs: int = 2
    """Models trained and evaluated side by side, each in its own process with `threads` (default:
    the CPUs shared evenly), and likewise the two backbones; 1: one after the other, progress bars
    on the terminal. Side by side is the default because the demo's two models are independent and
    small models use a second thread poorly (docs/performance.md). The thread count per process
    changes the order of float sums, so `jobs=1` gives slightly different numbers; at equal threads
    per process, side by side and one after the other give the same bits."""


def demo_variants(cfg: DemoConfig) -> list[Variant]:
    """The demo's two models: English-only data, and the paper's recipe."""
    known = {
        "english-only": Variant("english-only", pretrain_tasks=(), finetune_tasks=(), mix=cfg.mix, seed=cfg.seed),
        "lrm-llava": Variant("lrm-llava", finetune_tasks=tuple(cfg.tasks), mix=cfg.mix, seed=cfg.seed),
    }
    return [known[name] for name in cfg.models]


def model_pipeline(cfg: DemoConfig, out: Path, world: Path, bench_root: Path,
                   variant: Variant) -> tuple[list[dict], Path, Path, dict[str, float]]:
    """Data, both stages and evaluation of one model: its result rows, finetuned folder,
    finetuning data and step timings."""
    timings: dict[str, float] = {}

    def timed(label: str, fn, *args):
        t0 = time.time()
        result = fn(*args)
        timings[f"{label}/{variant.name}"] = round(time.time() - t0, 1)
        return result

    data = timed("data", step_data, cfg, out, world, variant)
    model_dir = timed("train", step_train, cfg, out, world, variant, data)
    rows = timed("eval", step_eval, cfg, out, bench_root, variant.name, model_dir)
    return rows, model_dir, data["finetune"], timings


def run_models(cfg: DemoConfig, out: Path, world: Path, bench_root: Path, workers: int) -> list[tuple]:
    """`model_pipeline` for every model of the demo: one after the other, or `workers` side by side."""
    from lrm_llava.parallel import Job, run_jobs, threads_per_worker

    variants = demo_variants(cfg)
    if workers <= 1 or len(variants) <= 1:
        return [model_pipeline(cfg, out, world, bench_root, v) for v in variants]
    threads = cfg.threads or threads_per_worker(workers)
    logs = out / "logs"
    log(f"models: {', '.join(v.name for v in variants)} side by side ({workers} processes x {threads} "
         f"thread(s)); follow them with: tail -f {logs}/<model>.log")
    jobs = [Job(v.name, model_pipeline, (cfg, out, world, bench_root, v), logs / f"{v.name}.log") for v in variants]

    def done(job, count: int, error: str | None) -> None:
        log(f"{job.label}: " + (f"FAILED ({error}); log: {job.log}" if error else "trained and evaluated")
             + f" ({count}/{len(jobs)})")

    return run_jobs(jobs, workers, threads, on_done=done, noun="models",
                    on_progress=lambda lines: log(models_progress(logs, lines)))


def run_demo(cfg: DemoConfig) -> Path:
    """Run (or resume) the whole demo; returns the report folder."""
    import torch

    from lrm_llava.bench.report import write_report, write_results

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    timings: dict[str, float] = {}

    def timed(label: str, fn, *args):
        t0 = time.time()
        result = fn(*args)
        timings[label] = round(time.time() - t0, 1)
        return result

    workers = max(1, min(cfg.jobs, len(cfg.models)))
    world = timed("world", step_world, cfg, out)
    timed("backbones", step_backbones, cfg, out, world, workers)
    bench_root = timed("bench", step_bench, cfg, out, world)
    rows: list[dict] = []
    trained: dict[str, tuple[Path, Path]] = {}
    models = timed("models", run_models, cfg, out, world, bench_root, workers)
    for variant, (model_rows, model_dir, finetune_data, model_timings) in zip(demo_variants(cfg), models):
        trained[variant.name] = (model_dir, finetune_data)
        rows += model_rows
        timings.update(model_timings)
    report_dir = out / "report"
    write_results(rows, report_dir)
    report = write_report(rows, report_dir)
    reliance = timed("reliance", step_reliance, cfg, world, trained, report_dir)
    timings["total"] = round(time.time() - start, 1)
    write_json(report_dir / "timings.json", timings)
    print(report.read_text(encoding="utf-8"), flush=True)
    print(reliance, flush=True)
    log(f"done in {timings['total']:.0f} s; report: {report}")
    return report_dir
