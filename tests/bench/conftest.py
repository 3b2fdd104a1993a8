"""Fixtures of the bench tests: benchmark folders built by `benchdata` (English, and translated)."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchdata import make_bench_root


@pytest.fixture
def bench_root(tmp_path) -> Path:
    return make_bench_root(tmp_path / "bench")


@pytest.fixture(scope="session")
def translated_root(tmp_path_factory) -> Path:
    """English + German + Chinese + Czech (pseudo backend) of all four benchmarks. Read-only.

    Text-only translations (`images="shared"`): the images are read from `en`, which the shared-image
    tests rely on; self-contained folders (the default) are tested in test_bench_publish.py."""
    from lrm_llava.bench.translation import TranslateConfig, translate_benchmark

    root = make_bench_root(tmp_path_factory.mktemp("translated") / "bench")
    for bench in ("mme", "pope", "mmbench", "seed"):
        translate_benchmark(TranslateConfig(benchmark=bench, src=root, out=root, languages="de,zh,cs",
                                            backend="pseudo", progress=False, images="shared"))
    return root
