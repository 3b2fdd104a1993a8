"""The pipeline's steps, shared by the demo and the experiment runner: each makes one folder under
the run's `out` and is skipped when that folder was already made with the same settings (the one
rule of `lrm_llava.pipeline.reuse`; the backbones and the evaluation keep their own finer resume,
see `step_backbones` and `step_eval`).

    world/              step_world       scenes, English sources, translation table, benchmarks (English)
    backbones/          step_backbones   vision/ and llm/ (HF folders) + metrics.json
    bench/<benchmark>/  step_bench       the benchmark in every language (native formats)
    data/<variant>/     step_data        pretrain.json and finetune.json (LLaVA JSON) + stats
    models/<variant>/<stage>/  step_train   (HF Llava folders), stage after stage
    eval/<variant>/     step_eval        predictions JSONL + per-model results

What a step records (besides its own options) is the `made_from` digest of the folders it reads:
data and bench the world's, a stage its data's (and stage 2 stage 1's), an evaluation its model's.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lrm_llava.bench.common import BENCHMARKS
from lrm_llava.chat.templates import STAGE_NAMES
from lrm_llava.instruct.tasks import TASKS
from lrm_llava.languages import ALL_CODES, NON_ENGLISH
from lrm_llava.pipeline.reuse import made_from, mark_done, reuse

DEMO_BENCH_SIZES = {"mme_images": 13, "pope_images": 16, "mmbench_questions": 40, "seed_questions": 100}
"""Benchmark sizes of the full demo (WorldConfig fields): about 100 questions per benchmark and
language (MME 13 images x 4 subtasks x 2, POPE ~60 per split x 3, MMBench 40 questions ~ 120 rows
with rotations, SEED 100), so that 2 models x 4 benchmarks x 10 languages stay within minutes."""

STAGE_SOURCES = {"pretrain": "captions_en.json", "finetune": "vqa_en.json"}
"""The world's English source of each stage's data."""

QUICK_TRAINING = {"max_steps": 30}
"""Recipe overrides of both stages with `--quick` (before the `--set` ones)."""

EVAL_MAX_NEW_TOKENS = 8
"""Most tokens generated per benchmark answer (the answers are a word or a letter)."""


@dataclass
class RunConfig:
    """The settings the steps read, shared by the demo (`DemoConfig`) and the experiments
    (`ExperimentConfig`)."""

    quick: bool = False
    """Smaller world, backbones, training and benchmarks: a ~2-minute smoke test of every step."""
    seed: int = 0
    """Seed of the world (the demo's models use it for their data mix and training as well)."""
    recipe: str = "shapeworld"
    """Training recipe (a name under lrm_llava/recipes or a YAML path)."""
    train_overrides: dict = field(default_factory=dict)
    """Recipe keys to override in both stages (num_train_epochs=2), or in one stage with the stage as
    prefix (finetune.num_train_epochs=6); recorded by every stage they change."""
    eval_limit: int | None = None
    """Evaluate at most this many questions per benchmark, split and language (None: all)."""
    batch_size: int = 64
    """Evaluation batch size."""
    threads: int | None = None
    """torch threads per process (None: the CPUs shared evenly between the `jobs`)."""


@dataclass(frozen=True)
class Variant:
    """One model of a comparison: which data it is trained on (the paper's ablation axes)."""

    name: str
    """Folder name under data/, models/ and eval/ (and the row label of the report)."""
    pretrain_tasks: tuple[str, ...] = ("mvqa",)
    """Task instructions of the non-English pretraining samples; () = English only."""
    finetune_tasks: tuple[str, ...] = TASKS
    """Task instructions of the non-English finetuning samples; () = English only."""
    mix: float = 1.0
    """Non-English samples = mix x English samples (paper: 0.4, 0.7, 1.0, 1.5; default 1.0); for an
    English-only variant, the mix of the recipe it is compared with (see `epoch_scale`)."""
    backbones: str = "backbones"
    """Folder (under the run's out) of the vision/ and llm/ backbones."""
    seed: int = 0
    """Seed of the data mix and of training."""

    @property
    def epoch_scale(self) -> float:
        """Multiplies the recipe's epochs. An English-only variant (no task in either stage) gets
        1 + mix, `mix` being that of the recipe it is compared with, so it trains for as many steps
        as the multilingual model, whose data is 1 + mix times larger: equal compute, so a gap
        between the two comes from the data, not from more updates."""
        return 1.0 if self.pretrain_tasks or self.finetune_tasks else 1.0 + self.mix

    def stage_tasks(self, stage: str) -> tuple[str, ...]:
        """The task instructions of one stage's non-English samples."""
        return self.pretrain_tasks if stage == "pretrain" else self.finetune_tasks


def log(msg: str) -> None:
    # "[demo HH:MM:SS] <step>/<variant>/<stage>: ..." is what `demo_phase` reads back from a log
    print(f"[demo {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------- settings
def world_settings(cfg: RunConfig) -> dict:
    """The WorldConfig of the run's world (quick sizes, or the demo's benchmark sizes)."""
    from lrm_llava.world.export import QUICK, WorldConfig

    return asdict(WorldConfig(seed=cfg.seed, quick=cfg.quick, **(QUICK if cfg.quick else DEMO_BENCH_SIZES)))


def data_settings(world: Path, variant: Variant) -> dict:
    """What a variant's data is built from and with."""
    return {"world": made_from(world), "languages": list(NON_ENGLISH), "backend": "table", "seed": variant.seed,
            "mix": variant.mix, **{f"{stage}_tasks": list(variant.stage_tasks(stage)) for stage in STAGE_NAMES}}


def train_settings(cfg: RunConfig, variant: Variant, stage: str, data: Path, previous: Path | None) -> dict:
    """What one training stage records: the recipe (name and a hash of its file, so an edited or
    upgraded recipe makes the stage stale), its data, backbones, the stage it starts from, the
    epoch scale and every override."""
    from lrm_llava.train.recipes import recipe_file, stage_overrides

    return {
        "recipe": str(cfg.recipe),
        "recipe_sha256": hashlib.sha256(recipe_file(cfg.recipe).read_bytes()).hexdigest()[:12],
        "data": made_from(data),
        "backbones": variant.backbones,
        **({"projector": made_from(previous)} if previous is not None else {}),
        "epoch_scale": variant.epoch_scale,
        **(QUICK_TRAINING if cfg.quick else {}),
        **stage_overrides(cfg.train_overrides, stage),
    }


def bench_settings(world: Path, benchmark: str) -> dict:
    """What one translated benchmark is made from and with."""
    return {"world": made_from(world), "benchmark": benchmark, "languages": list(NON_ENGLISH), "backend": "table"}


def eval_settings(model_dir: Path) -> dict:
    """What an evaluation's predictions depend on: the model (and the answer length)."""
    return {"model": made_from(model_dir), "max_new_tokens": EVAL_MAX_NEW_TOKENS}


# ------------------------------------------------------------------------------------------- steps
def step_world(cfg: RunConfig, out: Path) -> Path:
    """Render the world (`world build`) into `<out>/world`."""
    from lrm_llava.world import build_world
    from lrm_llava.world.export import WorldConfig

    world = out / "world"
    wanted = world_settings(cfg)
    # everything after the world (backbones, data, models) is made from it
    fix = f"every later step under {out} depends on it: remove {out} or pass another --out"
    if reuse(world, wanted, made="built", fix=fix):
        log(f"world: reusing {world}")
    else:
        log("world: rendering scenes, realizing ten languages, exporting sources and benchmarks")
        build_world(world, config=WorldConfig(**wanted))
        mark_done(world, wanted)
    return world


def step_backbones(cfg: RunConfig, out: Path, world: Path, workers: int = 1) -> Path:
    """The tiny vision tower and LM into `<out>/backbones`. Their reuse is `train_backbones`' own:
    each backbone once complete, refused when metrics.json records another config."""
    from lrm_llava.world.backbones import format_metrics, train_backbones

    folder = out / "backbones"
    side = f", side by side (output in {folder / 'logs'})" if workers > 1 else ""
    log(f"backbones: tiny CLIP vision tower + English-centric tiny LLaMA (reused when complete){side}")
    metrics = train_backbones(world, folder, quick=cfg.quick, workers=workers)
    print(format_metrics(metrics), flush=True)
    return folder


def step_data(cfg: RunConfig, out: Path, world: Path, variant: Variant) -> dict[str, Path]:
    """Build the pretrain and finetune JSON of one variant with the data builder."""
    from lrm_llava.instruct import BuildConfig, build_dataset

    folder = out / "data" / variant.name
    files = {stage: folder / f"{stage}.json" for stage in STAGE_NAMES}
    settings = data_settings(world, variant)
    if reuse(folder, settings, made="built"):
        log(f"data/{variant.name}: reusing {folder}")
        return files
    for stage in STAGE_NAMES:
        source, tasks = STAGE_SOURCES[stage], variant.stage_tasks(stage)
        log(f"data/{variant.name}/{stage}: building from {source} (tasks: {', '.join(tasks) or 'English only'})")
        build_dataset(BuildConfig(
            sources=[str(world / source)],
            out=str(files[stage]),
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
    mark_done(folder, settings)
    return files


def step_train(cfg: RunConfig, out: Path, world: Path, variant: Variant, data: dict[str, Path]) -> Path:
    """Stage 1 then stage 2 of one variant; returns the finetuned folder. A stage killed after a
    checkpoint resumes from it."""
    from lrm_llava.train import load_recipe, run_training
    from lrm_llava.train.recipes import stage_overrides

    backbones = out / variant.backbones
    models = out / "models" / variant.name
    previous: Path | None = None
    for stage in STAGE_NAMES:
        folder = models / stage
        settings = train_settings(cfg, variant, stage, data[stage].parent, previous)
        if reuse(folder, settings, made="trained"):
            log(f"train/{variant.name}/{stage}: reusing {folder}")
            previous = folder
            continue
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
            **(QUICK_TRAINING if cfg.quick else {}),
            **stage_overrides(cfg.train_overrides, stage),
        }
        train_cfg = load_recipe(cfg.recipe, stage, overrides)
        train_cfg.num_train_epochs *= variant.epoch_scale
        log(f"train/{variant.name}/{stage}: {', '.join(str(p) for p in train_cfg.data)}"
             + (" (resuming from its last checkpoint)" if resume else ""))
        start = time.time()
        run_training(train_cfg)
        mark_done(folder, settings, seconds=round(time.time() - start, 1))
        for checkpoint in folder.glob("checkpoint-*"):  # only there to resume a killed stage
            shutil.rmtree(checkpoint)
        previous = folder
    assert previous is not None
    return previous


def step_bench(cfg: RunConfig, out: Path, world: Path) -> Path:
    """Translate the four English benchmarks into the nine languages (table backend)."""
    from lrm_llava.bench.translation import TranslateConfig, translate_benchmark

    root = out / "bench"
    for bench in BENCHMARKS:
        folder = root / bench
        settings = bench_settings(world, bench)
        if reuse(folder, settings, made="translated"):
            log(f"bench/{bench}: reusing {folder}")
            continue
        english = folder / "en"
        if not english.exists():
            # the English originals sit beside the translations; translated folders share their images
            shutil.copytree(world / "bench" / bench / "en", english)
        log(f"bench/{bench}: translating into {len(NON_ENGLISH)} languages")
        translate_benchmark(TranslateConfig(
            benchmark=bench,
            src=world / "bench",
            out=root,
            languages=list(NON_ENGLISH),
            backend="table",
            backend_options={"path": str(world / "translations.jsonl")},
            progress=False,
        ))
        mark_done(folder, settings)
    return root


def step_eval(cfg: RunConfig, out: Path, bench_root: Path, name: str, model_dir: Path,
              benchmarks: tuple[str, ...] = BENCHMARKS) -> list[dict]:
    """Evaluate one model on the benchmarks in every language. Predictions are made per question and
    kept (`run_eval` resumes, and extends to more benchmarks or questions), so the step always runs;
    the rule refuses predictions recorded for another model."""
    from lrm_llava.bench.run import EvalConfig, run_eval

    folder = out / "eval" / name
    settings = eval_settings(model_dir)
    reuse(folder, settings, made="evaluated")
    log(f"eval/{name}: {', '.join(benchmarks)} x {len(ALL_CODES)} languages")
    results = run_eval(EvalConfig(
        out=folder,
        model=model_dir,
        bench_root=bench_root,
        benchmarks=list(benchmarks),
        languages="all",
        batch_size=cfg.batch_size,
        limit=cfg.eval_limit,
        model_name=name,
        max_new_tokens=EVAL_MAX_NEW_TOKENS,
        progress=True,
    ))
    mark_done(folder, settings)
    return results


def step_reliance(cfg: RunConfig, world: Path, trained: dict[str, tuple[Path, Path]], report_dir: Path) -> str:
    """The blind test (`analyze reliance`) on the trained models; returns its Markdown table.

    A benchmark score near chance cannot tell a model that looks and errs from one that ignores
    its image; the share of answers that change when the image is swapped can. All models are
    asked the same samples: the first questions of the most multilingual finetuning data."""
    from lrm_llava.analysis.reliance import RelianceConfig, format_table, run_reliance

    data = trained["lrm-llava"][1] if "lrm-llava" in trained else next(iter(trained.values()))[1]
    log(f"reliance: asking {', '.join(trained)} with their own and with swapped images")
    rows = run_reliance(RelianceConfig(
        models=[str(m) for m, _ in trained.values()], names=list(trained), data=str(data),
        image_root=str(world), out=str(report_dir), n=60 if cfg.quick else 300, seed=cfg.seed,
        batch_size=cfg.batch_size))
    return "Image reliance (answers changed when the image is swapped; 0 % = the model ignores it):\n\n" + \
        format_table([r for r in rows if r["language"] in ("all", "en")])


# ------------------------------------------------------------------------------------- progress
def demo_phase(log: Path, name: str) -> str:
    """Where a model's log stands: its last "[demo HH:MM:SS] step/<name>/stage:" line, without the
    model's name (e.g. "train/finetune"), so a progress bar says which stage it counts."""
    import re

    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    steps = re.findall(r"^\[demo [\d:]+\] ([\w/.-]+):", text, flags=re.M)
    return "/".join(part for part in steps[-1].split("/") if part != name) if steps else ""


def models_progress(logs: Path, lines: dict[str, str], width: int = 72) -> str:
    """One terminal line for models trained side by side: per model (its log `logs/<name>.log`) the
    step it is at and its last log line, e.g. "lrm-llava: train/finetune 45% 1800/4000 ..."."""
    from lrm_llava.parallel import format_progress

    return format_progress({name: f"{demo_phase(logs / f'{name}.log', name)} {line}"
                            for name, line in lines.items()}, width)
