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
from lrm_llava.bench.run import EvalConfig, adapter_fields, add_eval_flags
from lrm_llava.errors import UserError
from lrm_llava.options import add_field, add_model_flags, field_default
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
    x = sub.add_parser(
        "export",
        help="publish a bench root as a Hugging Face dataset, lmms-eval tasks or VLMEvalKit TSVs",
        description="Export every <benchmark>/<language>/ of a bench root: hf (parquet with embedded images, "
        "one config per language, dataset card), lmms-eval (that dataset plus a task folder: a YAML per "
        "benchmark and language, groups, utils.py) or vlmevalkit (TSVs under names VLMEvalKit has not "
        "registered, and the data part of a run.py --config file). See docs/benchmarks.md.",
    )
    x.add_argument("--bench-root", required=True, help="folder holding <benchmark>/<language>/")
    x.add_argument("--format", required=True, choices=("hf", "lmms-eval", "vlmevalkit"))
    x.add_argument("--out", required=True, help="folder to write the export into")
    x.add_argument("--benchmarks", default=",".join(BENCHMARKS), help="benchmarks to export (those present)")
    x.add_argument("--languages", default="all", help="languages to export (those present): all or zh,it,...")
    x.add_argument("--dataset-path", default=None,
                   help="lmms-eval: where the task YAMLs find the data (a Hugging Face repository prefix or an "
                   "hf export folder); default: the hf export written to <out>/hf")
    x.set_defaults(func=_export)
    s = sub.add_parser(
        "submit",
        help="turn an eval run's predictions into the files the benchmarks' own scorers read",
        description="Write submission files per language under <out>/<benchmark>/<language>/: MME "
        "Your_Results/<subtask>.txt for the official eval_tool/calculation.py, the MMBench upload .xlsx (dev and "
        "test splits; needs openpyxl) and the SEED-Bench upload JSONL. See docs/benchmarks.md.",
    )
    s.add_argument("--predictions", required=True, nargs="+", metavar="FILE",
                   help="prediction files of an eval run (<out>/predictions/*.jsonl)")
    s.add_argument("--bench-root", default=None,
                   help="the bench root the predictions were made on (needed for MME and MMBench)")
    s.add_argument("--out", required=True, help="folder to write <benchmark>/<language>/ into")
    s.add_argument("--benchmarks", default="all", help="benchmarks to submit (mme, mmbench, seed; default all)")
    s.add_argument("--languages", default="all", help="languages to submit: all or zh,it,...")
    s.add_argument("--model-name", default=None, help="the model whose predictions to submit (when several)")
    s.add_argument("--parse-mode", default=None, choices=("official", "lenient"),
                   help="how replies are read, as eval's --parse-mode (default: eval's default)")
    s.set_defaults(func=_submit)
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
    from lrm_llava.bench.export import ExportConfig, export_bench

    written = export_bench(ExportConfig(bench_root=args.bench_root, out=args.out, format=args.format,
                                        benchmarks=args.benchmarks, languages=args.languages,
                                        dataset_path=args.dataset_path))
    for name, path in written.items():
        print(f"{name}: {path}")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from lrm_llava.bench.parse import DEFAULT_PARSE_MODE
    from lrm_llava.bench.submission import SubmitConfig, write_submission

    written = write_submission(SubmitConfig(
        predictions=args.predictions, out=args.out, bench_root=args.bench_root, benchmarks=args.benchmarks,
        languages=args.languages, model_name=args.model_name, parse_mode=args.parse_mode or DEFAULT_PARSE_MODE))
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
