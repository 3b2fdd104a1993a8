"""Experiment sweeps on ShapeWorld: the paper's ablation (Table 3), data-mix sweep (Figure 6) and
language-model comparison (Table 4), each over several seeds, with a noise verdict.

    lrm-llava experiment ablation  [--out runs/experiments] [--seeds 3] [--quick] [--eval-limit N]
    lrm-llava experiment mix       [--benchmarks mme,pope,mmbench,seed] [--variants mix-0.4,lrm-llava]
    lrm-llava experiment backbones [--threads N] [--recipe shapeworld]
    lrm-llava experiment ablation --out runs/long --set finetune.num_train_epochs=6   # a longer stage 2
    lrm-llava experiment all --out runs/x3 --seeds 3 --jobs 11 --set finetune.num_train_epochs=6  # one GPU
    lrm-llava experiment all --out runs/x3 --seeds 3 --tables-only    # tables from saved scores, no training

From Python:

    from lrm_llava.pipeline.experiment import run_experiment
    rows = run_experiment("mix", out="runs/experiments", seeds=3, quick=True, benchmarks=["pope"])

Each experiment is a list of arms (a `Variant`: which task instructions in which stage, the
non-English mix ratio, the backbones; under a row label), each trained and evaluated once per seed
with the pipeline's steps (`lrm_llava.pipeline.steps`). Every step is reused under `--out` exactly
as in the demo (world/, backbones/, bench/, data/<name>/, models/<name>/, eval/<name>/), so arms
shared between experiments (the full recipe is the ablation's last row, the mix sweep's 1.0 and the
backbones comparison's default-LM row) are trained once, and a rerun resumes where it stopped.
`all` runs the union of the three experiments' arms (11) in one queue, so `--jobs` fills a GPU,
then writes the three tables. Folder names are `<arm>-s<seed>`, except seed 0 of the demo's two
models, which keep the demo's names (`english-only`, `lrm-llava`): an experiment run into the
demo's `--out` reuses its models.

The arms:

- ablation: `english-only` (w/o all task instructions: English data in both stages),
  `no-mvqa-pt` (pretraining English only, finetuning all three), `no-mvqa-ft` (finetuning
  EP-VQA + BVQA), `no-epvqa` (MVQA + BVQA), `no-bvqa` (MVQA + EP-VQA), `lrm-llava` (the full recipe);
- mix: `mix-0.4`, `mix-0.7`, `lrm-llava` (1.0), `mix-1.5`, all with the full recipe;
- backbones: English-only vs the full recipe on the default tiny LM (`backbones/`) and on a larger
  LM (`LARGE_LM`, trained into `backbones-lm256/` beside a copy of the same vision tower).

Outputs in `<out>/experiment-<kind>/` (beside the demo's folders; `backbones/` is the backbones'),
written by `lrm_llava.analysis.sweeps`:

- `rows.json` / `rows.csv`: tidy rows {experiment, variant, seed, benchmark, language, metric,
  value}, one per arm × seed × number × language, holding the report's headline number
  (`lrm_llava.bench.scoring.HEADLINE`: MME perception sum, POPE mean F1, MMBench CircularEval
  overall, SEED overall) and, for POPE, accuracy beside it (`SECONDARY`); `variant` is the arm's
  row label;
- `summary.md`: per number the paper's layout (rows: arms; columns: En, Avg = mean of the nine
  non-English languages, and every language for `mix`), mean ± sample std over seeds, the
  difference to the reference arm (the full recipe; for `backbones` the full recipe on the same LM;
  for `mix` the ratio 1.0) and a noise verdict (`lrm_llava.analysis.sweeps.compare`);
- `<kind>.png`: for `mix` the score per language against the ratio (Figure 6), otherwise En and Avg
  bars per arm with ± std error bars; one panel per benchmark.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from lrm_llava.analysis.sweeps import headline_rows, write_tables
from lrm_llava.bench.common import BENCHMARKS
from lrm_llava.errors import UserError
from lrm_llava.jsonio import read_json
from lrm_llava.parallel import threads_per_worker
from lrm_llava.pipeline.steps import (
    RunConfig,
    Variant,
    models_progress,
    step_backbones,
    step_bench,
    step_data,
    step_eval,
    step_train,
    step_world,
)

KINDS = ("ablation", "mix", "backbones")
"""The three experiments."""

LARGE_LM = {"llm_hidden": 256, "llm_layers": 4}
"""BackboneConfig overrides of the larger language model of the `backbones` experiment."""
LARGE_LM_FOLDER = "backbones-lm256"
"""Folder (under `--out`) of the larger LM and a copy of the shared vision tower."""

MIX_RATIOS = (0.4, 0.7, 1.0, 1.5)
"""Non-English samples per English sample in the mix sweep (the paper's Figure 6)."""

# Seed 0 of these arms is exactly the demo's model of the same name: keep the demo's folder name.
_DEMO_NAMES = ("english-only", "lrm-llava")


@dataclass
class ExperimentConfig(RunConfig):
    """What `lrm-llava experiment` runs (besides the experiment's kind). The world is the one of
    seed 0, shared with a demo run into the same `out`."""

    out: str | Path = "runs/experiments"
    """Folder of every output, shared by all experiments (and a demo); rerunning resumes."""
    seeds: int = 3
    """Seeds per arm: 0..seeds-1."""
    benchmarks: str | list[str] | tuple[str, ...] = BENCHMARKS
    """Benchmarks to evaluate and tabulate (comma-separated on the command line)."""
    variants: list[str] | tuple[str, ...] = ()
    """Arm keys or labels to run (none: all), e.g. english-only,lrm-llava."""
    jobs: int = 1
    """Runs trained at once, each in its own process, logging to <out>/experiment-<kind>/logs/. One
    GPU holds ten ShapeWorld runs; on a CPU keep jobs x threads <= cores."""
    tables_only: bool = False
    """Train nothing: rebuild the tables from the scores saved under <out>/eval/ (e.g. copied back
    from a GPU machine)."""


@dataclass(frozen=True)
class Arm:
    """One row of an experiment table: a variant of the data, trained and evaluated once per seed."""

    label: str
    """Row label in rows.json (`variant`), summary.md and the plot."""
    variant: Variant
    """What it trains on. Its `name` is the arm's folder-safe key (the data/, models/ and eval/
    folders are `<key>-s<seed>`, see `variant_name`); its `seed` is replaced by each run's (`run`)."""
    reference: str | None = None
    """Key of the arm this one is compared with; None: this arm is a reference."""

    @property
    def key(self) -> str:
        """Folder-safe name of the arm."""
        return self.variant.name

    def run(self, seed: int) -> Variant:
        """The variant of one seed: its folder name and seed."""
        return replace(self.variant, name=variant_name(self, seed), seed=seed)


def variant_name(arm: Arm, seed: int) -> str:
    """Folder name of one arm and seed (seed 0 of the demo's models keeps the demo's name)."""
    if seed == 0 and arm.key in _DEMO_NAMES:
        return arm.key
    return f"{arm.key}-s{seed}"


def _lm_label(quick: bool, large: bool) -> str:
    from lrm_llava.world.backbones import QUICK, BackboneConfig

    cfg = BackboneConfig(**{**(QUICK if quick else {}), **(LARGE_LM if large else {})})
    return f"LM {cfg.llm_hidden}x{cfg.llm_layers}"


def experiment_arms(kind: str, quick: bool = False) -> list[Arm]:
    """The arms of one experiment, in table order (the reference arm last, as in the paper)."""
    full, english = "lrm-llava", "english-only"
    if kind == "ablation":
        return [
            Arm("w/o all task instructions", Variant(english, (), ()), reference=full),
            Arm("w/o MVQA (pretraining)", Variant("no-mvqa-pt", ()), reference=full),
            Arm("w/o MVQA (finetuning)", Variant("no-mvqa-ft", finetune_tasks=("epvqa", "bvqa")), reference=full),
            Arm("w/o EP-VQA", Variant("no-epvqa", finetune_tasks=("mvqa", "bvqa")), reference=full),
            Arm("w/o BVQA", Variant("no-bvqa", finetune_tasks=("mvqa", "epvqa")), reference=full),
            Arm("LRM-LLaVA", Variant(full)),
        ]
    if kind == "mix":
        return [Arm(f"mix {ratio:.1f}", Variant(full if ratio == 1.0 else f"mix-{ratio:g}", mix=ratio),
                    reference=None if ratio == 1.0 else full) for ratio in MIX_RATIOS]
    if kind == "backbones":
        small, large = _lm_label(quick, False), _lm_label(quick, True)
        big = f"lm{LARGE_LM['llm_hidden']}"
        return [
            Arm(f"{small} w/o all instructions", Variant(english, (), ()), reference=full),
            Arm(f"{small} w/ all instructions", Variant(full)),
            Arm(f"{large} w/o all instructions", Variant(f"{big}-{english}", (), (), backbones=LARGE_LM_FOLDER),
                reference=f"{big}-{full}"),
            Arm(f"{large} w/ all instructions", Variant(f"{big}-{full}", backbones=LARGE_LM_FOLDER)),
        ]
    raise UserError(f"unknown experiment {kind!r}; choose from {', '.join(KINDS)}")


def select_arms(arms: list[Arm], names: list[str] | tuple[str, ...] | None) -> list[Arm]:
    """The arms named by key or label (all when `names` is empty), in table order."""
    if not names:
        return arms
    known = {a.key for a in arms} | {a.label for a in arms}
    bad = [n for n in names if n not in known]
    if bad:
        raise UserError(f"unknown variant(s) {', '.join(map(repr, bad))}; choose from "
                        + ", ".join(f"{a.key} ({a.label})" for a in arms))
    return [a for a in arms if a.key in names or a.label in names]


# -------------------------------------------------------------------------------------------- job
def _log(msg: str) -> None:
    print(f"[experiment {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def ensure_backbones(out: Path, folder: str, world: Path, quick: bool) -> Path:
    """The larger LM's backbones folder: the shared vision tower copied in (so `train_backbones`
    reuses it and the two LM sizes see the same images), then the LM trained (or reused)."""
    import shutil

    from lrm_llava.world.backbones import QUICK, BackboneConfig, format_metrics, train_backbones

    target = out / folder
    vision = target / "vision"
    if not vision.exists():
        shutil.copytree(out / "backbones" / "vision", vision)
    _log(f"{folder}: larger LM {LARGE_LM} (reused when complete)")
    metrics = train_backbones(world, target, config=BackboneConfig(**{**(QUICK if quick else {}), **LARGE_LM}))
    print(format_metrics(metrics), flush=True)
    return target


def results_folder(kind: str) -> str:
    """Folder of an experiment's tables under --out. Not `<kind>`: `backbones/` holds the backbones."""
    return f"experiment-{kind}"


def run_one(cfg: RunConfig, root: Path, world: Path, bench_root: Path, benches: list[str], arm: Arm,
            seed: int) -> list[dict]:
    """Data, both stages and evaluation of one arm and seed (each step reused when done); its scores
    (`lrm_llava.bench.scoring` result rows)."""
    variant = arm.run(seed)
    data = step_data(cfg, root, world, variant)
    model_dir = step_train(cfg, root, world, variant, data)
    return step_eval(cfg, root, bench_root, variant.name, model_dir, tuple(benches))


def run_parallel(runs: list[tuple[Arm, int]], jobs: int, threads: int, log_dir: Path, common: tuple) -> list[list[dict]]:
    """`run_one` for every (arm, seed), `jobs` at a time in spawned processes (safe with CUDA); the
    scores in the order of `runs`. A failed run does not stop the others; all failures are reported
    together at the end, with their logs, and every finished run stays cached for the rerun."""
    from lrm_llava.parallel import Job, run_jobs

    work = [Job(name, run_one, (*common, arm, seed), log_dir / f"{name}.log")
            for arm, seed in runs for name in [variant_name(arm, seed)]]
    _log(f"{len(runs)} runs, {jobs} at a time, {threads} thread(s) each; logs in {log_dir}")

    def done(job, count: int, error: str | None) -> None:
        _log(f"{count}/{len(runs)} " + (f"FAILED: {job.label}: {error} (log: {job.log})" if error
                                        else f"finished: {job.label}"))

    def progress(lines: dict[str, str]) -> None:
        # with many runs at once, each one's stage, percentage and count is enough
        _log(models_progress(log_dir, lines, width=72 if len(lines) <= 2 else 30))

    return run_jobs(work, jobs, threads, on_done=done, noun="runs", on_progress=progress)


def run_experiment(kind: str, config: ExperimentConfig | None = None, **options) -> list[dict]:
    """Run (or resume) one experiment, or `all` three, and write rows.json/.csv, summary.md and
    `<kind>.png` under `<out>/experiment-<kind>/` for each; returns the tidy rows (of every kind).

    `options` are `ExperimentConfig` fields (or pass a `config`). `all` trains the union of the
    three experiments' arms once (11 arms: the shared ones, such as the full recipe, once), so
    `jobs` can fill a GPU with all of them at once. `variants` restricts the arms (keys or labels,
    see `experiment_arms`); `train_overrides` are recipe keys applied to both stages of every arm
    (e.g. {"max_steps": 5}); the world, backbones and benchmarks are the ones of a demo with the
    same `out` and `quick`, shared by all experiments. `jobs` > 1 trains that many runs at once in
    separate processes (`threads` each, default: the cores shared out), each logging to
    `<out>/experiment-<kind>/logs/<run>.log`; the rows are the same. `tables_only` trains and
    evaluates nothing: the tables are rebuilt from the runs' saved scores
    (`<out>/eval/<run>/results.json`), e.g. after copying `eval/` back from a GPU machine.
    """
    from lrm_llava.bench.run import parse_benchmarks

    cfg = replace(config, **options) if config is not None else ExperimentConfig(**options)
    cfg = replace(cfg, train_overrides=dict(cfg.train_overrides or {}))
    if kind not in (*KINDS, "all"):
        raise UserError(f"unknown experiment {kind!r}; choose from {', '.join(KINDS)} or all")
    if cfg.seeds < 1:
        raise UserError(f"--seeds must be at least 1 (got {cfg.seeds})")
    if cfg.jobs < 1:
        raise UserError(f"--jobs must be at least 1 (got {cfg.jobs})")
    benches = parse_benchmarks(cfg.benchmarks)
    kinds = KINDS if kind == "all" else (kind,)
    union: dict[str, Arm] = {}
    for k in kinds:
        for arm in experiment_arms(k, cfg.quick):
            union.setdefault(arm.key, arm)
    chosen = {a.key for a in select_arms(list(union.values()), list(cfg.variants or []))}
    arms_of = {k: [a for a in experiment_arms(k, cfg.quick) if a.key in chosen] for k in kinds}
    runs = [(arm, seed) for arm in union.values() if arm.key in chosen for seed in range(cfg.seeds)]
    root = Path(cfg.out)

    if cfg.tables_only:
        scores = cached_scores(root, runs)
    else:
        scores = dict(zip(((arm.key, seed) for arm, seed in runs), train_and_evaluate(kind, cfg, root, runs, benches),
                          strict=True))

    rows = []
    for k in kinds:
        kind_rows = [row for arm in arms_of[k] for seed in range(cfg.seeds) if (arm.key, seed) in scores
                     for row in headline_rows(scores[(arm.key, seed)], experiment=k, variant=arm.label, seed=seed,
                                              model=variant_name(arm, seed), benchmarks=benches)]
        folder = root / results_folder(k)
        summary = write_tables(k, kind_rows, arms_of[k], folder, [a.variant.mix for a in arms_of[k]])
        print(summary.read_text(encoding="utf-8"), flush=True)
        _log(f"done: {folder}")
        rows += kind_rows
    return rows


def train_and_evaluate(kind: str, cfg: ExperimentConfig, root: Path, runs: list[tuple[Arm, int]],
                       benches: list[str]) -> list[list[dict]]:
    """The shared steps (world, backbones, benchmarks, the larger LM), then `run_one` per run, one at
    a time or `cfg.jobs` at once; the scores in the order of `runs`."""
    import torch

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    root.mkdir(parents=True, exist_ok=True)
    world = step_world(cfg, root)
    step_backbones(cfg, root, world, min(cfg.jobs, 2))
    bench_root = step_bench(cfg, root, world)
    for folder in dict.fromkeys(a.variant.backbones for a, _ in runs if a.variant.backbones != "backbones"):
        ensure_backbones(root, folder, world, cfg.quick)
    common = (cfg, root, world, bench_root, benches)
    if cfg.jobs > 1 and len(runs) > 1:
        return run_parallel(runs, min(cfg.jobs, len(runs)), cfg.threads or threads_per_worker(cfg.jobs),
                            root / results_folder(kind) / "logs", common)
    per_run = []
    for i, (arm, seed) in enumerate(runs, 1):
        _log(f"{kind} {i}/{len(runs)}: {arm.key} (seed {seed}) -> {variant_name(arm, seed)}")
        per_run.append(run_one(*common, arm, seed))
    return per_run


def cached_scores(root: Path, runs: list[tuple[Arm, int]]) -> dict[tuple[str, int], list[dict]]:
    """{(arm key, seed): scores} of the runs whose scores are saved under `<root>/eval/`; the others
    are listed and left out (an error when none is saved)."""
    from lrm_llava.errors import DataError

    scores, missing = {}, []
    for arm, seed in runs:
        name = variant_name(arm, seed)
        path = root / "eval" / name / "results.json"
        if not path.is_file():
            missing.append(name)
            continue
        try:
            scores[(arm.key, seed)] = read_json(path, "scores file")
        except DataError as err:
            reason = str(err).removeprefix(f"{path}: ")
            raise UserError(f"{path}: not a readable scores file ({reason}); remove it and rerun without "
                            "--tables-only to evaluate that run again") from err
    if not scores:
        raise UserError(f"--tables-only: no run of this experiment has saved scores under {root / 'eval'} "
                        f"(looked for {', '.join(missing)}); run it without --tables-only first")
    if missing:
        _log(f"--tables-only: {len(missing)} run(s) without saved scores left out: {', '.join(missing)}")
    return scores

