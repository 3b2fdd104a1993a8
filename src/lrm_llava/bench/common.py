"""What the four benchmark modules share: the `Item` a loader yields, image resolution, file helpers.

A benchmark lives on disk as `<root>/<benchmark>/<language>/` in its native format. Every loader
turns such a folder into a list of `Item`s (one per question) that the run loop prompts, and the
benchmark modules (`mme`, `pope`, `mmbench`, `seed`) all expose the same small set of functions:

    load(folder) -> doc                          the native file contents, fields kept as they are
    items(doc, language, lang_dir, en_dir)       -> list[Item]   (images resolved, answers checked)
    source_texts(doc, language)                  -> list[str]    the texts a translation must cover
    translate_doc(doc, table, src, tgt)          -> doc          same structure, texts replaced
    write(doc, folder)                           writes the native format again
    segments(doc, language)                      -> {key: text}  aligned texts for BLEU agreement

Shared images: translation writes text files only, so a translated language folder usually holds
no images. An image path that is not found under `<root>/<benchmark>/<language>/` is looked up at
the same relative path under `<root>/<benchmark>/en/`. MMBench is the exception: its images sit
inline (base64) in the TSV and are copied with the text.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lrm_llava.errors import DataError
from lrm_llava.languages import ENGLISH, get
from lrm_llava.paths import confined

BENCHMARKS: tuple[str, ...] = ("mme", "pope", "mmbench", "seed")
"""The benchmarks this package loads, translates and scores, in report order."""

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
"""Extensions tried, in order, when a native format names an image without its extension (MME)."""


@dataclass
class Item:
    """One benchmark question, ready to be prompted and scored."""

    benchmark: str
    """"mme", "pope", "mmbench" or "seed"."""
    language: str
    """Registry code of the question's language."""
    question_id: str
    """Unique within (benchmark, language, split): MME "<subtask>/<image>/<0|1>", POPE's
    question_id, MMBench's index (rotations included), SEED's question_id."""
    question: str
    """The question text without any answer-format suffix (the prompt adds the localized one)."""
    answer: str
    """Ground truth: "yes"/"no" (MME, POPE) or an option letter (MMBench, SEED)."""
    split: str | None = None
    """POPE split ("random", "popular", "adversarial"); None elsewhere."""
    category: str | None = None
    """MME subtask, MMBench category or SEED dimension; None for POPE."""
    group: str | None = None
    """Questions scored together: MME image ("<subtask>/<image>"), MMBench base index; else None."""
    options: dict[str, str] = field(default_factory=dict)
    """Option letter -> option text (MMBench, SEED), in letter order."""
    hint: str | None = None
    """MMBench hint, prepended to the question when present."""
    image_path: str | None = None
    """Path of the image file (under the bench root given), or None when the image is inline."""
    image_b64: str | None = None
    """Base64-encoded image (MMBench), or None."""

    @property
    def key(self) -> tuple[str, str, str | None, str]:
        """Identity used to resume runs: (benchmark, language, split, question_id)."""
        return (self.benchmark, self.language, self.split, self.question_id)


def load_image(item: Item):
    """The item's image as an RGB PIL image (opened lazily, only when a batch needs it)."""
    from PIL import Image

    try:
        if item.image_b64 is not None:
            img = Image.open(io.BytesIO(base64.b64decode(item.image_b64)))
        elif item.image_path is not None:
            img = Image.open(item.image_path)
        else:
            return None
        return img.convert("RGB")
    except Exception as err:  # PIL raises many kinds; the user needs the item and the file
        where = item.image_path or f"base64 image of {item.benchmark} {item.language} {item.question_id}"
        raise DataError(f"{where}: cannot read image ({err}); replace or remove the file") from err


def resolve_image(rel: str, lang_dir: Path, en_dir: Path | None, sub: str, where: str) -> str:
    """Find `<lang_dir>/<sub>/<rel>`, falling back to `<en_dir>/<sub>/<rel>` (shared images). The
    path must stay inside that image folder, symlinks included (`lrm_llava.paths.confined`)."""
    candidates = [confined(lang_dir / sub, rel, where=where)]
    if en_dir is not None and en_dir != lang_dir:
        candidates.append(confined(en_dir / sub, rel, where=where))
    for cand in candidates:
        if cand.is_file():
            return str(cand)
    tried = " or ".join(str(c) for c in candidates)
    raise DataError(f"{where}: image {rel!r} not found (looked for {tried}); add the image or fix the path")


def find_image_stem(folder: Path, stem: str) -> Path | None:
    """The first `<folder>/<stem><ext>` that exists for the known image extensions."""
    for ext in IMAGE_EXTENSIONS:
        for name in (stem + ext, stem + ext.upper()):
            if (folder / name).is_file():
                return confined(folder, name, where=str(folder / name))
    return None


def strip_suffix(text: str, suffixes: Iterable[str]) -> tuple[str, str | None]:
    """Remove the first matching answer-format suffix from the end of `text`.

    Returns (core, suffix found or None). Whitespace (spaces, newlines) before the suffix goes too.
    """
    stripped = text.rstrip()
    for suffix in suffixes:
        if suffix and stripped.endswith(suffix):
            return stripped[: -len(suffix)].rstrip(), suffix
    return stripped, None


def join_suffix(core: str, suffix: str, language: str) -> str:
    """Append a suffix the way the native file does: after a space, or directly for Chinese."""
    if not suffix:
        return core
    sep = "" if get(language).script == "Hans" else " "
    return f"{core}{sep}{suffix}"


def benchmark_dir(root: Path, benchmark: str, language: str) -> Path:
    """`<root>/<benchmark>/<language>`."""
    return Path(root) / benchmark / language


def english_dir(root: Path, benchmark: str) -> Path:
    """`<root>/<benchmark>/en`, where shared images live."""
    return Path(root) / benchmark / ENGLISH


def is_missing(value) -> bool:
    """True for the empty cells MMBench uses for absent hints/options ("", "nan", None)."""
    return value is None or (isinstance(value, float) and value != value) or str(value).strip().lower() in (
        "",
        "nan",
        "none",
    )
