"""The `bench translate` job: translate a benchmark into other languages, in its native format.

    lrm-llava bench translate --benchmark mme --src bench --languages all --backend nllb \\
        --backend-opt path=models/nllb-200-distilled-600M --out bench

`--src` is a benchmark root holding `<benchmark>/en/` (or the English benchmark folder itself);
each language is written to `<out>/<benchmark>/<language>/` in the same native format, so
lmms-eval / VLMEvalKit-style tools can read it too. What is translated:

- MME: each question without its " Please answer yes or no." suffix; the registry's `yes_no_suffix`
  of the target language is appended again. Answers stay `Yes`/`No`; file names, layout and image
  pairs are unchanged.
- POPE: the question text (so the object name is translated with it); ids, images, labels kept.
- MMBench: question, hint and option texts; index (rotations included), letters, answer, category,
  l2-category, source, split, comment and the inline images kept.
- SEED-Bench: question and choice texts; ids, answers, data ids and dimensions kept.

Only text files are written: images are shared through `<out>/<benchmark>/en/` (see
`bench.common`), so keep the English folder there. Every translation goes through the translation
cache (`<out>/translation-cache.sqlite` by default): a killed job reruns without paying twice, and
the same strings are never translated twice across benchmarks or rotations.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from lrm_llava.bench.common import benchmark_dir
from lrm_llava.bench.formats import MODULES
from lrm_llava.errors import UserError
from lrm_llava.jsonio import write_json
from lrm_llava.languages import get, parse_languages


@dataclass
class TranslateConfig:
    """Everything one `bench translate` run needs."""

    benchmark: str
    """"mme", "pope", "mmbench" or "seed"."""
    src: str | Path
    """Benchmark root holding `<benchmark>/<src_language>/`, or that folder itself."""
    out: str | Path
    """Benchmark root to write `<benchmark>/<language>/` into (usually the same as `src`)."""
    languages: str | list[str] = "non-english"
    """Target languages ("all" and "non-english" skip the source language)."""
    backend: str = "pseudo"
    """Translation backend name (see `lrm_llava.translate.BACKENDS`)."""
    backend_options: dict = field(default_factory=dict)
    """Options for `make_translator` (e.g. {"path": "table.jsonl"} for the table backend)."""
    src_language: str = "en"
    """Language of the source benchmark."""
    cache: str | Path | None = None
    """Translation cache (SQLite); default `<out>/translation-cache.sqlite`."""
    progress: bool = True
    """Show progress bars."""


def source_dir(src: str | Path, benchmark: str, language: str) -> Path:
    """`<src>/<benchmark>/<language>` if it exists, else `src` itself (a benchmark folder)."""
    src = Path(src)
    nested = benchmark_dir(src, benchmark, language)
    if nested.is_dir():
        return nested
    if src.is_dir():
        return src
    raise UserError(f"{src}: not found; pass a benchmark root holding {benchmark}/{language}/ or that folder")


MANIFEST = "manifest.json"
"""Written into every translated language folder: where it came from and how it was made. A
folder without it is an original, which `bench translate` never writes over."""


def check_target(folder: Path, src_dir: Path) -> None:
    """Refuse to write a translation into the source folder or over a folder it did not write."""
    if folder.resolve() == src_dir.resolve():
        raise UserError(f"{folder} is the source of this translation; writing into it would replace the "
                        "original. Fix: leave the source language out of --languages, or pass another --out.")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / MANIFEST).is_file():
        raise UserError(f"{folder} holds a benchmark that `bench translate` did not write (no {MANIFEST}); "
                        "it is never overwritten. Fix: pass another --out, leave that language out of "
                        "--languages, or remove the folder if it is a translation of your own.")


def translation_manifest(config: TranslateConfig, bench: str, src_dir: Path, src_lang: str, tgt: str,
                         translator, n_texts: int) -> dict:
    """What a translated folder records about itself (MANIFEST)."""
    import datetime

    return {"benchmark": bench, "language": tgt, "source": str(src_dir), "source_language": src_lang,
            "backend": config.backend, "model": getattr(translator, "model", "") or "",
            "texts": n_texts, "made": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def translate_benchmark(config: TranslateConfig, translator=None) -> dict[str, Path]:
    """Translate one benchmark into every target language; returns language -> folder written.

    `translator` may be passed already built (else `make_translator(config.backend, **options)`).
    """
    from lrm_llava.translate import TranslationCache, make_translator, translate_texts

    bench = config.benchmark.strip().lower()
    if bench not in MODULES:
        raise UserError(f"unknown benchmark {config.benchmark!r}; choose from {', '.join(MODULES)}")
    module = MODULES[bench]
    src_lang = get(config.src_language).code
    src_dir = source_dir(config.src, bench, src_lang)
    doc = module.load(src_dir)
    texts = list(dict.fromkeys(t for t in module.source_texts(doc, src_lang) if t.strip()))
    targets = [c for c in parse_languages(config.languages) if c != src_lang]
    if not targets:
        raise UserError(f"no target language other than the source ({src_lang}) in {config.languages!r}")
    out_root = Path(config.out)
    for tgt in targets:
        check_target(benchmark_dir(out_root, bench, tgt), src_dir)
    if translator is None:
        translator = make_translator(config.backend, **config.backend_options)
    cache_path = Path(config.cache) if config.cache else out_root / "translation-cache.sqlite"
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    cache = TranslationCache(cache_path)
    try:
        for tgt in targets:
            result = translate_texts(texts, src=src_lang, tgt=tgt, translator=translator, cache=cache,
                                     progress=config.progress)
            table = dict(zip(texts, result))
            table[""] = ""
            folder = benchmark_dir(out_root, bench, tgt)
            # the manifest first: a folder killed halfway through its files is still ours to redo
            write_json(folder / MANIFEST, translation_manifest(config, bench, src_dir, src_lang, tgt, translator,
                                                               len(texts)))
            module.write(module.translate_doc(doc, table, src_lang, tgt), folder)
            written[tgt] = folder
            kept = getattr(result, "kept_english", [])
            if kept:
                print(f"{bench}/{tgt}: {len(kept)} of {len(texts)} texts kept in English "
                      "(the backend's output failed the checks; see the translation docs)", file=sys.stderr)
    finally:
        cache.close()
    shared = benchmark_dir(out_root, bench, src_lang)
    if bench != "mmbench" and not shared.is_dir():
        print(f"note: images are shared from {shared}; copy or link the {src_lang} benchmark folder there "
              "before running eval", file=sys.stderr)
    return written
