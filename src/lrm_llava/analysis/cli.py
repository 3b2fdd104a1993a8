"""`lrm-llava analyze ...`: the analysis commands, assembled from the analysis modules.

    lrm-llava analyze bleu --a bench-google --b bench-gpt4o --out runs/bleu
    lrm-llava analyze gap --model runs/a --data d.json --image-root img --out runs/gap
    lrm-llava analyze reliance --model runs/a --data d.json --image-root img --out runs/reliance

To add a command, write its parser function next to its library code and add it to
`ANALYZE_COMMANDS`: `function(analyze_subparsers)` adds the subparser and sets its `func`. Keep heavy
imports inside the command functions: the parser is built at every start of `lrm-llava`.
"""

from __future__ import annotations

from collections.abc import Callable

from lrm_llava.analysis import bleu, reliance
from lrm_llava.analysis.gap import cli as gap_cli
from lrm_llava.options import command_group

ANALYZE_COMMANDS: tuple[Callable, ...] = (bleu.add_cli, gap_cli.add_gap_parser, reliance.add_reliance_parser)
"""Functions adding an `analyze <name>` subcommand, in the order `--help` lists them."""


def register(subparsers) -> None:
    """Add `analyze` with the ANALYZE_COMMANDS subcommands."""
    sub = command_group(subparsers, "analyze", "BLEU agreement between two translations, the modality gap, "
                        "image reliance")
    for add in ANALYZE_COMMANDS:
        add(sub)
