"""Experiment sweeps on ShapeWorld: the paper's ablation (Table 3), data-mix sweep (Figure 6) and
language-model comparison (Table 4), each over several seeds, with a noise verdict.

    lrm-llava experiment ablation  [--out runs/experiments] [--seeds 3] [--quick] [--eval-limit N]
    lrm-llava experiment mix       [--benchmarks mme,pope,mmbench,seed] [--variants mix-0.4,lrm-llava]
    lrm-llava experiment backbones [--threads N] [--recipe shapeworld]
    lrm-llava experiment ablation --out runs/long --set finetune.num_train_epochs=6   # a longer stage 2
    lrm-llava experiment all --out runs/x3 --seeds 3 --jobs 11 --set finetune.num_train_epochs=6  # one GPU
    lrm-llava experiment all --out runs/x3 --seeds 3 --tables-only    # tables from saved scores, no training

From Python:

    from lrm_llava.analysis.experiments import run_experiment
    rows = run_experiment("mix", out="runs/experiments", seeds=3, quick=True, benchmarks=["pope"])

Each experiment is a list of arms (a training recipe: which task instructions in which stage, the
non-English mix ratio, the backbones), each trained and evaluated once per seed with the demo's
step functions (`lrm_llava.demo`). Every step is cached under `--out` exactly as in the demo
(world/, backbones/, bench/, data/<name>/, models/<name>/, eval/<name>/), so arms shared between
experiments (the full recipe is the ablation's last row, the mix sweep's 1.0 and the backbones
comparison's default-LM row) are trained once, and a rerun resumes where it stopped. `all` runs the
union of the three experiments' arms (11) in one queue, so `--jobs` fills a GPU, then writes the
three tables. Folder names
are `<arm>-s<seed>`, except seed 0 of the demo's two models, which keep the demo's names
(`english-only`, `lrm-llava`): an experiment run into the demo's `--out` reuses its models.

The arms:

- ablation: `english-only` (w/o all task instructions: English data in both stages),
  `no-mvqa-pt` (pretraining English only, finetuning all three), `no-mvqa-ft` (finetuning
  EP-VQA + BVQA), `no-epvqa` (MVQA + BVQA), `no-bvqa` (MVQA + EP-VQA), `lrm-llava` (the full recipe);
- mix: `mix-0.4`, `mix-0.7`, `lrm-llava` (1.0), `mix-1.5`, all with the full recipe;
- backbones: English-only vs the full recipe on the default tiny LM (`backbones/`) and on a larger
  LM (`LARGE_LM`, trained into `backbones-lm256/` beside a copy of the same vision tower).

Outputs in `<out>/experiment-<kind>/` (beside the demo's folders; `backbones/` is the backbones'):

- `rows.json` / `rows.csv`: tidy rows {experiment, variant, seed, benchmark, language, metric,
  value}, one per arm × seed × number × language, holding the report's headline number
  (`lrm_llava.bench.scoring.HEADLINE`: MME perception sum, POPE mean F1, MMBench CircularEval
  overall, SEED overall) and, for POPE, accuracy beside it (`SECONDARY`: F1 alone rewards answering
  "yes" to everything); `variant` is the arm's row label;
- `summary.md`: per number the paper's layout (rows: arms; columns: En, Avg = mean of the nine
  non-English languages, and every language for `mix`), mean ± sample std over seeds, the
  difference to the reference arm and a noise verdict;
- `<kind>.png`: for `mix` the score per language against the ratio (Figure 6), otherwise En and Avg
  bars per arm with ± std error bars; one panel per benchmark.

Noise rule (`compare`): a difference between an arm and its reference (the full recipe; for
`backbones` the full recipe on the same LM; for `mix` the ratio 1.0) is *within noise* when
|mean difference| < 2 × pooled std, pooled std = sqrt((s_a² + s_b²) / 2) of the per-seed values
(sample std). With equal seed counts n the standard error of the difference is
pooled std × sqrt(2 / n), so the rule asks for more than two standard errors for n ≤ 2 and about
2.4 for n = 3: deliberately conservative for small seed counts. With fewer than two seeds on either
side there is no noise estimate and the verdict is "n/a".
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import shutil
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from lrm_llava.errors import UserError
from lrm_llava.languages import ALL_CODES, ENGLISH
from lrm_llava.parallel import threads_per_worker

KINDS = ("ablation", "mix", "backbones")
"""The three experiments."""

ALL_TASKS = ("mvqa", "epvqa", "bvqa")
DEFAULT_BENCHMARKS = ("mme", "pope", "mmbench", "seed")
ROW_COLUMNS = ("experiment", "variant", "seed", "benchmark", "language", "metric", "value")
AVG = "avg"
"""The `language` key of the non-English average in aggregated rows."""

LARGE_LM = {"llm_hidden": 256, "llm_layers": 4}
"""BackboneConfig overrides of the larger language model of the `backbones` experiment."""
LARGE_LM_FOLDER = "backbones-lm256"
"""Folder (under `--out`) of the larger LM and a copy of the shared vision tower."""

MIX_RATIOS = (0.4, 0.7, 1.0, 1.5)
"""Non-English samples per English sample in the mix sweep (the paper's Figure 6)."""

NOISE_FACTOR = 2.0
"""A difference is within noise when |diff| < NOISE_FACTOR x pooled std."""

# Seed 0 of these arms is exactly the demo's model of the same name: keep the demo's folder name.
_DEMO_NAMES = ("english-only", "lrm-llava")


@dataclass(frozen=True)
class Arm:
    """One row of an experiment table: a training recipe, trained and evaluated once per seed."""

    key: str
    """Folder-safe name: the data/, models/ and eval/ folders are `<key>-s<seed>`."""
    label: str
    """Row label in rows.json (`variant`), summary.md and the plot."""
    pretrain_tasks: tuple[str, ...] = ("mvqa",)
    """Task instructions of the non-English pretraining samples; () = English only."""
    finetune_tasks: tuple[str, ...] = ALL_TASKS
    """Task instructions of the non-English finetuning samples; () = English only."""
    mix: float = 1.0
    """Non-English samples = mix x English samples, in both stages (English-only arms: the mix of
    the recipe they are compared with, which sets their number of steps; see `Variant.epoch_scale`)."""
    backbones: str = "backbones"
    """Folder (under `--out`) of the vision/ and llm/ backbones."""
    reference: str | None = None
    """Key of the arm this one is compared with; None: this arm is a reference."""


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
            Arm(english, "w/o all task instructions", (), (), reference=full),
            Arm("no-mvqa-pt", "w/o MVQA (pretraining)", (), ALL_TASKS, reference=full),
            Arm("no-mvqa-ft", "w/o MVQA (finetuning)", ("mvqa",), ("epvqa", "bvqa"), reference=full),
            Arm("no-epvqa", "w/o EP-VQA", ("mvqa",), ("mvqa", "bvqa"), reference=full),
            Arm("no-bvqa", "w/o BVQA", ("mvqa",), ("mvqa", "epvqa"), reference=full),
            Arm(full, "LRM-LLaVA"),
        ]
    if kind == "mix":
        return [Arm(full if ratio == 1.0 else f"mix-{ratio:g}", f"mix {ratio:.1f}", mix=ratio,
                    reference=None if ratio == 1.0 else full) for ratio in MIX_RATIOS]
    if kind == "backbones":
        small, large = _lm_label(quick, False), _lm_label(quick, True)
        big = f"lm{LARGE_LM['llm_hidden']}"
        return [
            Arm(english, f"{small} w/o all instructions", (), (), reference=full),
            Arm(full, f"{small} w/ all instructions"),
            Arm(f"{big}-{english}", f"{large} w/o all instructions", (), (), backbones=LARGE_LM_FOLDER,
                reference=f"{big}-{full}"),
            Arm(f"{big}-{full}", f"{large} w/ all instructions", backbones=LARGE_LM_FOLDER),
        ]
    raise UserError(f"unknown experiment {kind!r}; choose from {', '.join(KINDS)}")


def select_arms(arms: list[Arm], names: list[str] | None) -> list[Arm]:
    """The arms named by key or label (all when `names` is empty), in table order."""
    if not names:
        return arms
    known = {a.key for a in arms} | {a.label for a in arms}
    bad = [n for n in names if n not in known]
    if bad:
        raise UserError(f"unknown variant(s) {', '.join(map(repr, bad))}; choose from "
                        + ", ".join(f"{a.key} ({a.label})" for a in arms))
    return [a for a in arms if a.key in names or a.label in names]


# ------------------------------------------------------------------------------------ aggregation
def mean_std(values: list[float]) -> tuple[float | None, float | None, int]:
    """(mean, sample std, n) of the finite values; std is None below two values."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return None, None, 0
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else None), len(vals)


def per_seed_values(rows: list[dict]) -> dict[tuple[str, str, str, str], dict[int, float]]:
    """{(variant, benchmark, metric, language or "avg"): {seed: value}}; "avg" is the mean of the
    non-English languages present for that variant, score and seed (all nine in a full run)."""
    out: dict[tuple[str, str, str, str], dict[int, float]] = defaultdict(dict)
    others: dict[tuple[str, str, str, int], list[float]] = defaultdict(list)
    for r in rows:
        value = r["value"]
        if value is None or not math.isfinite(value):
            continue
        out[(r["variant"], r["benchmark"], r["metric"], r["language"])][r["seed"]] = value
        if r["language"] != ENGLISH:
            others[(r["variant"], r["benchmark"], r["metric"], r["seed"])].append(value)
    for (variant, bench, metric, seed), vals in others.items():
        out[(variant, bench, metric, AVG)][seed] = statistics.fmean(vals)
    return dict(out)


def aggregate(rows: list[dict]) -> list[dict]:
    """Mean ± std over seeds per variant, benchmark, metric and language (plus "avg"): rows
    {variant, benchmark, metric, language, mean, std, n} (std None with one seed)."""
    result = []
    for (variant, bench, metric, lang), by_seed in per_seed_values(rows).items():
        mean, std, n = mean_std(list(by_seed.values()))
        result.append({"variant": variant, "benchmark": bench, "metric": metric, "language": lang,
                       "mean": mean, "std": std, "n": n})
    return result


def table_scores(benchmarks) -> list[tuple[str, str]]:
    """The (benchmark, metric) pairs an experiment tabulates: each benchmark's headline, then its
    secondary number where it has one (`scoring.SECONDARY`: POPE accuracy beside POPE F1)."""
    from lrm_llava.bench.scoring import HEADLINE, SECONDARY

    return [(b, m) for b in benchmarks for m in (HEADLINE[b][0], SECONDARY.get(b, (None,))[0]) if m]


def scores_in(rows: list[dict]) -> list[tuple[str, str]]:
    """The tabulated (benchmark, metric) pairs present in `rows`, in table order."""
    present = {(r["benchmark"], r["metric"]) for r in rows}
    return [s for s in table_scores(DEFAULT_BENCHMARKS) if s in present]


def score_caption(benchmark: str, metric: str) -> str:
    """The caption of one tabulated number."""
    from lrm_llava.bench.scoring import HEADLINE, SECONDARY

    return (HEADLINE if HEADLINE[benchmark][0] == metric else SECONDARY)[benchmark][1]


def score_title(benchmark: str, metric: str) -> str:
    """Heading of one tabulated number: the benchmark, plus the metric when it is not the headline."""
    from lrm_llava.bench.scoring import HEADLINE

    name = "MMBench" if benchmark == "mmbench" else benchmark.upper()
    return name if HEADLINE[benchmark][0] == metric else f"{name} {metric}"


def compare(values: list[float], reference: list[float], factor: float = NOISE_FACTOR) -> dict:
    """Difference of means (values − reference) and whether it is inside the seed noise:
    "within noise" when |diff| < factor x pooled std, pooled std = sqrt((s_a² + s_b²) / 2);
    "n/a" when either side has fewer than two values (no noise estimate)."""
    m_a, s_a, n_a = mean_std(values)
    m_b, s_b, n_b = mean_std(reference)
    if m_a is None or m_b is None:
        return {"diff": None, "pooled_std": None, "verdict": "n/a"}
    diff = m_a - m_b
    if s_a is None or s_b is None:
        return {"diff": diff, "pooled_std": None, "verdict": "n/a"}
    pooled = math.sqrt((s_a ** 2 + s_b ** 2) / 2)
    within = abs(diff) < factor * pooled or (pooled == 0 and diff == 0)
    return {"diff": diff, "pooled_std": pooled, "verdict": "within noise" if within else "outside noise"}


# ---------------------------------------------------------------------------------------- outputs
def _fmt(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "–"
    return f"{mean:.1f}" if std is None else f"{mean:.1f} ± {std:.1f}"


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.1f}"


def _verdict(by_column: dict[str, dict]) -> str:
    """One cell from the comparisons of the En and Avg columns."""
    verdicts = {col: c["verdict"] for col, c in by_column.items()}
    if all(v == "n/a" for v in verdicts.values()):
        return "n/a (needs ≥ 2 seeds)"
    outside = [col for col, v in verdicts.items() if v == "outside noise"]
    if not outside:
        return "within noise"
    inside = [col for col, v in verdicts.items() if v == "within noise"]
    text = f"{' and '.join(outside)} outside noise"
    return text + (f"; {' and '.join(inside)} within noise" if inside else "")


def _label(code: str) -> str:
    return "Avg" if code == AVG else code.capitalize()


def summary_table(rows: list[dict], arms: list[Arm], benchmark: str, per_language: bool = False,
                  metric: str | None = None) -> str:
    """Markdown table of one benchmark's `metric` (default: its headline): rows arms, columns En
    (+ each language) + Avg, mean ± std, the differences to the reference arm and the noise verdict."""
    from lrm_llava.bench.scoring import HEADLINE

    metric = metric or HEADLINE[benchmark][0]
    values = {(v, b, lang): seeds for (v, b, m, lang), seeds in per_seed_values(rows).items() if m == metric}
    present = {lang for (_, b, lang) in values if b == benchmark}
    langs = ([c for c in ALL_CODES if c in present] if per_language else [ENGLISH]) + [AVG]
    by_key = {a.key: a for a in arms}
    head = ["Variant", "Seeds"] + [_label(c) for c in langs] + ["Δ En", "Δ Avg", "Noise verdict"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for arm in arms:
        cells = [mean_std(list(values.get((arm.label, benchmark, c), {}).values())) for c in langs]
        seeds = max((n for _, _, n in cells), default=0)
        row = [arm.label, str(seeds)] + [_fmt(m, s) for m, s, _ in cells]
        ref = by_key.get(arm.reference) if arm.reference else None
        if arm.reference is None:
            row += ["", "", "reference"]
        elif ref is None:
            row += ["–", "–", f"reference {arm.reference} not run"]
        else:
            comps = {col: compare(list(values.get((arm.label, benchmark, code), {}).values()),
                                  list(values.get((ref.label, benchmark, code), {}).values()))
                     for col, code in (("En", ENGLISH), ("Avg", AVG))}
            row += [_signed(comps["En"]["diff"]), _signed(comps["Avg"]["diff"]), _verdict(comps)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def write_summary(kind: str, rows: list[dict], arms: list[Arm], folder: Path, plot: str | None) -> Path:
    """summary.md: one table per number present in the rows (`table_scores`)."""
    references = {"ablation": "the full recipe (`LRM-LLaVA`)", "mix": "the paper's ratio (`mix 1.0`)",
                  "backbones": "the full recipe on the same language model"}
    titles = {"ablation": "Ablation of the task instructions (the paper's Table 3)",
              "mix": "Non-English data ratio (the paper's Figure 6)",
              "backbones": "Language models with and without the task instructions (the paper's Table 4)"}
    scores = scores_in(rows)
    seeds = sorted({r["seed"] for r in rows})
    md = [f"# {titles[kind]}", "",
          f"Seeds: {', '.join(map(str, seeds)) or 'none'}. Cells: mean ± sample std over seeds. "
          "Avg = mean of the non-English languages (all nine in a full run), computed per seed before "
          f"averaging over seeds. Δ = difference of the means to {references[kind]}.",
          "",
          f"Noise rule: a difference is within noise when |Δ| < {NOISE_FACTOR:g} × pooled std, pooled "
          "std = sqrt((s_a² + s_b²) / 2) of the per-seed values; with fewer than two seeds there is no "
          "noise estimate (n/a).", ""]
    for bench, metric in scores:
        md += [f"## {score_title(bench, metric)}", "", f"{score_caption(bench, metric)}.", "",
               summary_table(rows, arms, bench, per_language=kind == "mix", metric=metric), ""]
    if plot:
        md += [f"![{kind}]({plot})", ""]
    path = folder / "summary.md"
    path.write_text("\n".join(md), encoding="utf-8")
    return path


def write_rows(rows: list[dict], folder: Path) -> tuple[Path, Path]:
    """rows.json and rows.csv (tidy: one row per variant, seed, benchmark and language)."""
    folder.mkdir(parents=True, exist_ok=True)
    tidy = [{c: r.get(c) for c in ROW_COLUMNS} for r in rows]
    json_path, csv_path = folder / "rows.json", folder / "rows.csv"
    json_path.write_text(json.dumps(tidy, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=ROW_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({**r, "value": "" if r["value"] is None else r["value"]} for r in tidy)
    csv_path.write_text(buf.getvalue(), encoding="utf-8")
    return json_path, csv_path


def write_plot(kind: str, rows: list[dict], arms: list[Arm], path: Path) -> Path:
    """mix: score per language against the ratio (Figure 6); otherwise En/Avg bars per arm with
    ± std error bars. One panel per tabulated number (`table_scores`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    values = per_seed_values(rows)
    scores = scores_in(rows)
    width = 6.5 if kind == "mix" else max(5.0, 1.1 * len(arms) + 1.5)
    fig = Figure(figsize=(width, 3.6 * max(1, len(scores))))
    FigureCanvasAgg(fig)  # Agg rendering without touching pyplot's global backend
    for i, (bench, metric) in enumerate(scores):
        ax = fig.add_subplot(max(1, len(scores)), 1, i + 1)

        def stat(arm: Arm, code: str, bench=bench, metric=metric) -> tuple[float, float]:
            mean, std, _ = mean_std(list(values.get((arm.label, bench, metric, code), {}).values()))
            return (math.nan if mean is None else mean), (std or 0.0)

        if kind == "mix":
            ordered = sorted(arms, key=lambda a: a.mix)
            xs = [a.mix for a in ordered]
            langs = [c for c in ALL_CODES if any((a.label, bench, metric, c) in values for a in ordered)]
            for code in langs + [AVG]:
                pts = [stat(a, code) for a in ordered]
                ax.errorbar(xs, [m for m, _ in pts], yerr=[s for _, s in pts], marker="o", capsize=3,
                            label=_label(code), linewidth=2.5 if code in (ENGLISH, AVG) else 1.0,
                            linestyle="--" if code == AVG else "-",
                            # En and Avg stand out in black; the ten-colour cycle is left to the languages
                            **({"color": "black"} if code in (ENGLISH, AVG) else {}))
            ax.set_xticks(xs, [f"{x:.0%}" for x in xs])
            ax.set_xlabel("non-English data ratio")
        else:
            for j, (code, name) in enumerate(((ENGLISH, "En"), (AVG, "Avg"))):
                pts = [stat(a, code) for a in arms]
                ax.bar([k + (j - 0.5) * 0.38 for k in range(len(arms))], [m for m, _ in pts], width=0.38,
                       yerr=[s for _, s in pts], capsize=3, label=name)
            ax.set_xticks(range(len(arms)), [a.label for a in arms], rotation=20, ha="right", fontsize="small")
        ax.set_ylabel(score_caption(bench, metric).split("(")[0].split(",")[0].strip(), fontsize="small")
        ax.set_title(score_title(bench, metric))
        ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


# -------------------------------------------------------------------------------------------- job
def _log(msg: str) -> None:
    print(f"[experiment {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def ensure_backbones(out: Path, folder: str, world: Path, quick: bool) -> Path:
    """The larger LM's backbones folder: the shared vision tower copied in (so `train_backbones`
    reuses it and the two LM sizes see the same images), then the LM trained (or reused)."""
    from lrm_llava.world.backbones import QUICK, BackboneConfig, format_metrics, train_backbones

    target = out / folder
    vision = target / "vision"
    if not vision.exists():
        shutil.copytree(out / "backbones" / "vision", vision)
    _log(f"{folder}: larger LM {LARGE_LM} (reused when complete)")
    metrics = train_backbones(world, target, config=BackboneConfig(**{**(QUICK if quick else {}), **LARGE_LM}))
    print(format_metrics(metrics), flush=True)
    return target


def headline_rows(results: list[dict], *, experiment: str, variant: str, seed: int, model: str,
                  benchmarks: list[str]) -> list[dict]:
    """Tidy rows of each tabulated number (`table_scores`) per benchmark and language of one
    evaluated model, benchmark by benchmark, languages in registry order."""
    from lrm_llava.bench.scoring import headline

    rows = []
    for bench, metric in table_scores(benchmarks):
        for lang in ALL_CODES:
            value = headline(results, model, bench, lang, metric)
            if value is None:
                continue
            rows.append({"experiment": experiment, "variant": variant, "seed": seed, "benchmark": bench,
                         "language": lang, "metric": metric, "value": value if math.isfinite(value) else None})
    return rows


def results_folder(kind: str) -> str:
    """Folder of an experiment's tables under --out. Not `<kind>`: `backbones/` holds the backbones."""
    return f"experiment-{kind}"


def run_one(cfg, root: Path, world: Path, bench_root: Path, benches: list[str], arm: Arm, seed: int) -> list[dict]:
    """Data, both stages and evaluation of one arm and seed (each step reused when done); its scores
    (`lrm_llava.bench.scoring` result rows)."""
    from lrm_llava.demo import Variant, step_data, step_eval, step_train

    name = variant_name(arm, seed)
    variant = Variant(name, pretrain_tasks=arm.pretrain_tasks, finetune_tasks=arm.finetune_tasks,
                      mix=arm.mix, backbones=arm.backbones, seed=seed)
    data = step_data(cfg, root, world, variant)
    model_dir = step_train(cfg, root, world, variant, data)
    return step_eval(cfg, root, bench_root, name, model_dir, tuple(benches))


def run_parallel(runs: list[tuple[Arm, int]], jobs: int, threads: int, log_dir: Path, common: tuple) -> list[list[dict]]:
    """`run_one` for every (arm, seed), `jobs` at a time in spawned processes (safe with CUDA); the
    scores in the order of `runs`. A failed run does not stop the others; all failures are reported
    together at the end, with their logs, and every finished run stays cached for the rerun."""
    from lrm_llava.demo import models_progress
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


def run_experiment(
    kind: str,
    *,
    out: str | Path = "runs/experiments",
    seeds: int = 3,
    quick: bool = False,
    eval_limit: int | None = None,
    benchmarks: str | list[str] | tuple[str, ...] = DEFAULT_BENCHMARKS,
    variants: list[str] | None = None,
    recipe: str = "shapeworld",
    train_overrides: dict | None = None,
    threads: int | None = None,
    jobs: int = 1,
    tables_only: bool = False,
) -> list[dict]:
    """Run (or resume) one experiment, or `all` three, and write rows.json/.csv, summary.md and
    `<kind>.png` under `<out>/experiment-<kind>/` for each; returns the tidy rows (of every kind).

    `all` trains the union of the three experiments' arms once (11 arms: the shared ones, such as
    the full recipe, once), so `--jobs` can fill a GPU with all of them at once.
    `variants` restricts the arms (keys or labels, see `experiment_arms`); `train_overrides` are
    recipe keys applied to both stages of every arm (e.g. {"max_steps": 5}); the world, backbones and
    benchmarks are the ones of a `DemoConfig(out=out, quick=quick)` and shared by all experiments.
    `jobs` > 1 trains that many runs at once in separate processes (`threads` each, default: the
    cores shared out), each logging to `<out>/experiment-<kind>/logs/<run>.log`; the rows are the same.
    `tables_only` trains and evaluates nothing: the tables are rebuilt from the runs' saved scores
    (`<out>/eval/<run>/results.json`), e.g. after copying `eval/` back from a GPU machine.
    """
    import torch

    from lrm_llava.bench.run import parse_benchmarks
    from lrm_llava.demo import DemoConfig, step_backbones, step_bench, step_world

    if kind not in (*KINDS, "all"):
        raise UserError(f"unknown experiment {kind!r}; choose from {', '.join(KINDS)} or all")
    if seeds < 1:
        raise UserError(f"--seeds must be at least 1 (got {seeds})")
    if jobs < 1:
        raise UserError(f"--jobs must be at least 1 (got {jobs})")
    benches = parse_benchmarks(benchmarks)
    kinds = KINDS if kind == "all" else (kind,)
    union: dict[str, Arm] = {}
    for k in kinds:
        for arm in experiment_arms(k, quick):
            union.setdefault(arm.key, arm)
    chosen = {a.key for a in select_arms(list(union.values()), list(variants or []))}
    arms_of = {k: [a for a in experiment_arms(k, quick) if a.key in chosen] for k in kinds}
    runs = [(arm, seed) for arm in union.values() if arm.key in chosen for seed in range(seeds)]
    root = Path(out)

    if tables_only:
        scores = cached_scores(root, runs)
    else:
        if threads:
            torch.set_num_threads(threads)
        root.mkdir(parents=True, exist_ok=True)
        cfg = DemoConfig(out=str(root), quick=quick, eval_limit=eval_limit, recipe=recipe,
                         train_overrides=dict(train_overrides or {}), threads=threads)
        world = step_world(cfg, root)
        step_backbones(cfg, root, world, min(jobs, 2))
        bench_root = step_bench(cfg, root, world)
        for folder in dict.fromkeys(a.backbones for a, _ in runs if a.backbones != "backbones"):
            ensure_backbones(root, folder, world, quick)
        common = (cfg, root, world, bench_root, benches)
        if jobs > 1 and len(runs) > 1:
            per_run = run_parallel(runs, min(jobs, len(runs)), threads or threads_per_worker(jobs),
                                   root / results_folder(kind) / "logs", common)
        else:
            per_run = []
            for i, (arm, seed) in enumerate(runs, 1):
                _log(f"{kind} {i}/{len(runs)}: {arm.key} (seed {seed}) -> {variant_name(arm, seed)}")
                per_run.append(run_one(*common, arm, seed))
        scores = {(arm.key, seed): res for (arm, seed), res in zip(runs, per_run, strict=True)}

    rows = []
    for k in kinds:
        kind_rows = [row for arm in arms_of[k] for seed in range(seeds) if (arm.key, seed) in scores
                     for row in headline_rows(scores[(arm.key, seed)], experiment=k, variant=arm.label, seed=seed,
                                              model=variant_name(arm, seed), benchmarks=benches)]
        rows += write_tables(k, kind_rows, arms_of[k], root / results_folder(k))
    return rows


def write_tables(kind: str, rows: list[dict], arms: list[Arm], folder: Path) -> list[dict]:
    """rows.json/.csv, `<kind>.png` and summary.md of one experiment (printed); returns the rows."""
    write_rows(rows, folder)
    plot = write_plot(kind, rows, arms, folder / f"{kind}.png")
    summary = write_summary(kind, rows, arms, folder, plot.name)
    print(summary.read_text(encoding="utf-8"), flush=True)
    _log(f"done: {folder}")
    return rows


def cached_scores(root: Path, runs: list[tuple[Arm, int]]) -> dict[tuple[str, int], list[dict]]:
    """{(arm key, seed): scores} of the runs whose scores are saved under `<root>/eval/`; the others
    are listed and left out (an error when none is saved)."""
    scores, missing = {}, []
    for arm, seed in runs:
        name = variant_name(arm, seed)
        path = root / "eval" / name / "results.json"
        if not path.is_file():
            missing.append(name)
            continue
        try:
            scores[(arm.key, seed)] = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise UserError(f"{path}: not a readable scores file ({err}); remove it and rerun without "
                            "--tables-only to evaluate that run again") from err
    if not scores:
        raise UserError(f"--tables-only: no run of this experiment has saved scores under {root / 'eval'} "
                        f"(looked for {', '.join(missing)}); run it without --tables-only first")
    if missing:
        _log(f"--tables-only: {len(missing)} run(s) without saved scores left out: {', '.join(missing)}")
    return scores


# -------------------------------------------------------------------------------------------- CLI
def _split(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def _run(args: argparse.Namespace) -> int:
    from lrm_llava.options import parse_set

    run_experiment(args.kind, out=args.out, seeds=args.seeds, quick=args.quick, eval_limit=args.eval_limit,
                   benchmarks=args.benchmarks, variants=_split(args.variants), recipe=args.recipe,
                   train_overrides=parse_set(args.set), threads=args.threads, jobs=args.jobs,
                   tables_only=args.tables_only)
    return 0


def register(subparsers) -> None:
    """Add the top-level `experiment` command."""
    p = subparsers.add_parser(
        "experiment",
        help="the paper's ablations, data-mix sweep and backbone comparison on ShapeWorld",
        description="Train and evaluate the arms of one experiment over several seeds on ShapeWorld "
        "(reusing every cached step under --out), then write <out>/experiment-<kind>/rows.json, rows.csv, "
        "summary.md (mean ± std, noise verdict) and <kind>.png.",
    )
    p.add_argument("kind", choices=(*KINDS, "all"),
                   help="ablation (Table 3), mix (Figure 6), backbones (Table 4), or all three (shared arms trained once)")
    p.add_argument("--out", default="runs/experiments", help="output folder (default: runs/experiments)")
    p.add_argument("--seeds", type=int, default=3, help="seeds per arm: 0..N-1 (default: 3)")
    p.add_argument("--quick", action="store_true", help="small world, backbones and training (smoke test)")
    p.add_argument("--eval-limit", type=int, default=None,
                   help="at most N questions per benchmark, split and language")
    p.add_argument("--benchmarks", default=",".join(DEFAULT_BENCHMARKS),
                   help="comma-separated benchmarks (default: mme,pope,mmbench,seed)")
    p.add_argument("--variants", default=None,
                   help="comma-separated arm keys or labels to run (default: all), e.g. english-only,lrm-llava")
    p.add_argument("--recipe", default="shapeworld", help="training recipe (default: shapeworld)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a recipe key for every arm, in both stages or in one with a stage prefix; "
                   "repeatable (e.g. --set finetune.num_train_epochs=6 with a new --out)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (per run with --jobs)")
    p.add_argument("--jobs", type=int, default=1,
                   help="runs trained at once, each in its own process, logging to <out>/experiment-<kind>/logs/ "
                   "(default 1). One GPU holds ten ShapeWorld runs; on a CPU keep jobs x threads <= cores")
    p.add_argument("--tables-only", action="store_true",
                   help="train nothing: rebuild the tables from the scores saved under <out>/eval/ "
                   "(e.g. copied back from a GPU machine)")
    p.set_defaults(func=_run)
