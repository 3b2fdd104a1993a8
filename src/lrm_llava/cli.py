"""The `lrm-llava` command: one console script, one subcommand per job.

Each subcommand lives next to the library code it wraps, in a `cli.py` module that exposes
`register(subparsers)`; the parser it adds sets `func`, a plain function that receives the parsed
arguments. This file only assembles them, so `lrm-llava --help` lists every job:

    lrm-llava world ...        build the ShapeWorld testbed and its tiny backbones
    lrm-llava data build ...   translate English LLaVA data and build MVQA / EP-VQA / BVQA samples
    lrm-llava train ...        run stage "pretrain" or "finetune" from a recipe
    lrm-llava chat ...         answer one question about one image
    lrm-llava bench ...        translate a benchmark into other languages (native formats)
    lrm-llava eval ...         run and score MME / POPE / MMBench / SEED in ten languages
    lrm-llava analyze ...      BLEU agreement between two translations, modality-gap analysis
    lrm-llava experiment ...   the paper's ablations, data-mix sweep and backbone comparison
    lrm-llava demo ...         the whole pipeline on ShapeWorld, offline, on a CPU
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules that contribute subcommands, in the order `--help` lists them.
_COMMAND_MODULES = (
    "lrm_llava.world.cli",
    "lrm_llava.instruct.cli",
    "lrm_llava.train.cli",
    "lrm_llava.infer.cli",
    "lrm_llava.bench.cli",
    "lrm_llava.analysis.cli",
    "lrm_llava.demo",
)


def build_parser() -> argparse.ArgumentParser:
    from lrm_llava import __version__

    parser = argparse.ArgumentParser(
        prog="lrm-llava",
        description="Multilingual LLaVA: data construction, two-stage training, ten-language benchmarks.",
    )
    parser.add_argument("--version", action="version", version=f"lrm-llava {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
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
