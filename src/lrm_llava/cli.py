"""The `lrm-llava` command: one console script, one subcommand per job.

Each subcommand lives next to the library code it wraps, in a `cli.py` module that exposes
`register(subparsers)`; the parser it adds sets `func`, a plain function that receives the parsed
arguments. This file only assembles them (`COMMANDS`), so `lrm-llava --help` lists every job:

    lrm-llava world ...        build the ShapeWorld testbed and its tiny backbones
    lrm-llava data build ...   translate English LLaVA data and build MVQA / EP-VQA / BVQA samples
    lrm-llava train ...        run stage "pretrain" or "finetune" from a recipe
    lrm-llava chat ...         answer one question about one image
    lrm-llava bench ...        translate a benchmark into other languages; export it for other harnesses
    lrm-llava eval ...         run and score MME / POPE / MMBench / SEED in ten languages
    lrm-llava analyze ...      BLEU agreement between two translations, modality-gap analysis
    lrm-llava experiment ...   the paper's ablations, data-mix sweep and backbone comparison
    lrm-llava demo ...         the whole pipeline on ShapeWorld, offline, on a CPU
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from lrm_llava.analysis import cli as analysis_cli
from lrm_llava.bench import cli as bench_cli
from lrm_llava.infer import cli as infer_cli
from lrm_llava.instruct import cli as instruct_cli
from lrm_llava.pipeline import cli as pipeline_cli
from lrm_llava.train import cli as train_cli
from lrm_llava.world import cli as world_cli

COMMANDS: tuple[Callable, ...] = (
    world_cli.register,  # world build | backbones
    instruct_cli.register,  # data build
    train_cli.register,  # train
    infer_cli.register,  # chat
    bench_cli.register,  # bench translate | export, eval
    analysis_cli.register,  # analyze bleu | gap | reliance
    pipeline_cli.register,  # experiment, demo
)
"""Each package's `register(subparsers)`, in the order `--help` lists the commands. A command's
module keeps heavy imports (torch, transformers) inside its functions, so building the parser is
cheap."""


def build_parser() -> argparse.ArgumentParser:
    from lrm_llava import __version__

    parser = argparse.ArgumentParser(
        prog="lrm-llava",
        description="Multilingual LLaVA: data construction, two-stage training, ten-language benchmarks.",
    )
    parser.add_argument("--version", action="version", version=f"lrm-llava {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in COMMANDS:
        register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from lrm_llava.errors import UserError

    try:
        result = args.func(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: finished work is kept; rerun the same command to resume", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
