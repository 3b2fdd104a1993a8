"""Translation reliability (the paper's Table 2): agreement of two translations of the same benchmarks.

    lrm-llava analyze bleu --a bench-google --b bench-gpt4o [--benchmarks mme,pope] [--out runs/bleu]

`--a` and `--b` are benchmark roots (`<root>/<benchmark>/<language>/`, native formats) holding the
same benchmarks translated by two systems. For every benchmark × non-English language present in
both, the translated texts are aligned by their place in the benchmark (MME question line, POPE
question_id, MMBench index + field, SEED question_id + field; answer-format suffixes removed, MMBench
rotations counted once) and compared with sacrebleu: corpus BLEU of B against A as the reference
(tokenize "zh" for Chinese, "13a" elsewhere) and chrF. Averages over the languages give one number
per benchmark, as in Table 2. Since the score is symmetric in spirit but not in formula, keep the
same system as A when comparing runs.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from lrm_llava.bench.common import benchmark_dir
from lrm_llava.bench.formats import MODULES
from lrm_llava.bench.formats import load as load_document
from lrm_llava.errors import UserError
from lrm_llava.jsonio import write_text
from lrm_llava.languages import ENGLISH, get, parse_languages
from lrm_llava.options import add_command, add_field, config_from_args


@dataclass
class BleuConfig:
    """Inputs of one BLEU-agreement run."""

    a: str | Path
    """Benchmark root with translation A (the reference side)."""
    b: str | Path
    """Benchmark root with translation B (the hypothesis side)."""
    benchmarks: str | list[str] = "mme,pope,mmbench,seed"
    """Benchmarks to compare (those missing from either root are skipped)."""
    languages: str | list[str] = "non-english"
    """Languages to compare; English is always skipped (it is the source)."""
    out: str | Path | None = None
    """Folder for bleu.json, bleu.csv and bleu.md (nothing written when None)."""


def tokenizer_for(language: str) -> str:
    """sacrebleu tokenizer: "zh" for Chinese script, "13a" elsewhere."""
    return "zh" if get(language).script == "Hans" else "13a"


def compare(a_texts: dict, b_texts: dict, language: str) -> dict[str, float | None]:
    """BLEU and chrF of B against A over their common keys (None without any), plus the counts
    (`segments` compared, `unmatched` texts present on one side only)."""
    from sacrebleu.metrics import BLEU, CHRF

    keys = [k for k in a_texts if k in b_texts]
    refs = [a_texts[k] for k in keys]
    hyps = [b_texts[k] for k in keys]
    if not keys:
        return {"bleu": None, "chrf": None, "segments": 0.0, "unmatched": float(len(a_texts) + len(b_texts))}
    bleu = BLEU(tokenize=tokenizer_for(language)).corpus_score(hyps, [refs]).score
    chrf = CHRF().corpus_score(hyps, [refs]).score
    unmatched = len(set(a_texts) ^ set(b_texts))
    return {"bleu": bleu, "chrf": chrf, "segments": float(len(keys)), "unmatched": float(unmatched)}


def bleu_agreement(config: BleuConfig) -> list[dict]:
    """Tidy rows {benchmark, language, metric, value}; language "avg" = mean over the languages
    compared for that benchmark, benchmark "all" = mean over benchmarks per language and overall."""
    from lrm_llava.bench.run import parse_benchmarks

    a_root, b_root = Path(config.a), Path(config.b)
    for root in (a_root, b_root):
        if not root.is_dir():
            raise UserError(f"{root}: benchmark root not found")
    langs = [c for c in parse_languages(config.languages) if c != ENGLISH]
    rows: list[dict] = []
    for bench in parse_benchmarks(config.benchmarks):
        module = MODULES[bench]
        for lang in langs:
            da, db = benchmark_dir(a_root, bench, lang), benchmark_dir(b_root, bench, lang)
            if not (da.is_dir() and db.is_dir()):
                continue
            res = compare(module.segments(load_document(bench, da), lang),
                          module.segments(load_document(bench, db), lang), lang)
            rows += [{"benchmark": bench, "language": lang, "metric": m, "value": v} for m, v in res.items()]
    if not rows:
        raise UserError(f"no benchmark × language present in both {a_root} and {b_root}")
    rows += _averages(rows)
    if config.out:
        write_bleu(rows, config.out, a=str(a_root), b=str(b_root))
    return rows


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _averages(rows: list[dict]) -> list[dict]:
    out = []
    benches = list(dict.fromkeys(r["benchmark"] for r in rows))
    langs = list(dict.fromkeys(r["language"] for r in rows))
    for metric in ("bleu", "chrf"):
        for bench in benches:
            vals = [r["value"] for r in rows if r["benchmark"] == bench and r["metric"] == metric]
            out.append({"benchmark": bench, "language": "avg", "metric": metric, "value": _mean(vals)})
        for lang in langs:
            vals = [r["value"] for r in rows if r["language"] == lang and r["metric"] == metric]
            out.append({"benchmark": "all", "language": lang, "metric": metric, "value": _mean(vals)})
        per_bench = [r["value"] for r in out if r["language"] == "avg" and r["metric"] == metric
                     and r["benchmark"] != "all"]
        out.append({"benchmark": "all", "language": "avg", "metric": metric, "value": _mean(per_bench)})
    return out


def format_table(rows: list[dict]) -> str:
    """Markdown: rows = languages + Avg, columns = BLEU / chrF per benchmark (Table 2 is the Avg row)."""
    benches = [b for b in dict.fromkeys(r["benchmark"] for r in rows) if b != "all"]
    langs = [c for c in dict.fromkeys(r["language"] for r in rows) if c != "avg"]
    value = {(r["benchmark"], r["language"], r["metric"]): r["value"] for r in rows}

    def cell(b, lang, m):
        v = value.get((b, lang, m))
        return "–" if v is None else f"{v:.2f}"

    head = "| Language | " + " | ".join(f"{b} BLEU | {b} chrF" for b in benches) + " |"
    lines = [head, "|---" * (2 * len(benches) + 1) + "|"]
    for lang in langs + ["avg"]:
        label = "Avg" if lang == "avg" else lang.capitalize()
        lines.append(f"| {label} | " + " | ".join(f"{cell(b, lang, 'bleu')} | {cell(b, lang, 'chrf')}"
                                                  for b in benches) + " |")
    return "\n".join(lines)


def write_bleu(rows: list[dict], out: str | Path, a: str = "A", b: str = "B") -> Path:
    """bleu.json, bleu.csv and bleu.md under `out`; returns bleu.md."""
    out = Path(out)
    write_text(out / "bleu.json", json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["benchmark", "language", "metric", "value"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(out / "bleu.csv", buf.getvalue())
    md = ["# Translation agreement (BLEU / chrF)", "",
          f"Translation B ({b}) scored against translation A ({a}) as the reference; sacrebleu corpus "
          "BLEU (tokenize zh for Chinese, 13a otherwise) and chrF. Avg = mean over the non-English "
          "languages compared.", "", format_table(rows), ""]
    path = out / "bleu.md"
    write_text(path, "\n".join(md))
    return path


def add_cli(analyze_sub) -> None:
    """Add `analyze bleu` to the `analyze` subcommands."""
    p = add_command(analyze_sub, "bleu", _run_cli,
                    "BLEU / chrF agreement of two translations of the same benchmarks (the paper's Table 2)",
                    "Compare two translations of the same benchmarks (two benchmark roots) with sacrebleu "
                    "BLEU and chrF per benchmark x language, and their averages.")
    for name in ("a", "b"):
        add_field(p, BleuConfig, name, required=True, metavar="ROOT")
    for name in ("benchmarks", "languages", "out"):
        add_field(p, BleuConfig, name)


def _run_cli(args: argparse.Namespace) -> int:
    rows = bleu_agreement(config_from_args(BleuConfig, args))
    if args.out:
        print(f"wrote {Path(args.out) / 'bleu.md'}", file=sys.stderr)
    print(format_table(rows))
    return 0
