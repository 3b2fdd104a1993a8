"""The `demo` and `experiment` commands. Their flags come from the config dataclasses
(`DemoConfig`, `ExperimentConfig`: default and help declared once, by the field)."""

from __future__ import annotations

import argparse

from lrm_llava.options import add_command, add_field, config_from_args, config_values, parse_set
from lrm_llava.pipeline.demo import DemoConfig
from lrm_llava.pipeline.experiment import KINDS, ExperimentConfig

_SET_HELP = "Repeatable."


def _split(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def _add_shared(p: argparse.ArgumentParser, cls: type) -> None:
    """The flags of `RunConfig` fields both commands take (with the command's own `out` and `jobs`)."""
    add_field(p, cls, "out")
    add_field(p, cls, "quick", action="store_true")
    add_field(p, cls, "eval_limit", type=int, metavar="N")
    add_field(p, cls, "recipe")
    add_field(p, cls, "train_overrides", "--set", action="append", metavar="KEY=VALUE", default=None,
              help=_SET_HELP)
    add_field(p, cls, "threads", type=int)
    add_field(p, cls, "jobs", type=int)


def _run_demo(args: argparse.Namespace) -> int:
    from lrm_llava.pipeline.demo import run_demo

    run_demo(config_from_args(DemoConfig, args, train_overrides=parse_set(args.train_overrides)))
    return 0


def register_demo(subparsers) -> None:
    """Add the top-level `demo` command."""
    p = add_command(subparsers, "demo", _run_demo, "the whole pipeline on ShapeWorld, offline, on a CPU",
                    "World -> backbones -> multilingual data -> two-stage training of an English-only "
                    "and an LRM-LLaVA model -> ten-language benchmarks -> report. Resumable: rerun to continue.")
    _add_shared(p, DemoConfig)
    add_field(p, DemoConfig, "seed", type=int)


def _run_experiment(args: argparse.Namespace) -> int:
    from lrm_llava.pipeline import experiment

    experiment.run_experiment(args.kind, **config_values(ExperimentConfig, args, variants=list(args.variants),
                                                         train_overrides=parse_set(args.train_overrides)))
    return 0


def register_experiment(subparsers) -> None:
    """Add the top-level `experiment` command."""
    p = add_command(subparsers, "experiment", _run_experiment,
                    "the paper's ablations, data-mix sweep and backbone comparison on ShapeWorld",
                    "Train and evaluate the arms of one experiment over several seeds on ShapeWorld (reusing "
                    "every step made with the same settings under --out), then write <out>/experiment-<kind>/"
                    "rows.json, rows.csv, summary.md (mean ± std, noise verdict) and <kind>.png.")
    p.add_argument("kind", choices=(*KINDS, "all"),
                   help="ablation (Table 3), mix (Figure 6), backbones (Table 4), or all three (shared arms trained once)")
    _add_shared(p, ExperimentConfig)
    add_field(p, ExperimentConfig, "seeds", type=int)
    add_field(p, ExperimentConfig, "benchmarks")
    add_field(p, ExperimentConfig, "variants", type=_split)
    add_field(p, ExperimentConfig, "tables_only", action="store_true")


def register(subparsers) -> None:
    """Add `experiment` and `demo` (in the order `lrm-llava --help` lists them)."""
    register_experiment(subparsers)
    register_demo(subparsers)
