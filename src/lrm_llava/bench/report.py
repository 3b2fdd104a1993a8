"""Results files and the report: results.json / results.csv, report.md, one PNG chart per benchmark.

`write_report(results, out_dir)` takes tidy rows `{model, benchmark, split, language, metric,
value}` of one or several models (concatenate the rows of several `run_eval` calls to compare them)
and writes:

- `results.json` (a JSON list of the rows) and `results.csv` (the same, one row per line);
- `report.md`: per benchmark the paper's Table 1 layout (rows: models; columns: En, the other
  languages in registry order, and Avg = mean of the 9 non-English languages) with a last
  *chance* row (a uniform random guesser's expected score on the same questions), under it the
  breakdown (MME per subtask, POPE per split, MMBench per category, SEED per dimension), then
  parsing failures, language fidelity and the prompts used. Captions say what is summed or averaged
  over what was actually evaluated;
- `chart_<benchmark>.png`: the headline score per language and model, like the paper's Figure 1.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from lrm_llava.bench.common import BENCHMARKS
from lrm_llava.bench.prompts import TEMPLATES
from lrm_llava.bench.scoring import HEADLINE, chance_metric, headline
from lrm_llava.jsonio import write_text
from lrm_llava.languages import ALL_CODES, ENGLISH, NON_ENGLISH, get

COLUMNS = ("model", "benchmark", "split", "language", "metric", "value")
TITLES = {"mme": "Multilingual MME", "pope": "Multilingual POPE", "mmbench": "Multilingual MMBench",
          "seed": "Multilingual SEED-Bench (Image)"}
CHANCE_LABEL = "*chance*"
"""Label of the reference row: a uniform random guesser's expected score on the same questions."""


def write_results(results: list[dict], out_dir: str | Path) -> tuple[Path, Path]:
    """Write results.json and results.csv; returns their paths."""
    out = Path(out_dir)
    rows = [{c: r.get(c) for c in COLUMNS} for r in results]
    json_path, csv_path = out / "results.json", out / "results.csv"
    write_text(json_path, json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({**r, "split": r["split"] or ""} for r in rows)
    write_text(csv_path, buf.getvalue())
    return json_path, csv_path


def _models(results: list[dict]) -> list[str]:
    return list(dict.fromkeys(r["model"] for r in results))


def _languages(results: list[dict], benchmark: str | None = None) -> list[str]:
    present = {r["language"] for r in results if benchmark is None or r["benchmark"] == benchmark}
    return [c for c in ALL_CODES if c in present]


def _avg(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return sum(vals) / len(vals) if vals else None


def _fmt(value: float | None, bold: bool = False) -> str:
    if value is None or math.isnan(value):
        return "–"
    text = f"{value:.1f}"
    return f"**{text}**" if bold else text


def _label(code: str) -> str:
    return code.capitalize()


def avg_sentence(languages: list[str]) -> str:
    """How Avg is computed, stated under every table."""
    others = [c for c in languages if c != ENGLISH]
    if not others:
        return "Only English was evaluated here, so there is no Avg column (Avg = mean of the non-English languages)."
    if len(others) == len(NON_ENGLISH):
        return "Avg = mean of the 9 non-English languages."
    names = ", ".join(get(c).english_name for c in others) or "none"
    return (f"Avg = mean of the {len(others)} non-English languages evaluated here ({names}); "
            "with all ten languages it is the mean of the 9 non-English languages.")


def table(results: list[dict], benchmark: str, metric_lookup=headline) -> tuple[list[str], str]:
    """The Table 1 block of one benchmark (markdown) and its language columns."""
    langs = _languages(results, benchmark)
    models = [m for m in _models(results) if any(r["model"] == m and r["benchmark"] == benchmark for r in results)]
    has_avg = any(c != ENGLISH for c in langs)
    cells = {m: [metric_lookup(results, m, benchmark, c) for c in langs] for m in models}
    avgs = {m: [_avg([v for c, v in zip(langs, cells[m]) if c != ENGLISH])] if has_avg else [] for m in models}
    best = []
    for j in range(len(langs) + int(has_avg)):
        col = [(cells[m] + avgs[m])[j] for m in models]
        vals = [v for v in col if v is not None and not math.isnan(v)]
        best.append(max(vals) if len(models) > 1 and vals else None)
    head = "| Model | " + " | ".join(_label(c) for c in langs) + (" | Avg |" if has_avg else " |")
    lines = [head, "|---" * (len(langs) + 1 + int(has_avg)) + "|"]
    for m in models:
        row = cells[m] + avgs[m]
        lines.append(f"| {m} | " + " | ".join(_fmt(v, v is not None and v == best[j]) for j, v in enumerate(row))
                     + " |")
    chance = _chance_row(results, models, benchmark, langs)
    if not has_avg:
        chance = chance[: len(langs)]
    if any(v is not None for v in chance):
        lines.append(f"| {CHANCE_LABEL} | " + " | ".join(_fmt(v) for v in chance) + " |")
    return langs, "\n".join(lines)


def _present(results: list[dict], benchmark: str, prefix: str) -> list[str]:
    """The keys of `<prefix>[<key>]` metrics of a benchmark, in first-seen order."""
    out: dict[str, None] = {}
    for r in results:
        name = r["metric"]
        if r["benchmark"] == benchmark and name.startswith(prefix + "[") and name.endswith("]"):
            out.setdefault(name[len(prefix) + 1 : -1], None)
    return list(out)


def caption(results: list[dict], benchmark: str) -> str:
    """What the headline number is, stated for what was evaluated (subtasks, splits present)."""
    if benchmark == "mme":
        from lrm_llava.bench.mme import PERCEPTION

        present = [s for s in PERCEPTION if s in _present(results, "mme", "score")]
        if len(present) == len(PERCEPTION):
            return ("MME perception score: the sum of the 10 perception subtask scores (acc + acc+, max 200 "
                    "each; max 2000)")
        names = ", ".join(present) or "none"
        return (f"MME perception score: the sum of the {len(present)} perception subtask scores evaluated here "
                f"({names}; acc + acc+, max 200 each, so max {200 * len(present)} here; the full benchmark's "
                "ten give max 2000)")
    if benchmark == "pope":
        from lrm_llava.bench.pope import SPLITS

        splits = {r["split"] for r in results if r["benchmark"] == "pope" and r["split"]}
        present = [s for s in SPLITS if s in splits] + sorted(splits - set(SPLITS))
        return f"POPE F1 (%), mean of the {len(present)} split(s) evaluated ({', '.join(present) or 'none'})"
    if benchmark == "mmbench":
        return ("MMBench CircularEval accuracy (%): a question counts only if the model answers every rotation "
                "of it present in the file")
    return HEADLINE[benchmark][1]


BREAKDOWN: dict[str, tuple[str, str]] = {
    "mme": ("Subtask", "Per subtask: score = acc + acc+ (max 200); the perception score sums the perception "
                       "subtasks, the cognition score the cognition ones (marked *cog.*)."),
    "pope": ("Split", "Per split: F1 and accuracy (%), \"yes\" as the positive class; the headline is the mean "
                      "F1 over the splits."),
    "mmbench": ("Category", "Per category: CircularEval accuracy (%)."),
    "seed": ("Dimension", "Per dimension: accuracy (%); the headline pools all questions, so it is not the mean "
                          "of these."),
}


def breakdown(results: list[dict], benchmark: str) -> list[str]:
    """The table under a benchmark's headline: MME per subtask, POPE per split, MMBench per category,
    SEED per dimension; rows (key, model), columns the languages and Avg (non-English mean)."""
    langs = _languages(results, benchmark)
    models = [m for m in _models(results) if any(r["model"] == m and r["benchmark"] == benchmark for r in results)]
    if benchmark == "pope":
        from lrm_llava.bench.pope import SPLITS

        splits = {r["split"] for r in results if r["benchmark"] == "pope" and r["split"]}
        keys = [(f"{s} F1", "f1", s) for s in [*SPLITS, *sorted(splits - set(SPLITS))] if s in splits]
        keys += [(f"{s} accuracy", "accuracy", s) for s in [*SPLITS, *sorted(splits - set(SPLITS))] if s in splits]
    elif benchmark == "mme":
        from lrm_llava.bench.mme import COGNITION, SUBTASKS

        present = _present(results, "mme", "score")
        ordered = [s for s in SUBTASKS if s in present] + [s for s in present if s not in SUBTASKS]
        keys = [(f"{s} *cog.*" if s in COGNITION else s, f"score[{s}]", None) for s in ordered]
    elif benchmark == "seed":
        from lrm_llava.bench.seed import DIMENSIONS

        present = _present(results, "seed", "accuracy")
        ordered = [d for d in DIMENSIONS if d in present] + sorted(d for d in present if d not in DIMENSIONS)
        keys = [(d, f"accuracy[{d}]", None) for d in ordered]
    else:
        keys = [(c, f"accuracy[{c}]", None) for c in sorted(_present(results, benchmark, "accuracy"))]
    if not keys:
        return []
    has_avg = any(c != ENGLISH for c in langs)
    label, note = BREAKDOWN[benchmark]
    md = [note, "", f"| {label} | Model | " + " | ".join(_label(c) for c in langs) + (" | Avg |" if has_avg else " |"),
          "|---" * (len(langs) + 2 + int(has_avg)) + "|"]
    for name, metric, split in keys:
        for m in models:
            vals = [_metric(results, m, benchmark, c, metric, split) for c in langs]
            if all(v is None for v in vals):
                continue
            if has_avg:
                vals.append(_avg([v for c, v in zip(langs, vals) if c != ENGLISH]))
            md.append(f"| {name} | {m} | " + " | ".join(_fmt(v) for v in vals) + " |")
    return md + [""]


def _chance_row(results: list[dict], models: list[str], benchmark: str, langs: list[str]) -> list[float | None]:
    """The chance level per language, then its mean over the non-English ones (Avg)."""
    # Every model carries the chance level of the questions it answered; the first one that was
    # evaluated in a language speaks for it (models normally share the questions).
    metric = chance_metric(HEADLINE[benchmark][0])
    row = [next((v for m in models if (v := headline(results, m, benchmark, c, metric)) is not None), None)
           for c in langs]
    return row + [_avg([v for c, v in zip(langs, row) if c != ENGLISH])]


def _metric(results, model, benchmark, language, metric, split=None):
    for r in results:
        if (r["model"], r["benchmark"], r["language"], r["metric"], r["split"]) == (
                model, benchmark, language, metric, split):
            return r["value"]
    return None


def write_chart(results: list[dict], benchmark: str, path: Path) -> Path:
    """Grouped bars: headline score per language, one bar per model (the paper's Figure 1)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    langs = _languages(results, benchmark)
    models = [m for m in _models(results) if any(r["model"] == m and r["benchmark"] == benchmark for r in results)]
    fig = Figure(figsize=(max(6.0, 0.9 * len(langs) + 2), 3.6))
    FigureCanvasAgg(fig)  # Agg rendering without touching pyplot's global backend
    ax = fig.add_subplot(1, 1, 1)
    # One group per language, plus "Avg" (mean of the non-English languages) as in the tables.
    labels = [_label(c) for c in langs] + (["Avg"] if any(c != ENGLISH for c in langs) else [])
    width = 0.8 / max(1, len(models))
    for i, m in enumerate(models):
        vals = [headline(results, m, benchmark, c) for c in langs]
        if len(labels) > len(langs):
            vals.append(_avg([v for c, v in zip(langs, vals) if c != ENGLISH]))
        xs = [j + (i - (len(models) - 1) / 2) * width for j in range(len(labels))]
        ax.bar(xs, [v if v is not None else 0.0 for v in vals], width=width, label=m)
    chance = _chance_row(results, models, benchmark, langs)[: len(labels)]
    if any(v is not None for v in chance):  # one dashed tick per group: the guesser's level
        xs = [j for j, v in enumerate(chance) if v is not None]
        ax.hlines([chance[j] for j in xs], [j - 0.45 for j in xs], [j + 0.45 for j in xs],
                  colors="black", linestyles="dashed", linewidth=1.0, label="chance")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel(HEADLINE[benchmark][1].split("(")[0].strip())
    ax.set_title(TITLES[benchmark])
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))  # outside: never hides a bar
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def write_report(results: list[dict], out_dir: str | Path, charts: bool = True) -> Path:
    """Write results.json, results.csv, report.md and the charts under `out_dir`; returns report.md."""
    out = Path(out_dir)
    write_results(results, out)
    models = _models(results)
    benches = [b for b in BENCHMARKS if any(r["benchmark"] == b for r in results)]
    md = ["# Multilingual evaluation report", "",
          f"Models: {', '.join(models)}. Rows are models; columns are the languages "
          "(En = English); bold marks the best model per column. The *chance* row is what a uniform "
          "random guesser is expected to score on the same questions.", ""]
    for bench in benches:
        langs, block = table(results, bench)
        md += [f"## {TITLES[bench]}", "", f"{caption(results, bench)}.", "", block, "", avg_sentence(langs), ""]
        md += breakdown(results, bench)
        if charts:
            write_chart(results, bench, out / f"chart_{bench}.png")
            md += [f"![{TITLES[bench]}](chart_{bench}.png)", ""]
    md += _details(results, benches)
    md += _fidelity(results)
    md += ["## Prompts and parsing", "",
           "Each prediction row stores its exact prompt. Templates (suffixes localized from the "
           "language registry):", ""]
    md += [f"- {b}: `{TEMPLATES[b]}`".replace("\n", "\\n") for b in benches]
    md += ["", "Replies are parsed per language (docs/benchmarks.md); an unparseable reply counts as wrong. "
           "Non-English replies that use English yes/no are accepted (language fidelity is reported "
           "separately).", ""]
    path = out / "report.md"
    write_text(path, "\n".join(md))
    return path


def _details(results: list[dict], benches: list[str]) -> list[str]:
    md = ["## Details", ""]
    extra = {"mme": [("cognition", None), ("total", None)],
             "pope": [("accuracy", None), ("precision", None), ("recall", None), ("yes_ratio", None)],
             "mmbench": [("vanilla", None)], "seed": []}
    for bench in benches:
        langs = _languages(results, bench)
        metrics = extra[bench] + [("unparsed", None), ("n", None)]
        md += [f"### {TITLES[bench]}", "", "| Model | Metric | " + " | ".join(_label(c) for c in langs) + " |",
               "|---" * (len(langs) + 2) + "|"]
        for m in _models(results):
            for metric, split in metrics:
                vals = [_metric(results, m, bench, c, metric, split) for c in langs]
                if all(v is None for v in vals):
                    continue
                fmt = (lambda v: "–" if v is None else str(int(v))) if metric in ("n", "unparsed") else _fmt
                md.append(f"| {m} | {metric} | " + " | ".join(fmt(v) for v in vals) + " |")
        md.append("")
    md += ["`unparsed`: replies from which no answer could be read (scored as wrong; for POPE, replies "
           "with neither a yes word nor a negation, which the official rule scores as yes).", ""]
    return md


def _fidelity(results: list[dict]) -> list[str]:
    rows = [r for r in results if r["benchmark"] == "all" and r["metric"] == "fidelity"]
    if not rows:
        return []
    langs = [c for c in ALL_CODES if any(r["language"] == c for r in rows)]
    md = ["## Language fidelity", "",
          "Share (%) of replies written in the language of the question, over all benchmarks "
          "(replies that are only an option letter or a number carry no language and are left out).", "",
          "| Model | " + " | ".join(_label(c) for c in langs) + " |", "|---" * (len(langs) + 1) + "|"]
    for m in _models(results):
        vals = [_metric(results, m, "all", c, "fidelity") for c in langs]
        md.append(f"| {m} | " + " | ".join(_fmt(v) for v in vals) + " |")
    return md + [""]
