"""`lrm-llava analyze ...` (and further analysis commands): assembled from the analysis modules.

    lrm-llava analyze bleu --a bench-google --b bench-gpt4o --out runs/bleu

To add a command, write its parser function next to its library code and add one line here:
- an `analyze` subcommand: "module:function" in `ANALYZE_COMMANDS`, where `function(analyze_subparsers)`
  adds the subparser and sets its `func` (e.g. "lrm_llava.analysis.gap.cli:add_gap_parser");
- a top-level command: "module:function" in `TOP_LEVEL_COMMANDS`, where `function(subparsers)` adds
  it (e.g. "lrm_llava.analysis.experiments:register" for `experiment`).
Modules are imported when the parser is built, so keep heavy imports inside the command functions.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

ANALYZE_COMMANDS: tuple[str, ...] = (
    "lrm_llava.analysis.bleu:add_cli",
    "lrm_llava.analysis.gap.cli:add_gap_parser",
    "lrm_llava.analysis.reliance:add_reliance_parser",
)
"""Functions adding an `analyze <name>` subcommand, as "module:function"."""

TOP_LEVEL_COMMANDS: tuple[str, ...] = (
    "lrm_llava.analysis.experiments:register",
)
"""Functions adding a top-level command, as "module:function"."""


def _resolve(spec: str) -> Callable:
    module, _, function = spec.partition(":")
    return getattr(importlib.import_module(module), function or "register")


def register(subparsers) -> None:
    """Add `analyze` (with the ANALYZE_COMMANDS subcommands) and the TOP_LEVEL_COMMANDS commands."""
    analyze = subparsers.add_parser("analyze", help="BLEU agreement between two translations, and other analyses")
    sub = analyze.add_subparsers(dest="analyze_command", metavar="SUBCOMMAND")
    for spec in ANALYZE_COMMANDS:
        _resolve(spec)(sub)
    analyze.set_defaults(func=lambda args: analyze.print_help() or 2)
    for spec in TOP_LEVEL_COMMANDS:
        _resolve(spec)(subparsers)
