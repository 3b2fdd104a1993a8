"""`lrm-llava bench translate` and `lrm-llava eval`: thin wrappers over `translate_benchmark` and
`run_eval` (see docs/benchmarks.md).

    lrm-llava bench translate --benchmark pope --src bench --languages all --backend table \\
        --table translations.jsonl --out bench
    lrm-llava eval --model runs/model --bench-root bench --benchmarks mme,pope,mmbench,seed \\
        --languages all --out runs/eval --batch-size 16
    lrm-llava eval --predictions runs/eval/predictions/*.jsonl --out runs/rescored
    lrm-llava bench export --bench-root bench --format hf --out published/hf
    lrm-llava bench submit --predictions runs/eval/predictions/*.jsonl --bench-root bench --out submission
"""

from __future__ import annotations

import argparse

from lrm_llava.bench.common import BENCHMARKS
from lrm_llava.bench.export import ExportConfig
from lrm_llava.bench.parse import PARSE_MODES
from lrm_llava.bench.run import EvalConfig, adapter_fields, add_eval_flags
from lrm_llava.bench.submission import SubmitConfig
from lrm_llava.errors import UserError
from lrm_llava.options import add_command, add_field, add_model_flags, config_from_args, field_default
from lrm_llava.translate.flags import add_backend_flags, add_engine_flags, backend_options, engine_options


def register(subparsers) -> None:
    """Add the `bench` (subcommands `translate`, `export`, `submit`) and `eval` commands."""
    bench = subparsers.add_parser("bench", help="translate a benchmark into other languages (native formats)")
    sub = bench.add_subparsers(dest="bench_command", metavar="SUBCOMMAND")
    t = sub.add_parser(
        "translate",
        help="translate MME / POPE / MMBench / SEED-Bench, writing each language in the native format",
        description="Translate a benchmark into other languages; each is written to <out>/<benchmark>/<lang>/ "
        "in the same native format, with its images (hard links, or copies across filesystems), so the folder "
        "stands alone. Resumable through the translation cache: rerun the same command after an interruption.",
    )
    t.add_argument("--benchmark", required=True, choices=BENCHMARKS)
    t.add_argument("--src", required=True, help="benchmark root holding <benchmark>/en/, or that folder itself")
    t.add_argument("--out", required=True, help="benchmark root to write <benchmark>/<language>/ into")
    t.add_argument("--languages", default="non-english", help="target languages: all, non-english or zh,it,...")
    t.add_argument("--src-language", default="en", help="language of the source benchmark (default en)")
    add_backend_flags(t, cache_help="default <out>/translation-cache.sqlite")
    add_engine_flags(t)
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(func=_translate)
    x = add_command(sub, "export", _export,
                    "publish a bench root as a Hugging Face dataset, lmms-eval tasks or VLMEvalKit TSVs",
                    "Export every <benchmark>/<language>/ of a bench root: hf (parquet with embedded images, one "
                    "config per language, dataset card), lmms-eval (that dataset plus a task folder: a YAML per "
                    "benchmark and language, groups, utils.py) or vlmevalkit (TSVs under names VLMEvalKit has "
                    "not registered, and the data part of a run.py --config file). See docs/benchmarks.md.")
    add_field(x, ExportConfig, "bench_root", required=True, metavar="DIR")
    add_field(x, ExportConfig, "format", choices=("hf", "lmms-eval", "vlmevalkit"))
    add_field(x, ExportConfig, "out", required=True, metavar="DIR")
    add_field(x, ExportConfig, "benchmarks")
    add_field(x, ExportConfig, "languages")
    add_field(x, ExportConfig, "dataset_path")
    s = add_command(sub, "submit", _submit,
                    "turn an eval run's predictions into the files the benchmarks' own scorers read",
                    "Write submission files per language under <out>/<benchmark>/<language>/: MME Your_Results/"
                    "<subtask>.txt for the official eval_tool/calculation.py, the MMBench upload .xlsx (dev and "
                    "test splits; needs openpyxl) and the SEED-Bench upload JSONL. See docs/benchmarks.md.")
    add_field(s, SubmitConfig, "predictions", required=True, nargs="+", metavar="FILE")
    add_field(s, SubmitConfig, "bench_root", metavar="DIR")
    add_field(s, SubmitConfig, "out", required=True, metavar="DIR")
    add_field(s, SubmitConfig, "benchmarks")
    add_field(s, SubmitConfig, "languages")
    add_field(s, SubmitConfig, "model_name")
    add_field(s, SubmitConfig, "parse_mode", choices=PARSE_MODES)
    bench.set_defaults(func=lambda args: bench.print_help() or 2)

    e = subparsers.add_parser(
        "eval",
        help="run and score MME / POPE / MMBench / SEED in ten languages",
        description="Run a Llava model on benchmarks in their native formats, score them by the official "
        "rules with per-language parsing, and write predictions/*.jsonl, results.json/.csv, report.md and "
        "charts. Killed runs resume: rerun the same command. With --predictions, rescore existing "
        "prediction files without a model.",
    )
    add_field(e, EvalConfig, "model")
    add_field(e, EvalConfig, "bench_root")
    add_field(e, EvalConfig, "benchmarks", default=",".join(BENCHMARKS))
    add_field(e, EvalConfig, "languages")
    add_field(e, EvalConfig, "out", required=True)
    add_field(e, EvalConfig, "limit", type=int)
    add_field(e, EvalConfig, "model_name")
    add_field(e, EvalConfig, "predictions", nargs="+", metavar="FILE")
    e.add_argument("--no-fidelity", action="store_true", help="skip the language-fidelity measurement")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_model_flags(e, batch_size=field_default(EvalConfig, "batch_size"),
                    max_new_tokens=field_default(EvalConfig, "max_new_tokens"))
    add_eval_flags(e)
    e.set_defaults(func=_eval)


def _translate(args: argparse.Namespace) -> int:
    from lrm_llava.bench.translation import TranslateConfig, translate_benchmark

    options = backend_options(args.backend, args.option, args.table, args.model, args.base_url)
    written = translate_benchmark(TranslateConfig(
        benchmark=args.benchmark, src=args.src, out=args.out, languages=args.languages, backend=args.backend,
        backend_options=options, src_language=args.src_language, cache=args.cache,
        progress=not args.no_progress, engine=args.engine, address=args.address, engine_options=engine_options(args),
    ))
    for lang, folder in written.items():
        print(f"{lang}: {folder}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from lrm_llava.bench.export import export_bench

    written = export_bench(config_from_args(ExportConfig, args))
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from lrm_llava.bench.submission import write_submission

    written = write_submission(config_from_args(SubmitConfig, args))
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from lrm_llava.bench.run import EvalConfig, run_eval

    if args.batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    config = EvalConfig(
        out=args.out, model=args.model, bench_root=args.bench_root, benchmarks=args.benchmarks,
        languages=args.languages, batch_size=args.batch_size, limit=args.limit, model_name=args.model_name,
        template=args.template, max_new_tokens=args.max_new_tokens, predictions=args.predictions or [],
        fidelity=not args.no_fidelity, progress=not args.no_progress, device=args.device,
        dtype=args.dtype, **adapter_fields(args),
    )
    run_eval(config)
    print(f"wrote {args.out}/report.md, results.json, results.csv")
    return 0
