"""`lrm-llava data build` and `data import`: thin wrappers over `lrm_llava.instruct.build_dataset`
and `lrm_llava.instruct.importers.run_import`.

    lrm-llava data import --format chartqa --src "ChartQA Dataset" --out data/chartqa.json
    lrm-llava data build --source en.json --stage finetune --languages zh,it,fr,de,es,ru,ro,cs,hr \\
        --backend google --mix 1.0 --tasks mvqa,epvqa,bvqa --out multi.json --dry-run
"""

from __future__ import annotations

import argparse
import json

from lrm_llava.chat.templates import STAGE_NAMES
from lrm_llava.options import add_field, command_group, number_or_text, parse_key_values
from lrm_llava.translate.flags import add_backend_flags, add_engine_flags, engine_options


def register(subparsers) -> None:
    from lrm_llava.instruct.build import BuildConfig

    sub = command_group(subparsers, "data", "translate English LLaVA data and build MVQA / EP-VQA / BVQA samples")
    p = sub.add_parser(
        "build",
        help="build multilingual task-instruction data from English LLaVA JSON",
        description="Translate English LLaVA-format data and build the MVQA / EP-VQA / BVQA mix. "
        "Resumable: translations are cached in SQLite; rerun the same command after an interruption.",
    )
    add_field(p, BuildConfig, "sources", "--source", action="append", required=True, metavar="FILE",
              help="Repeat the flag for several files.")
    add_field(p, BuildConfig, "stage", choices=STAGE_NAMES)
    add_field(p, BuildConfig, "languages")
    add_backend_flags(p, cache_help="default <stem>.translations.sqlite beside --out")
    add_field(p, BuildConfig, "ratio", "--mix", type=float)
    add_field(p, BuildConfig, "english_share", type=float)
    p.add_argument("--tasks", help="tasks for non-English samples, e.g. mvqa,epvqa,bvqa or none "
                   "(default: mvqa in pretrain, all three in finetune)")
    p.add_argument("--task-weights", action="append", default=[], metavar="TASK=W",
                   help="task proportions, e.g. mvqa=2,epvqa=1,bvqa=1 (default equal)")
    add_field(p, BuildConfig, "out", required=True)
    add_field(p, BuildConfig, "dry_run", action="store_true")
    p.add_argument("--price", action="append", default=[], metavar="BACKEND=USD",
                   help="dry-run price per million characters, e.g. google=20")
    add_field(p, BuildConfig, "rate", type=float, metavar="SEGMENTS_PER_S")
    add_field(p, BuildConfig, "seed", type=int)
    add_field(p, BuildConfig, "image_root")
    p.add_argument("--source-mode", action="append", default=[], metavar="FILE=MODE",
                   help="per-source keep-English override: english, translate or auto")
    p.add_argument("--no-keep-english", action="store_true", help="switch the keep-English rules off")
    add_field(p, BuildConfig, "check_language", action="store_true")
    add_field(p, BuildConfig, "max_segment_chars", type=int)
    add_field(p, BuildConfig, "registry_prompts", action=argparse.BooleanOptionalAction)
    add_engine_flags(p)
    add_field(p, BuildConfig, "quality", action="store_true")
    add_field(p, BuildConfig, "back_translation", action="store_true")
    add_field(p, BuildConfig, "drop_flagged", action="store_true")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run_build)
    _register_import(sub)


def _register_import(sub) -> None:
    from lrm_llava.instruct.importers import FORMATS, ImportConfig

    p = sub.add_parser(
        "import",
        help="convert a public release (LLaVA-665k, ShareGPT4V, ChartQA, DocVQA, DVQA, AI2D, GeoQA, the_cauldron) "
        "to LLaVA JSON",
        description="Read a dataset in the layout its public release ships and write LLaVA JSON (images under one "
        "root, LLaVA-1.5's answer-format prompts added where LLaVA added them, skipped rows counted in "
        "<out stem>.stats.json). The output is a valid `data build` source.",
    )
    add_field(p, ImportConfig, "format", required=True, choices=list(FORMATS))
    add_field(p, ImportConfig, "src", required=True)
    add_field(p, ImportConfig, "out", required=True)
    add_field(p, ImportConfig, "image_root")
    add_field(p, ImportConfig, "images")
    add_field(p, ImportConfig, "split")
    add_field(p, ImportConfig, "test_ids")
    p.add_argument("--no-prompts", action="store_true",
                   help="do not add LLaVA-1.5's answer-format sentences (keep the questions as released)")
    add_field(p, ImportConfig, "limit", type=int)
    p.set_defaults(func=run_import_command)


def run_import_command(args: argparse.Namespace) -> int:
    from lrm_llava.instruct.importers import ImportConfig, run_import

    stats = run_import(ImportConfig(format=args.format, src=args.src, out=args.out, image_root=args.image_root,
                                    images=args.images, split=args.split, test_ids=args.test_ids,
                                    prompts=not args.no_prompts, limit=args.limit))
    print(f"wrote {stats['total']} samples to {stats['out']} (images under {stats['image_root']}; "
          f"stats: {stats['stats_path']})")
    print("per source: " + json.dumps(stats["counts"], ensure_ascii=False))
    if stats["skipped"]["total"]:
        print(f"skipped {stats['skipped']['total']}: " + json.dumps(stats["skipped"]["reasons"], ensure_ascii=False))
    return 0


def config_from_args(args: argparse.Namespace):
    from lrm_llava.instruct.build import DEFAULT_PRICES, BuildConfig
    from lrm_llava.translate import KeepEnglishRules

    tasks = None
    if args.tasks is not None:
        tasks = [] if args.tasks.strip().lower() in ("", "none") else [t.strip() for t in args.tasks.split(",") if t.strip()]
    rules = KeepEnglishRules(enabled=not args.no_keep_english,
                             source_modes=parse_key_values(args.source_mode, "--source-mode"))
    return BuildConfig(
        sources=args.sources,
        out=args.out,
        stage=args.stage,
        languages=args.languages,
        backend=args.backend,
        table=args.table,
        model=args.model,
        base_url=args.base_url,
        backend_options=parse_key_values(args.option, "--option", number_or_text),  # table/model/base_url: fields
        ratio=args.ratio,
        english_share=args.english_share,
        tasks=tasks,
        task_weights=parse_key_values(args.task_weights, "--task-weights", float),
        cache=args.cache,
        dry_run=args.dry_run,
        rate=args.rate,
        seed=args.seed,
        image_root=args.image_root,
        keep_english=rules,
        check_language=args.check_language,
        prices={**DEFAULT_PRICES, **parse_key_values(args.price, "--price", float)},
        max_segment_chars=args.max_segment_chars,
        progress=not args.no_progress,
        registry_prompts=args.registry_prompts,
        engine=args.engine,
        address=args.address,
        engine_options=engine_options(args),
        quality=args.quality,
        back_translation=args.back_translation,
        drop_flagged=args.drop_flagged,
    )


def run_build(args: argparse.Namespace) -> int:
    from lrm_llava.instruct.build import build_dataset

    stats = build_dataset(config_from_args(args))
    if args.dry_run:
        print(f"{'language':<10}{'strings':>10}{'chars':>12}")
        for lang, row in stats.dry_run.items():
            print(f"{lang:<10}{row['strings']:>10}{row['chars']:>12}")
        print("estimated cost (USD): " + ", ".join(f"{k} {v:.2f}" for k, v in stats.cost_usd.items()))
        if stats.wall_time:
            w = stats.wall_time
            took = f"{w['hours']:.2f} h" if w["hours"] >= 1 else f"{w['hours'] * 60:.1f} min"
            print(f"expected wall time: {w['segments']} segments at {w['rate']:g} segments/s per worker on "
                  f"{w['workers']} worker(s): {took}")
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
    if stats.engine:
        e = stats.engine
        print(f"ray engine: {e['blocks']} blocks, {e['segments']} segments on {e['workers']} workers "
              f"({e['wall']:.1f} s)")
    if stats.quality:
        worst = [(la, src, row["share"]["any"]) for la, rows in stats.quality["by_language"].items()
                 for src, row in rows.items()]
        shown = ", ".join(f"{la}/{src} {share:.1%}" for la, src, share in sorted(worst, key=lambda r: -r[2])[:5])
        print(f"flagged translations (worst): {shown or 'none'}")
    if stats.dropped:
        print("dropped: " + json.dumps(stats.dropped, ensure_ascii=False))
    return 0
