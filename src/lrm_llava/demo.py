"""The ShapeWorld demo: the whole paper, offline, on a CPU, in minutes.

    lrm-llava demo [--out runs/demo] [--quick]        (or simply `make demo`)
    lrm-llava demo --out runs/demo-long --set finetune.num_train_epochs=6   # a longer stage 2
    lrm-llava demo --out runs/demo-1 --jobs 1      # the two models one after the other

world → tiny backbones → multilingual data (table backend) → stage 1 → stage 2 for two models,
`english-only` (English data only, same steps) and `lrm-llava` (the paper's recipe: mix 1.0, all
three task instructions) → benchmarks translated → both models evaluated on all four benchmarks in
all ten languages → report. Every step writes its outputs under `--out` (layout below) and is
skipped when they already exist, so an interrupted demo resumes where it stopped.

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

import argparse
import hashlib
import json
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lrm_llava.errors import UserError, describe_changes
from lrm_llava.languages import ALL_CODES, NON_ENGLISH
from lrm_llava.parallel import format_progress

MODELS = ("english-only", "lrm-llava")
"""The two models the demo compares."""

BENCHMARKS = ("mme", "pope", "mmbench", "seed")

DEMO_BENCH_SIZES = {"mme_images": 13, "pope_images": 16, "mmbench_questions": 40, "seed_questions": 100}
"""Benchmark sizes of the full demo (WorldConfig fields): about 100 questions per benchmark and
language (MME 13 images x 4 subtasks x 2, POPE ~60 per split x 3, MMBench 40 questions ~ 120 rows
with rotations, SEED 100), so that 2 models x 4 benchmarks x 10 languages stay within minutes."""


@dataclass
class DemoConfig:
    """What `lrm-llava demo` runs."""

    out: str = "runs/demo"
    """Folder of every output; rerunning with the same folder resumes."""
    quick: bool = False
    """Smaller world, backbones, training and benchmarks: a ~2-minute smoke test of every step."""
    seed: int = 0
    """Seed of the world, the data mix and training."""
    mix: float = 1.0
    """Non-English samples = mix x English samples (the paper's default 1.0)."""
    tasks: tuple[str, ...] = ("mvqa", "epvqa", "bvqa")
    """Task instructions of the `lrm-llava` model's finetuning data."""
    models: tuple[str, ...] = MODELS
    """Which of the two models to train and evaluate."""
    recipe: str = "shapeworld"
    """Training recipe (a name under lrm_llava/recipes or a YAML path)."""
    train_overrides: dict = field(default_factory=dict)
    """Recipe keys to override in both stages (e.g. {"num_train_epochs": 2}), or in one stage with
    the stage as prefix (e.g. {"finetune.num_train_epochs": 6})."""
    eval_limit: int | None = None
    """Evaluate at most this many questions per benchmark, split and language (None: all)."""
    batch_size: int = 64
    """Evaluation batch size."""
    threads: int | None = None
    """torch threads per process (None: the CPUs shared evenly between the `jobs`)."""
    jobs: int = 2
    """Models trained and evaluated side by side, each in its own process with `threads` (default:
    the CPUs shared evenly), and likewise the two backbones; 1: one after the other, progress bars
    on the terminal. Side by side is the default because the demo's two models are independent and
    small models use a second thread poorly (docs/performance.md). The thread count per process
    changes the order of float sums, so `jobs=1` gives slightly different numbers; at equal threads
    per process, side by side and one after the other give the same bits."""


def _log(msg: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _done(marker: Path) -> bool:
    return marker.exists()


def _mark(marker: Path, info: dict | None = None) -> None:
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(info or {}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# ------------------------------------------------------------------------------------------ steps
def step_world(cfg: DemoConfig, out: Path) -> Path:
    from lrm_llava.world import build_world
    from lrm_llava.world.export import QUICK, WorldConfig

    world = out / "world"
    wanted = asdict(WorldConfig(seed=cfg.seed, quick=cfg.quick, **(QUICK if cfg.quick else DEMO_BENCH_SIZES)))
    meta = world / "world.json"
    if meta.exists():
        built = json.loads(meta.read_text(encoding="utf-8")).get("config", {})
        changed = describe_changes(built, wanted)
        if changed:
            # everything after the world (backbones, data, models) was made from the old one
            raise UserError(f"{world} was built with other settings or by an older version ({changed}); every "
                            f"later step under {out} depends on it: remove {out} or pass another --out")
        _log(f"world: reusing {world}")
    else:
        _log("world: rendering scenes, realizing ten languages, exporting sources and benchmarks")
        build_world(world, config=WorldConfig(**wanted))
    return world


def step_backbones(cfg: DemoConfig, out: Path, world: Path, workers: int = 1) -> Path:
    from lrm_llava.world.backbones import format_metrics, train_backbones

    folder = out / "backbones"
    side = f", side by side (output in {folder / 'logs'})" if workers > 1 else ""
    _log(f"backbones: tiny CLIP vision tower + English-centric tiny LLaMA (reused when complete){side}")
    metrics = train_backbones(world, folder, quick=cfg.quick, workers=workers)
    print(format_metrics(metrics), flush=True)
    return folder


@dataclass(frozen=True)
class Variant:
    """One model of a comparison: which data it is trained on (the paper's ablation axes)."""

    name: str
    """Folder name under data/, models/ and eval/ (and the row label of the report)."""
    pretrain_tasks: tuple[str, ...] = ("mvqa",)
    """Task instructions of the non-English pretraining samples; () = English only."""
    finetune_tasks: tuple[str, ...] = ("mvqa", "epvqa", "bvqa")
    """Task instructions of the non-English finetuning samples; () = English only."""
    mix: float = 1.0
    """Non-English samples = mix x English samples (paper: 0.4, 0.7, 1.0, 1.5; default 1.0); for an
    English-only variant, the mix of the recipe it is compared with (see `epoch_scale`)."""
    backbones: str = "backbones"
    """Folder (under the demo's out) of the vision/ and llm/ backbones."""
    seed: int = 0
    """Seed of the data mix and of training."""

    @property
    def epoch_scale(self) -> float:
        """Multiplies the recipe's epochs. An English-only variant (no task in either stage) gets
        1 + mix, `mix` being that of the recipe it is compared with, so it trains for as many steps
        as the multilingual model, whose data is 1 + mix times larger: equal compute, so a gap
        between the two comes from the data, not from more updates."""
        return 1.0 if self.pretrain_tasks or self.finetune_tasks else 1.0 + self.mix


def demo_variants(cfg: DemoConfig) -> list[Variant]:
    """The demo's two models: English-only data, and the paper's recipe."""
    known = {
        "english-only": Variant("english-only", pretrain_tasks=(), finetune_tasks=(), mix=cfg.mix, seed=cfg.seed),
        "lrm-llava": Variant("lrm-llava", finetune_tasks=tuple(cfg.tasks), mix=cfg.mix, seed=cfg.seed),
    }
    return [known[name] for name in cfg.models]


def step_data(cfg: DemoConfig, out: Path, world: Path, variant: Variant) -> dict[str, Path]:
    """Build the pretrain and finetune JSON of one variant with the data builder."""
    from lrm_llava.instruct import BuildConfig, build_dataset

    folder = out / "data" / variant.name
    files = {}
    for stage, source, tasks in (("pretrain", "captions_en.json", variant.pretrain_tasks),
                                 ("finetune", "vqa_en.json", variant.finetune_tasks)):
        path = folder / f"{stage}.json"
        files[stage] = path
        if path.exists():
            _log(f"data/{variant.name}/{stage}: reusing {path}")
            continue
        _log(f"data/{variant.name}/{stage}: building from {source} (tasks: {', '.join(tasks) or 'English only'})")
        build_dataset(BuildConfig(
            sources=[str(world / source)],
            out=str(path),
            stage=stage,
            languages=list(NON_ENGLISH),
            backend="table",
            table=str(world / "translations.jsonl"),
            ratio=variant.mix if tasks else 0.0,
            tasks=list(tasks),
            seed=variant.seed,
            image_root=str(world),
            progress=False,
        ))
    return files


def step_train(cfg: DemoConfig, out: Path, world: Path, variant: Variant, data: dict[str, Path]) -> Path:
    """Stage 1 then stage 2 of one variant; a stage whose folder is marked DONE is reused."""
    from lrm_llava.train import load_recipe, run_training
    from lrm_llava.train.recipes import recipe_file, stage_overrides

    backbones = out / variant.backbones
    models = out / "models" / variant.name
    # a recipe file edited (or upgraded) since a stage was trained makes that stage stale
    recipe_version = hashlib.sha256(recipe_file(cfg.recipe).read_bytes()).hexdigest()[:12]
    previous: Path | None = None
    for stage in ("pretrain", "finetune"):
        folder = models / stage
        asked = {"recipe": str(cfg.recipe), "recipe_sha256": recipe_version,
                 **stage_overrides(cfg.train_overrides, stage)}
        if _done(folder / "DONE"):
            # markers written before settings were recorded mean the default recipe, no overrides
            made = {"recipe": DemoConfig.recipe, **json.loads((folder / "DONE").read_text(encoding="utf-8")).get("settings", {})}
            if made != asked:
                changed = describe_changes(made, {k: asked.get(k) for k in {**made, **asked}})
                raise UserError(f"{folder} was trained with other settings ({changed}): remove it or pass another --out")
            _log(f"train/{variant.name}/{stage}: reusing {folder}")
            previous = folder
            continue
        # a stage killed after a checkpoint resumes from it instead of starting over
        resume = any(folder.glob("checkpoint-*"))
        overrides = {
            "output_dir": str(folder),
            "resume": resume,
            "data": [str(data[stage])],
            "image_root": str(world),
            "seed": variant.seed,
            "vision_path": str(backbones / "vision"),
            "llm_path": str(backbones / "llm"),
            **({"projector": str(previous)} if previous is not None else {}),
            **({"max_steps": 30} if cfg.quick else {}),
            **stage_overrides(cfg.train_overrides, stage),
        }
        train_cfg = load_recipe(cfg.recipe, stage, overrides)
        train_cfg.num_train_epochs *= variant.epoch_scale
        _log(f"train/{variant.name}/{stage}: {', '.join(str(p) for p in train_cfg.data)}"
             + (" (resuming from its last checkpoint)" if resume else ""))
        start = time.time()
        run_training(train_cfg)
        _mark(folder / "DONE", {"seconds": round(time.time() - start, 1), "settings": asked})
        for checkpoint in folder.glob("checkpoint-*"):  # only there to resume a killed stage
            shutil.rmtree(checkpoint)
        previous = folder
    assert previous is not None
    return previous


def step_bench(cfg: DemoConfig, out: Path, world: Path) -> Path:
    """Translate the four English benchmarks into the nine languages (table backend)."""
    from lrm_llava.bench.translation import TranslateConfig, translate_benchmark

    root = out / "bench"
    for bench in BENCHMARKS:
        marker = root / bench / ".translated"
        if _done(marker):
            continue
        english = root / bench / "en"
        if not english.exists():
            # the English originals sit beside the translations; translated folders share their images
            shutil.copytree(world / "bench" / bench / "en", english)
        _log(f"bench/{bench}: translating into {len(NON_ENGLISH)} languages")
        translate_benchmark(TranslateConfig(
            benchmark=bench,
            src=world / "bench",
            out=root,
            languages=list(NON_ENGLISH),
            backend="table",
            backend_options={"path": str(world / "translations.jsonl")},
            progress=False,
        ))
        _mark(marker)
    return root


def step_eval(cfg: DemoConfig, out: Path, bench_root: Path, name: str, model_dir: Path,
              benchmarks: tuple[str, ...] = BENCHMARKS) -> list[dict]:
    """Evaluate one model on the benchmarks in every language (finished predictions are reused)."""
    from lrm_llava.bench.run import EvalConfig, run_eval

    _log(f"eval/{name}: {', '.join(benchmarks)} x {len(ALL_CODES)} languages")
    return run_eval(EvalConfig(
        out=out / "eval" / name,
        model=model_dir,
        bench_root=bench_root,
        benchmarks=list(benchmarks),
        languages="all",
        batch_size=cfg.batch_size,
        limit=cfg.eval_limit,
        model_name=name,
        max_new_tokens=8,
        progress=True,
    ))


def step_reliance(cfg: DemoConfig, world: Path, trained: dict[str, tuple[Path, Path]], report_dir: Path) -> str:
    """The blind test (`analyze reliance`) on the trained models; returns its Markdown table.

    A benchmark score near chance cannot tell a model that looks and errs from one that ignores
    its image; the share of answers that change when the image is swapped can. All models are
    asked the same samples: the first questions of the most multilingual finetuning data."""
    from lrm_llava.analysis.reliance import RelianceConfig, format_table, run_reliance

    data = trained["lrm-llava"][1] if "lrm-llava" in trained else next(iter(trained.values()))[1]
    _log(f"reliance: asking {', '.join(trained)} with their own and with swapped images")
    rows = run_reliance(RelianceConfig(
        models=[str(m) for m, _ in trained.values()], names=list(trained), data=str(data),
        image_root=str(world), out=str(report_dir), n=60 if cfg.quick else 300, seed=cfg.seed,
        batch_size=cfg.batch_size))
    return "Image reliance (answers changed when the image is swapped; 0 % = the model ignores it):\n\n" + \
        format_table([r for r in rows if r["language"] in ("all", "en")])


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
    _log(f"models: {', '.join(v.name for v in variants)} side by side ({workers} processes x {threads} "
         f"thread(s)); follow them with: tail -f {logs}/<model>.log")
    jobs = [Job(v.name, model_pipeline, (cfg, out, world, bench_root, v), logs / f"{v.name}.log") for v in variants]

    def done(job, count: int, error: str | None) -> None:
        _log(f"{job.label}: " + (f"FAILED ({error}); log: {job.log}" if error else "trained and evaluated")
             + f" ({count}/{len(jobs)})")

    return run_jobs(jobs, workers, threads, on_done=done, noun="models",
                    on_progress=lambda lines: _log(models_progress(logs, lines)))


def models_progress(logs: Path, lines: dict[str, str], width: int = 72) -> str:
    """One terminal line for models trained side by side: per model (its log `logs/<name>.log`) the
    demo step it is at and its last log line, e.g. "lrm-llava: train/finetune 45% 1800/4000 ..."."""
    return format_progress({name: f"{demo_phase(logs / f'{name}.log', name)} {line}"
                            for name, line in lines.items()}, width)


def demo_phase(log: Path, name: str) -> str:
    """Where a model's log stands: its last "[demo HH:MM:SS] step/<name>/stage:" line, without the
    model's name (e.g. "train/finetune"), so a progress bar says which stage it counts."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    steps = re.findall(r"^\[demo [\d:]+\] ([\w/.-]+):", text, flags=re.M)
    return "/".join(part for part in steps[-1].split("/") if part != name) if steps else ""


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
    (report_dir / "timings.json").write_text(json.dumps(timings, indent=1) + "\n", encoding="utf-8")
    print(report.read_text(encoding="utf-8"), flush=True)
    print(reliance, flush=True)
    _log(f"done in {timings['total']:.0f} s; report: {report}")
    return report_dir


# -------------------------------------------------------------------------------------------- CLI
def _run(args: argparse.Namespace) -> int:
    from lrm_llava.options import parse_set

    run_demo(DemoConfig(out=args.out, quick=args.quick, seed=args.seed, eval_limit=args.eval_limit,
                        threads=args.threads, jobs=args.jobs, recipe=args.recipe, train_overrides=parse_set(args.set)))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help="the whole pipeline on ShapeWorld, offline, on a CPU",
        description="World -> backbones -> multilingual data -> two-stage training of an English-only "
        "and an LRM-LLaVA model -> ten-language benchmarks -> report. Resumable: rerun to continue.",
    )
    p.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    p.add_argument("--quick", action="store_true", help="small sizes: a ~2-minute smoke test")
    p.add_argument("--seed", type=int, default=0, help="seed of the world, data and training")
    p.add_argument("--eval-limit", type=int, default=None,
                   help="at most N questions per benchmark, split and language")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads per process (default: the CPUs shared between the jobs)")
    p.add_argument("--jobs", type=int, default=2,
                   help="models (and backbones) trained side by side in N processes (default 2; "
                   "--jobs 1: one after the other with all threads, numbers slightly different)")
    p.add_argument("--recipe", default="shapeworld", help="training recipe, a name or a YAML path (default: shapeworld)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a recipe key in both stages, or in one with a stage prefix; repeatable "
                   "(e.g. --set finetune.num_train_epochs=6)")
    p.set_defaults(func=_run)
