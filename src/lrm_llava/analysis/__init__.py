"""Analyses around the benchmarks and the models: translation agreement (BLEU / chrF, the paper's
Table 2) in `analysis.bleu`; further analyses (modality gap, experiment sweeps) live in sibling
modules and register their commands in `analysis.cli`.

    from lrm_llava.analysis import BleuConfig, bleu_agreement
    rows = bleu_agreement(BleuConfig(a="bench-google", b="bench-gpt4o", out="runs/bleu"))
"""

from lrm_llava.analysis.bleu import BleuConfig, bleu_agreement, format_table, write_bleu

__all__ = ["BleuConfig", "bleu_agreement", "format_table", "write_bleu"]
