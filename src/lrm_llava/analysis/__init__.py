"""Analyses around the benchmarks and the models: translation agreement (BLEU / chrF, the paper's
Table 2) in `analysis.bleu`; further analyses (the modality gap in the package `analysis.gap`, the
image-reliance blind test in `analysis.reliance`, experiment sweeps) live in sibling modules and
register their commands in `analysis.cli`. Models are loaded by `lrm_llava.infer.load_model` and
samples read by `lrm_llava.data.read_samples`, as everywhere else.

    from lrm_llava.analysis import BleuConfig, bleu_agreement
    rows = bleu_agreement(BleuConfig(a="bench-google", b="bench-gpt4o", out="runs/bleu"))
"""

from lrm_llava.analysis.bleu import BleuConfig, bleu_agreement, format_table, write_bleu

__all__ = ["BleuConfig", "bleu_agreement", "format_table", "write_bleu"]
