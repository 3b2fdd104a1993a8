"""`lrm-llava data build`: a thin wrapper over `lrm_llava.instruct.build_dataset`.

    lrm-llava data build --source en.json --stage finetune --languages zh,it,fr,de,es,ru,ro,cs,hr \\
        --backend google --mix 1.0 --tasks mvqa,epvqa,bvqa --out multi.json --dry-run
"""

from __future__ import annotations

import argparse
import json

from lrm_llava.chat.templates import STAGE_NAMES
from lrm_llava.options import number_or_text, parse_key_values


def register(subparsers) -> None:
    data = subparsers.add_parser("data", help="translate English LLaVA data and build MVQA / EP-VQA / BVQA samples")
    sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    p = sub.add_parser(
        "build",
        help="build multilingual task-instruction data from English LLaVA JSON",
        description="Translate English LLaVA-format data and build the MVQA / EP-VQA / BVQA mix. "
        "Resumable: translations are cached in SQLite; rerun the same command after an interruption.",
    )
    p.add_argument("--source", action="append", required=True, help="English LLaVA JSON/JSONL (repeatable)")
    p.add_argument("--stage", choices=STAGE_NAMES, default="finetune")
    p.add_argument("--languages", default="non-english", help="target languages, e.g. zh,it,fr (default: all nine)")
    p.add_argument("--backend", default="pseudo",
                   help="table, pseudo, nllb, m2m100, marian, ct2, google, deepl or openai")
    p.add_argument("--table", help="translation table (JSONL/TSV) for --backend table")
    p.add_argument("--model", help="local model folder (nllb, m2m100, marian, ct2) or model name (openai)")
    p.add_argument("--base-url", help="API root for google/deepl/openai (e.g. a local vLLM server)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="further backend options: timeout, retries, backoff, batch_size, device, tokenizer, family")
    p.add_argument("--mix", type=float, default=1.0, help="non-English samples = MIX x English samples (default 1.0)")
    p.add_argument("--english-share", type=float, default=1.0, help="share of English samples kept (default 1.0)")
    p.add_argument("--tasks", help="tasks for non-English samples, e.g. mvqa,epvqa,bvqa or none "
                   "(default: mvqa in pretrain, all three in finetune)")
    p.add_argument("--task-weights", action="append", default=[], metavar="TASK=W",
                   help="task proportions, e.g. mvqa=2,epvqa=1,bvqa=1 (default equal)")
    p.add_argument("--out", required=True, help="output JSON (stats go to <stem>.stats.json beside it)")
    p.add_argument("--cache", help="SQLite translation cache (default <stem>.translations.sqlite beside --out)")
    p.add_argument("--dry-run", action="store_true", help="count strings/characters to translate and the cost; write nothing")
    p.add_argument("--price", action="append", default=[], metavar="BACKEND=USD",
                   help="dry-run price per million characters, e.g. google=20")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--image-root", help="drop samples whose image is missing under this folder")
    p.add_argument("--source-mode", action="append", default=[], metavar="FILE=MODE",
                   help="per-source keep-English override: english, translate or auto")
    p.add_argument("--no-keep-english", action="store_true", help="switch the keep-English rules off")
    p.add_argument("--check-language", action="store_true", help="report the off-language rate (lingua)")
    p.add_argument("--max-segment-chars", type=int, default=400, help="split longer lines into sentences for MT")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run_build)
    data.set_defaults(func=lambda args: data.print_help() or 2)


def config_from_args(args: argparse.Namespace):
    from lrm_llava.instruct.build import DEFAULT_PRICES, BuildConfig
    from lrm_llava.translate import KeepEnglishRules

    tasks = None
    if args.tasks is not None:
        tasks = [] if args.tasks.strip().lower() in ("", "none") else [t.strip() for t in args.tasks.split(",") if t.strip()]
    rules = KeepEnglishRules(enabled=not args.no_keep_english,
                             source_modes=parse_key_values(args.source_mode, "--source-mode"))
    return BuildConfig(
        sources=args.source,
        out=args.out,
        stage=args.stage,
        languages=args.languages,
        backend=args.backend,
        table=args.table,
        model=args.model,
        base_url=args.base_url,
        backend_options=parse_key_values(args.option, "--option", number_or_text),
        ratio=args.mix,
        english_share=args.english_share,
        tasks=tasks,
        task_weights=parse_key_values(args.task_weights, "--task-weights", float),
        cache=args.cache,
        dry_run=args.dry_run,
        seed=args.seed,
        image_root=args.image_root,
        keep_english=rules,
        check_language=args.check_language,
        prices={**DEFAULT_PRICES, **parse_key_values(args.price, "--price", float)},
        max_segment_chars=args.max_segment_chars,
        progress=not args.no_progress,
    )


def run_build(args: argparse.Namespace) -> int:
    from lrm_llava.instruct.build import build_dataset

    stats = build_dataset(config_from_args(args))
    if args.dry_run:
        print(f"{'language':<10}{'strings':>10}{'chars':>12}")
        for lang, row in stats.dry_run.items():
            print(f"{lang:<10}{row['strings']:>10}{row['chars']:>12}")
        print("estimated cost (USD): " + ", ".join(f"{k} {v:.2f}" for k, v in stats.cost_usd.items()))
        print("planned samples: " + json.dumps(stats.counts, ensure_ascii=False))
        return 0
    tr = stats.translation
    print(f"wrote {stats.total} samples to {stats.out} (stats: {stats.stats_path})")
    print("counts: " + json.dumps(stats.counts, ensure_ascii=False))
    if tr:
        print(f"translation: {tr['hits']} cached, {tr['misses']} translated, {tr['calls']} calls, "
              f"hit rate {tr['hit_rate']:.1%}")
    if stats.kept_english or stats.kept_english_failed:
        print(f"kept English: {stats.kept_english} (+{stats.kept_english_failed} after failed translation)")
    if stats.off_language:
        print("off-language rate: " + ", ".join(f"{k} {v['rate']:.1%}" for k, v in stats.off_language.items()))
    return 0
