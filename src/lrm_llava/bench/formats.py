"""Benchmark name -> the module that reads, translates, writes and scores its native format."""

from __future__ import annotations

from types import ModuleType

from lrm_llava.bench import mmbench, mme, pope, seed

MODULES: dict[str, ModuleType] = {"mme": mme, "pope": pope, "mmbench": mmbench, "seed": seed}
"""Each module offers load / items / source_texts / translate_doc / write / segments / score."""
