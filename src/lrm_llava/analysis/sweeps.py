"""The tables of the experiment sweeps (`lrm-llava experiment`, run by `lrm_llava.pipeline.experiment`):
tidy rows from evaluation scores, mean ± std over seeds, the non-English average, the noise
verdict, summary.md, rows.json/.csv and the plots. Pure analysis: it reads rows and writes tables.

    from lrm_llava.analysis.sweeps import aggregate, compare, summary_table
    agg = aggregate(rows)          # {variant, benchmark, metric, language ("avg" too), mean, std, n}

An experiment's rows are {experiment, variant, seed, benchmark, language, metric, value}, one per
arm × seed × number × language, holding the report's headline number (`lrm_llava.bench.scoring.HEADLINE`)
and, for POPE, accuracy beside it (`SECONDARY`: F1 alone rewards answering "yes" to everything);
`variant` is the arm's row label. The tables take the arms as any objects with a `key`, a `label`
and a `reference` (the key of the arm it is compared with, None for a reference), in table order.

Noise rule (`compare`): a difference between an arm and its reference is *within noise* when
|mean difference| < 2 × pooled std, pooled std = sqrt((s_a² + s_b²) / 2) of the per-seed values
(sample std). With equal seed counts n the standard error of the difference is
pooled std × sqrt(2 / n), so the rule asks for more than two standard errors for n ≤ 2 and about
2.4 for n = 3: deliberately conservative for small seed counts. With fewer than two seeds on either
side there is no noise estimate and the verdict is "n/a".
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from lrm_llava.bench.common import BENCHMARKS
from lrm_llava.jsonio import write_json, write_text
from lrm_llava.languages import ALL_CODES, ENGLISH

ROW_COLUMNS = ("experiment", "variant", "seed", "benchmark", "language", "metric", "value")
AVG = "avg"
"""The `language` key of the non-English average in aggregated rows."""

NOISE_FACTOR = 2.0
"""A difference is within noise when |diff| < NOISE_FACTOR x pooled std."""


class TableArm(Protocol):
    """What the tables need of an experiment arm (`lrm_llava.pipeline.experiment.Arm`)."""

    @property
    def key(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def reference(self) -> str | None: ...


# ------------------------------------------------------------------------------------------- rows
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
    return [s for s in table_scores(BENCHMARKS) if s in present]


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


def summary_table(rows: list[dict], arms: Sequence[TableArm], benchmark: str, per_language: bool = False,
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


def write_summary(kind: str, rows: list[dict], arms: Sequence[TableArm], folder: Path, plot: str | None) -> Path:
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
    return write_text(folder / "summary.md", "\n".join(md))


def write_rows(rows: list[dict], folder: Path) -> tuple[Path, Path]:
    """rows.json and rows.csv (tidy: one row per variant, seed, benchmark and language)."""
    folder.mkdir(parents=True, exist_ok=True)
    tidy = [{c: r.get(c) for c in ROW_COLUMNS} for r in rows]
    json_path, csv_path = folder / "rows.json", folder / "rows.csv"
    write_json(json_path, tidy)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=ROW_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({**r, "value": "" if r["value"] is None else r["value"]} for r in tidy)
    write_text(csv_path, buf.getvalue())
    return json_path, csv_path


def write_plot(kind: str, rows: list[dict], arms: Sequence[TableArm], path: Path,
               ratios: Sequence[float] | None = None) -> Path:
    """mix: score per language against each arm's non-English ratio (`ratios`; Figure 6); otherwise
    En/Avg bars per arm with ± std error bars. One panel per tabulated number (`table_scores`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    values = per_seed_values(rows)
    scores = scores_in(rows)
    width = 6.5 if kind == "mix" else max(5.0, 1.1 * len(arms) + 1.5)
    fig = Figure(figsize=(width, 3.6 * max(1, len(scores))))
    FigureCanvasAgg(fig)  # Agg rendering without touching pyplot's global backend
    for i, (bench, metric) in enumerate(scores):
        ax = fig.add_subplot(max(1, len(scores)), 1, i + 1)

        def stat(arm: TableArm, code: str, bench=bench, metric=metric) -> tuple[float, float]:
            mean, std, _ = mean_std(list(values.get((arm.label, bench, metric, code), {}).values()))
            return (math.nan if mean is None else mean), (std or 0.0)

        if kind == "mix":
            x_of = dict(zip((a.key for a in arms), ratios or range(len(arms)), strict=True))
            ordered = sorted(arms, key=lambda a: x_of[a.key])
            xs = [x_of[a.key] for a in ordered]
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


def write_tables(kind: str, rows: list[dict], arms: Sequence[TableArm], folder: Path,
                 ratios: Sequence[float] | None = None) -> Path:
    """rows.json/.csv, `<kind>.png` and summary.md of one experiment; returns summary.md's path.
    `ratios`: the non-English ratio of each arm, the x axis of the `mix` plot."""
    write_rows(rows, folder)
    plot = write_plot(kind, rows, arms, folder / f"{kind}.png", ratios)
    return write_summary(kind, rows, arms, folder, plot.name)
