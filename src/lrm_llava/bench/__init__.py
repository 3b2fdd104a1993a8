"""Multilingual benchmarks: MME, POPE, MMBench and SEED-Bench in their native formats, in any
registry language — translate them, run a model on them, parse replies per language, score them
by the official rules, and report like the paper's Table 1 / Figure 1.

    from lrm_llava.bench import EvalConfig, run_eval, write_report, TranslateConfig, translate_benchmark
    translate_benchmark(TranslateConfig(benchmark="pope", src="bench", out="bench", backend="pseudo"))
    results = run_eval(EvalConfig(model="runs/model", bench_root="bench", out="runs/eval"))
    write_report(results, "runs/eval")

    export_bench(ExportConfig(bench_root="bench", out="published/hf", format="hf"))

Command line: `lrm-llava bench translate ...`, `lrm-llava eval ...`, `lrm-llava bench export ...`
(see docs/benchmarks.md).
"""

from lrm_llava.bench.common import BENCHMARKS, Item, load_image
from lrm_llava.bench.export import ExportConfig, export_bench
from lrm_llava.bench.parse import parse_option, parse_output, parse_pope, parse_yes_no
from lrm_llava.bench.prompts import build_prompt
from lrm_llava.bench.report import write_report, write_results
from lrm_llava.bench.run import EvalConfig, apply_limit, load_items, read_predictions, rescore, run_eval
from lrm_llava.bench.scoring import score_predictions
from lrm_llava.bench.translation import TranslateConfig, translate_benchmark

__all__ = [
    "BENCHMARKS",
    "EvalConfig",
    "ExportConfig",
    "Item",
    "TranslateConfig",
    "apply_limit",
    "build_prompt",
    "export_bench",
    "load_image",
    "load_items",
    "parse_option",
    "parse_output",
    "parse_pope",
    "parse_yes_no",
    "read_predictions",
    "rescore",
    "run_eval",
    "score_predictions",
    "translate_benchmark",
    "write_report",
    "write_results",
]
