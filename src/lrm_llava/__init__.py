"""LRM-LLaVA: multilingual LLaVA-style vision-language models for low-resource languages.

Translate English visual-instruction data, build the paper's MVQA / EP-VQA / BVQA task
instructions, train a LLaVA model in two stages, and evaluate it on MME, POPE, MMBench and
SEED-Bench in ten languages. Start with `lrm-llava --help` or `make demo`.
"""

__version__ = "0.1.0"
