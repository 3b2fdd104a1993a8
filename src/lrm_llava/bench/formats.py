"""Benchmark name -> the module that reads, translates, writes and scores its native format, and
the one `load` that reads any supported layout."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from lrm_llava.bench import importers, mmbench, mme, pope, seed

MODULES: dict[str, ModuleType] = {"mme": mme, "pope": pope, "mmbench": mmbench, "seed": seed}
"""Each module offers load / items / source_texts / translate_doc / write / segments / score."""


def load(benchmark: str, folder: str | Path):
    """The document of `<benchmark>/<language>/` in whatever layout it is: a layout of another tool
    (lmms-lab parquet, MME `Your_Results`, LLaVA's `llava_pope_test.jsonl`, VLMEvalKit TSVs, the
    SEED release's image folder: `bench.importers`) is read into the native document; otherwise the
    benchmark module reads its native layout."""
    folder = Path(folder)
    layout = importers.detect(benchmark, folder) if folder.is_dir() else None
    if layout is not None:
        return importers.load(benchmark, folder, layout)
    return MODULES[benchmark].load(folder)
