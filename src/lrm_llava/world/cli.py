"""`lrm-llava world build` and `lrm-llava world backbones`: thin wrappers over
`lrm_llava.world.build_world` and `lrm_llava.world.train_backbones`.

    lrm-llava world build --out runs/demo/world [--quick] [--seed 0]
    lrm-llava world backbones --world runs/demo/world --out runs/demo/backbones [--quick]
        [--set llm_init_range=0.1 ...]     # any `BackboneConfig` field
"""

from __future__ import annotations

import argparse
import json

from lrm_llava.options import command_group


def _build(args: argparse.Namespace) -> int:
    from lrm_llava.world.export import build_world

    meta = build_world(args.out, n_train_scenes=args.train_scenes, n_bench_scenes=args.bench_scenes,
                       seed=args.seed, quick=args.quick)
    c = meta["counts"]
    print(f"ShapeWorld in {args.out}: {c['train_scenes']} training scenes, {c['vqa_conversations']} VQA "
          f"conversations, {c['translation_entries']} table entries, benchmarks: "
          + json.dumps(c["bench"]))
    return 0


def _backbones(args: argparse.Namespace) -> int:
    from lrm_llava.options import parse_set
    from lrm_llava.world.backbones import config_from_overrides, format_metrics, train_backbones

    config = config_from_overrides(parse_set(args.set), quick=args.quick)
    metrics = train_backbones(args.world, args.out, quick=args.quick, config=config)
    print(format_metrics(metrics))
    print(f"backbones saved under {args.out}/vision and {args.out}/llm (metrics in {args.out}/metrics.json)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `world` command with its `build` and `backbones` subcommands."""
    sub = command_group(subparsers, "world", "build the ShapeWorld testbed and its tiny backbones")

    b = sub.add_parser("build", help="scenes, English LLaVA sources, translation table, benchmarks")
    b.add_argument("--out", required=True, help="output folder (e.g. runs/demo/world)")
    b.add_argument("--quick", action="store_true", help="a small world for smoke tests")
    b.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    b.add_argument("--train-scenes", type=int, default=None, help="override the number of training scenes")
    b.add_argument("--bench-scenes", type=int, default=None, help="override the number of held-out scenes")
    b.set_defaults(func=_build)

    k = sub.add_parser("backbones", help="train the tiny CLIP vision tower and the tiny LLaMA LM")
    k.add_argument("--world", required=True, help="a folder made by `lrm-llava world build`")
    k.add_argument("--out", required=True, help="output folder; gets vision/, llm/ and metrics.json")
    k.add_argument("--quick", action="store_true", help="a few training steps only (smoke tests)")
    k.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a BackboneConfig field, e.g. --set llm_init_range=0.1 (repeatable)")
    k.set_defaults(func=_backbones)
