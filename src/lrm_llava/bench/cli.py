"""`lrm-llava bench translate` and `lrm-llava eval`: thin wrappers over `translate_benchmark` and
`run_eval` (see docs/benchmarks.md).

    lrm-llava bench translate --benchmark pope --src bench --languages all --backend table \\
        --table translations.jsonl --out bench
    lrm-llava eval --model runs/model --bench-root bench --benchmarks mme,pope,mmbench,seed \\
        --languages all --out runs/eval --batch-size 16
    lrm-llava eval --predictions runs/eval/predictions/*.jsonl --out runs/rescored
"""

from __future__ import annotations

import argparse

from lrm_llava.bench.common import BENCHMARKS
from lrm_llava.errors import UserError
from lrm_llava.options import DTYPE_NAMES, number_or_text, parse_key_values


def register(subparsers) -> None:
    """Add the `bench` (subcommand `translate`) and `eval` commands."""
    bench = subparsers.add_parser("bench", help="translate a benchmark into other languages (native formats)")
    sub = bench.add_subparsers(dest="bench_command", metavar="SUBCOMMAND")
    t = sub.add_parser(
        "translate",
        help="translate MME / POPE / MMBench / SEED-Bench, writing each language in the native format",
        description="Translate a benchmark into other languages; each is written to <out>/<benchmark>/<lang>/ "
        "in the same native format (text only: images are shared from <out>/<benchmark>/en/). Resumable "
        "through the translation cache: rerun the same command after an interruption.",
    )
    t.add_argument("--benchmark", required=True, choices=BENCHMARKS)
    t.add_argument("--src", required=True, help="benchmark root holding <benchmark>/en/, or that folder itself")
    t.add_argument("--out", required=True, help="benchmark root to write <benchmark>/<language>/ into")
    t.add_argument("--languages", default="non-english", help="target languages: all, non-english or zh,it,...")
    t.add_argument("--src-language", default="en", help="language of the source benchmark (default en)")
    t.add_argument("--backend", default="pseudo",
                   help="table, pseudo, nllb, m2m100, marian, ct2, google, deepl or openai")
    t.add_argument("--table", help="translation table (JSONL/TSV) for --backend table")
    t.add_argument("--model", help="local MT model folder (nllb, m2m100, marian, ct2) or model name (openai)")
    t.add_argument("--base-url", help="API root for google/deepl/openai")
    t.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="further backend options (timeout, retries, batch_size, device, ...)")
    t.add_argument("--cache", help="SQLite translation cache (default <out>/translation-cache.sqlite)")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(func=_translate)
    bench.set_defaults(func=lambda args: bench.print_help() or 2)

    e = subparsers.add_parser(
        "eval",
        help="run and score MME / POPE / MMBench / SEED in ten languages",
        description="Run a Llava model on benchmarks in their native formats, score them by the official "
        "rules with per-language parsing, and write predictions/*.jsonl, results.json/.csv, report.md and "
        "charts. Killed runs resume: rerun the same command. With --predictions, rescore existing "
        "prediction files without a model.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    e.add_argument("--model", help="Hugging Face Llava model folder")
    e.add_argument("--bench-root", help="folder holding <benchmark>/<language>/")
    e.add_argument("--benchmarks", default="mme,pope,mmbench,seed", help="comma-separated benchmarks")
    e.add_argument("--languages", default="all", help="all, non-english or a list like en,zh,cs")
    e.add_argument("--out", required=True, help="output folder")
    e.add_argument("--batch-size", type=int, default=16)
    e.add_argument("--limit", type=int, help="first N questions per benchmark x language x split (smoke test)")
    e.add_argument("--model-name", help="name in predictions and reports (default: the model folder's name)")
    e.add_argument("--template", default=None,
                   help="conversation template (default: the one the model was trained with, from its "
                   "recipe.yaml; else vicuna_v1)")
    e.add_argument("--max-new-tokens", type=int, default=16)
    e.add_argument("--predictions", nargs="+", metavar="FILE", help="rescore these prediction JSONL files")
    e.add_argument("--no-fidelity", action="store_true", help="skip the language-fidelity measurement")
    e.add_argument("--no-progress", action="store_true")
    e.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: a GPU when there is one)")
    e.add_argument("--dtype", choices=["auto", *DTYPE_NAMES], default="auto",
                   help="weights' dtype (auto: bfloat16 on a GPU that supports it, else float32)")
    e.set_defaults(func=_eval)


def _translate(args: argparse.Namespace) -> int:
    from lrm_llava.bench.translation import TranslateConfig, translate_benchmark

    options = parse_key_values(args.option, "--option", number_or_text)
    for key, value in (("path", args.table or None), ("model", args.model), ("base_url", args.base_url)):
        if value:
            options[key] = value
    written = translate_benchmark(TranslateConfig(
        benchmark=args.benchmark, src=args.src, out=args.out, languages=args.languages, backend=args.backend,
        backend_options=options, src_language=args.src_language, cache=args.cache,
        progress=not args.no_progress,
    ))
    for lang, folder in written.items():
        print(f"{lang}: {folder}")
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
        dtype=args.dtype,
    )
    run_eval(config)
    print(f"wrote {args.out}/report.md, results.json, results.csv")
    return 0
