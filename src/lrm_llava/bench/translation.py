"""The `bench translate` job: translate a benchmark into other languages, in its native format.

    lrm-llava bench translate --benchmark mme --src bench --languages all --backend nllb \\
        --option path=models/nllb-200-distilled-600M --out bench

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

Each translated folder is self-contained (`images="link"`, the default): the images it needs are
placed in it, in the native layout (MME `<subtask>/images/` or side by side, POPE `images/`, SEED
`images/`), as hard links when source and target are on the same filesystem (no extra space; the
files are the same inode, so editing one edits all: they are never written to) and as copies
otherwise (another filesystem, or a filesystem without hard links). `images="copy"` always copies;
`images="shared"` writes text only, and the folder then reads its images from
`<out>/<benchmark>/en/` (see `bench.common`). MMBench images sit inline in the TSV either way.

MME questions of the OCR, text_translation and code_reasoning subtasks keep their quoted strings
("...", '...', `...`, curly quotes) and code verbatim: the yes/no label depends on them. They are
handed to the protection layer of `lrm_llava.translate.protect` as inline code, which it replaces by
sentinels the MT backend never sees (exact backends such as `table` get the whole string as usual).

Every translation goes through the translation cache (`<out>/translation-cache.sqlite` by
default): a killed job reruns without paying twice, and the same strings are never translated twice
across benchmarks or rotations. The folder's `manifest.json` records the cache file and its SHA-256
after the run, and the SHA-256 of the translations the folder was made from.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lrm_llava.bench.common import benchmark_dir
from lrm_llava.bench.formats import MODULES
from lrm_llava.bench.formats import load as load_document
from lrm_llava.errors import UserError
from lrm_llava.jsonio import read_json, write_json
from lrm_llava.languages import ENGLISH, get, parse_languages
from lrm_llava.paths import check_output_apart, check_relative, output_folder

IMAGE_MODES = ("link", "copy", "shared")
"""How `bench translate` gives a translated folder its images (see the module docstring)."""


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
    engine: str = "local"
    """Where the translations run: "local" (this process) or "ray" (`lrm_llava.translate.distributed`)."""
    address: str | None = None
    """Ray cluster address for engine "ray"; None: a local Ray."""
    engine_options: dict = field(default_factory=dict)
    """Ray engine options: workers, block_size, cpus_per_worker, gpus_per_worker, num_cpus."""
    images: str = "link"
    """"link" (hard link, else copy: a self-contained folder), "copy", or "shared" (text only; images
    read from `<out>/<benchmark>/en/`)."""


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
    check_output_apart(folder, [src_dir], "the target folder")
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
            "texts": n_texts, "images": config.images,
            "made": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def translations_sha256(table: dict[str, str]) -> str:
    """SHA-256 of the (source text -> translation) pairs a folder was made from, in a canonical form
    (sorted JSON): equal for two folders made from the same translations, whatever the cache held."""
    pairs = sorted((k, v) for k, v in table.items() if k)
    return hashlib.sha256(json.dumps(pairs, ensure_ascii=False).encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Quoted strings and code kept verbatim in MME's OCR / text_translation / code_reasoning questions.
_QUOTED = re.compile(
    r"`[^`\n]+`"  # inline code (protect.py masks it already; matched here so quotes inside stay put)
    r'|"[^"\n]+"'  # "double quotes"
    r"|“[^”\n]+”|‘[^’\n]+’|«[^»\n]+»|„[^“”\n]+[“”]"  # typographic quotes
    r"|(?<![\w'])'(?=\S)[^'\n]*?(?<=\S)'(?![\w])"  # 'single quotes' (not an apostrophe: "angie's")
    r"|\b[A-Za-z_][\w.]*\([^()\n]*(?:\([^()\n]*\)[^()\n]*)*\)"  # a call: print(x), print(len(s))
    r"|\S*(?:==|!=|<=|>=|\+=|-=|\*=|/=|->|::|&&|\|\|)\S*"  # an expression with a code operator
)
_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use marks: never in benchmark text, never seen by MT
_WRAPPED = re.compile(f"`{_OPEN}(.*?){_CLOSE}`", re.DOTALL)


def guard_quotes(text: str) -> str:
    """`text` with every quoted string and code span turned into inline code (marked), so that the
    protection layer (`lrm_llava.translate.protect`) replaces it by a sentinel before MT."""
    def wrap(match: re.Match) -> str:
        span = match.group(0)
        if span.startswith("`") or "`" in span:
            return span  # already code (protected as it is), or not representable as inline code
        return f"`{_OPEN}{span}{_CLOSE}`"

    return _QUOTED.sub(wrap, text)


def unguard_quotes(text: str) -> str:
    """Undo `guard_quotes` on a translation (or on an untranslated fallback)."""
    return _WRAPPED.sub(lambda m: m.group(1), text)


def place_images(files: dict[str, Path | bytes], folder: Path, mode: str) -> int:
    """Put each image of `files` (relative path -> source file or bytes) under `folder`: a hard link
    (mode "link", when the filesystem allows it) or a copy; bytes are written. Returns the count."""
    for rel, source in files.items():
        norm = check_relative(rel, where=str(folder), what="image")
        dest = folder / norm
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, bytes):
            if not (dest.is_file() and dest.read_bytes() == source):
                _unlink(dest)
                dest.write_bytes(source)
            continue
        source = Path(source).resolve()
        if dest.is_file() and os.path.samefile(dest, source):
            continue  # already there: this link, or a symlink to the source
        _unlink(dest)
        if mode == "link":
            try:
                os.link(source, dest)
                continue
            except OSError:  # another filesystem (EXDEV), or one without hard links: copy instead
                pass
        shutil.copyfile(source, dest)
    return len(files)


def _unlink(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()


def translate_benchmark(config: TranslateConfig, translator=None) -> dict[str, Path]:
    """Translate one benchmark into every target language; returns language -> folder written.

    `translator` may be passed already built (else `make_translator(config.backend, **options)`).
    """
    from lrm_llava.translate import TranslationCache, make_translator, translate_texts

    bench = config.benchmark.strip().lower()
    if bench not in MODULES:
        raise UserError(f"unknown benchmark {config.benchmark!r}; choose from {', '.join(MODULES)}")
    module = MODULES[bench]
    if config.images not in IMAGE_MODES:
        raise UserError(f"images={config.images!r}: choose one of {', '.join(IMAGE_MODES)}")
    src_lang = get(config.src_language).code
    src_dir = source_dir(config.src, bench, src_lang)
    doc = load_document(bench, src_dir)
    shared_dir = src_dir.parent / ENGLISH
    images = {} if config.images == "shared" else module.image_files(
        doc, src_dir, shared_dir if shared_dir.is_dir() and shared_dir != src_dir else None)
    texts = list(dict.fromkeys(t for t in module.source_texts(doc, src_lang) if t.strip()))
    guarded = getattr(module, "protected_texts", lambda d, lang: set())(doc, src_lang)
    targets = [c for c in parse_languages(config.languages) if c != src_lang]
    if not targets:
        raise UserError(f"no target language other than the source ({src_lang}) in {config.languages!r}")
    out_root = output_folder(config.out)  # a file in the way is a clear error; a root may hold the source
    for tgt in targets:
        check_target(benchmark_dir(out_root, bench, tgt), src_dir)
    if translator is None:
        translator = make_translator(config.backend, **config.backend_options)
    cache_path = Path(config.cache) if config.cache else out_root / "translation-cache.sqlite"
    # quoted strings and code of some MME subtasks go to MT as inline code (sentinels); exact backends
    # look whole strings up and get them unchanged
    sent = [guard_quotes(t) if t in guarded and not getattr(translator, "exact", False) else t for t in texts]
    written: dict[str, Path] = {}
    manifests: dict[Path, dict] = {}
    from lrm_llava.translate.distributed import make_engine

    engine = make_engine(config.engine, config.backend, config.backend_options, address=config.address,
                         engine_options=config.engine_options, progress=config.progress)
    cache = TranslationCache(cache_path)
    try:
        if engine is not None:  # every language in one Ray job, committed to the cache block by block
            engine.prefill({tgt: sent for tgt in targets}, src_lang, translator, cache)
        for tgt in targets:
            result = translate_texts(sent, src=src_lang, tgt=tgt, translator=translator, cache=cache,
                                     progress=config.progress)
            table = {t: unguard_quotes(r) for t, r in zip(texts, result)}
            table[""] = ""
            folder = benchmark_dir(out_root, bench, tgt)
            # the manifest first: a folder killed halfway through its files is still ours to redo
            manifest = translation_manifest(config, bench, src_dir, src_lang, tgt, translator, len(texts))
            manifest["translations_sha256"] = translations_sha256(table)
            write_json(folder / MANIFEST, manifest)
            translated = module.translate_doc(doc, table, src_lang, tgt)
            _remove_stale(bench, translated, folder)
            module.write(translated, folder)
            manifest["image_files"] = place_images(images, folder, config.images)
            manifests[folder] = manifest
            written[tgt] = folder
            kept = getattr(result, "kept_english", [])
            if kept:
                print(f"{bench}/{tgt}: {len(kept)} of {len(texts)} texts kept in English "
                      "(the backend's output failed the checks; see the translation docs)", file=sys.stderr)
    finally:
        cache.close()
        if engine is not None:
            engine.close()
    cache_sha = file_sha256(cache_path) if cache_path.is_file() else None
    for folder, manifest in manifests.items():
        manifest["cache"] = {"file": cache_path.name, "sha256": cache_sha}
        write_json(folder / MANIFEST, manifest)
    shared = benchmark_dir(out_root, bench, src_lang)
    if config.images == "shared" and bench != "mmbench" and not shared.is_dir():
        print(f"note: images are shared from {shared}; copy or link the {src_lang} benchmark folder there "
              "before running eval", file=sys.stderr)
    return written


def _remove_stale(bench: str, doc, folder: Path) -> None:
    """Drop TSVs of an earlier translation under other names (MMBench reads every TSV of a folder,
    and `check_target` made sure the folder is one of ours)."""
    if bench != "mmbench" or not folder.is_dir():
        return
    keep = {f.name for f in doc}
    for path in folder.glob("*.tsv"):
        if path.name not in keep:
            path.unlink()


def read_manifest(folder: Path) -> dict | None:
    """The manifest of a translated folder, or None for an original."""
    path = Path(folder) / MANIFEST
    return read_json(path, "translation manifest") if path.is_file() else None
