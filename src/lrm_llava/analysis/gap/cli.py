"""`lrm-llava analyze gap`: the parser (flags and defaults from `GapConfig`, model flags from
`lrm_llava.options.add_model_flags`) and the function that turns its arguments into a `run_gap`."""

from __future__ import annotations

import argparse
from typing import Any

from lrm_llava.analysis.gap.features import TEXT_LAYERS
from lrm_llava.analysis.gap.job import GAP_DTYPES, GapConfig, run_gap
from lrm_llava.options import add_field, add_model_flags


def _cli(args: argparse.Namespace) -> int:
    run_gap(
        GapConfig(
            models=args.models, names=args.names or [], data=args.data, image_root=args.image_root,
            out=args.out, n=None if args.n <= 0 else args.n, languages=args.languages,
            per_language=args.per_language, text_layer=args.text_layer, batch_size=args.batch_size,
            device=args.device, dtype=args.dtype, seed=args.seed, plot=args.plot,
        )
    )
    return 0


def add_gap_parser(analyze_subparsers: Any) -> argparse.ArgumentParser:
    """Add `gap` to the `analyze` command's subparsers; the parser's `func` runs `run_gap`."""
    p = analyze_subparsers.add_parser(
        "gap",
        help="modality gap between projected visual and multilingual text features (t-SNE/KDE + numbers)",
        description="Mean-pooled projected visual features vs mean-pooled multilingual text features of "
        "the same samples: t-SNE/KDE figures (visual red, text blue) and three gap numbers "
        "(centroid distance / spread, linear-probe accuracy, RBF MMD^2) per model and language.",
    )
    add_field(p, GapConfig, "models", "--model", action="append", required=True, metavar="DIR",
              help="Repeat for several models (one panel each).")
    add_field(p, GapConfig, "names", "--name", action="append", metavar="NAME", help="In --model order.")
    add_field(p, GapConfig, "data", required=True, metavar="FILE")
    add_field(p, GapConfig, "image_root", required=True, metavar="DIR")
    add_field(p, GapConfig, "n", type=int)
    add_field(p, GapConfig, "languages")
    add_field(p, GapConfig, "out", metavar="DIR")
    add_field(p, GapConfig, "per_language", action="store_true")
    add_field(p, GapConfig, "text_layer", choices=TEXT_LAYERS)
    add_field(p, GapConfig, "batch_size", type=int)
    # --device only: gap's text features come from each question alone, without a chat template
    add_model_flags(p, batch_size=None, max_new_tokens=None, dtype=False, template=False)
    add_field(p, GapConfig, "dtype", choices=GAP_DTYPES)
    add_field(p, GapConfig, "seed", type=int)
    add_field(p, GapConfig, "plot", "--no-plot", action="store_false")
    p.set_defaults(func=_cli)
    return p
