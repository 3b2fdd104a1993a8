"""What every importer shares: the row it yields, the answer-format prompts, image placement and
the run that turns rows into one validated LLaVA JSON file plus its stats.

An importer is a generator `read(src, ctx)` over the release's own layout that yields `Row`s (one
future sample) and `Skip`s (a record left out, with the reason). `run_import` does the rest, the
same way for every format: `<image>` once at the front of the first human turn, images copied
(hard-linked where the file system allows) under one image root, ids made unique, every sample
checked with `lrm_llava.data.reader.validate_sample`, per-source counts and skipped rows written to
`<out stem>.stats.json` beside the output.
"""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lrm_llava import languages
from lrm_llava.chat.templates import IMAGE_TOKEN
from lrm_llava.errors import DataError, UserError
from lrm_llava.jsonio import read_json

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

SHORT_ANSWER = languages.get(languages.ENGLISH).short_answer_suffix
"""LLaVA-1.5's "Answer the question using a single word or phrase." (VQAv2, GQA, OCR-VQA, TextVQA)."""
OPTION_LETTER = languages.get(languages.ENGLISH).option_suffix
"""LLaVA-1.5's "Answer with the option's letter from the given choices directly." (A-OKVQA, ScienceQA)."""

_EXISTING_INSTRUCTION = re.compile(
    r"single word or phrase|option's letter|answer with the (?:option|letter)|answer (?:yes or no|briefly)"
    r"|(?:brief|short|concise|succinct|terse) (?:answer|response|reply)|answer (?:directly|concisely)"
    r"|keep (?:it|your \w+|responses) (?:brief|short|concise|snappy)|be succinct|quick response|brevity"
    r"|(?:answers?|responses?) (?:should|must) be (?:very )?(?:brief|concise|compact|short)"
    r"|make (?:the|your) answers? (?:very )?short|short and (?:direct|to)|respond concisely",
    re.IGNORECASE,
)
"""Answer-format instructions a source may already carry (LLaVA's own; the brevity hints the
Cauldron appends, "Answer briefly.", "Quick response, please.", "Keep it brief.", "Be succinct.",
...; its "Answer with the letter."): no second one is added on top."""


def has_answer_instruction(text: str) -> bool:
    """True when `text` already tells the model how to format its answer (in any registry language)."""
    if _EXISTING_INSTRUCTION.search(text):
        return True
    return any(s in text for lang in languages.LANGUAGES.values()
               for s in (lang.short_answer_suffix, lang.option_suffix, lang.yes_no_suffix))


def short_answer_prompt(question: str) -> str:
    """`question` + LLaVA-1.5's short-answer sentence (unless it already has an instruction)."""
    question = question.strip()
    return question if has_answer_instruction(question) else f"{question}\n{SHORT_ANSWER}"


def multiple_choice_prompt(question: str, options: list[str], suffix: str = OPTION_LETTER) -> str:
    """LLaVA-1.5's multiple-choice layout: the question, "A. option" lines, then `suffix`."""
    lines = [question.strip(), *(f"{LETTERS[i]}. {str(o).strip()}" for i, o in enumerate(options))]
    if not has_answer_instruction(question):
        lines.append(suffix)
    return "\n".join(lines)


@dataclass
class Row:
    """One sample to write."""

    id: str
    """Unique within the format (the run prefixes nothing: importers choose stable ids)."""
    turns: list[tuple[str, str]]
    """(role, text) with role "human"/"gpt"; `<image>` may stand anywhere (it is moved)."""
    source: str
    """Sub-source for the per-source counts and the build's per-source defaults ("chartqa", "coco", ...)."""
    image: Path | bytes | None = None
    """The release's image file, or its bytes (parquet), or None for a text-only sample."""
    image_name: str | None = None
    """Relative path under the output image root (required when `image` is set)."""
    extra: dict = field(default_factory=dict)
    """Further fields kept in the sample (answers, question_id, lang, ...)."""
    where: str = ""


@dataclass
class Skip:
    """A record left out, and why."""

    where: str
    reason: str
    source: str = ""


@dataclass
class ImportContext:
    """What an importer may read besides its `src`."""

    images: Path | None = None
    """Where the release's images are, when they are not found from `src` alone."""
    split: str = "train"
    prompts: bool = True
    """Add LLaVA-1.5's answer-format sentences to short-answer and multiple-choice sources."""
    test_ids: Path | None = None
    """A list of ids to exclude (AI2D's official test ids)."""
    limit: int | None = None
    """Stop after this many rows (a quick look at a huge release)."""


def image_suffix(data: bytes) -> str:
    """File extension from the image's magic bytes (the Cauldron stores bytes without a name)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if data.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return ".gif"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return ".webp"
    if data.startswith(b"BM"):
        return ".bmp"
    return ".img"


def place_image(image: Path | bytes, root: Path, name: str) -> bool:
    """Put the image at `root/name` (hard link, else copy; bytes are written); False if it was there."""
    target = root / name
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    if isinstance(image, (bytes, bytearray)):
        tmp.write_bytes(bytes(image))
    else:
        try:
            os.link(image, tmp)
        except OSError:
            shutil.copyfile(image, tmp)
    os.replace(tmp, target)
    return True


def conversations(turns: list[tuple[str, str]], has_image: bool) -> list[dict]:
    """LLaVA turns with `<image>` once at the front of the first human turn (when there is an image)."""
    out = [{"from": role, "value": text.replace(IMAGE_TOKEN, "").strip() if has_image else text.strip()}
           for role, text in turns]
    if has_image and out:
        out[0]["value"] = f"{IMAGE_TOKEN}\n{out[0]['value']}"
    return out


class SkipCounter:
    """Skipped rows per reason (and per source), with the first few locations of each reason."""

    def __init__(self, keep: int = 5) -> None:
        self.reasons: Counter = Counter()
        self.by_source: dict[str, Counter] = {}
        self.examples: dict[str, list[str]] = {}
        self.keep = keep

    def add(self, skip: Skip) -> None:
        self.reasons[skip.reason] += 1
        self.by_source.setdefault(skip.source or "-", Counter())[skip.reason] += 1
        shown = self.examples.setdefault(skip.reason, [])
        if len(shown) < self.keep:
            shown.append(skip.where)

    def as_dict(self) -> dict:
        return {"total": sum(self.reasons.values()), "reasons": dict(self.reasons.most_common()),
                "by_source": {k: dict(v) for k, v in sorted(self.by_source.items())},
                "examples": self.examples}


def require_dir(path: Path, what: str, fix: str) -> Path:
    if not path.is_dir():
        raise UserError(f"{path}: {what} not found. Fix: {fix}")
    return path


def require_file(path: Path, what: str, fix: str) -> Path:
    if not path.is_file():
        raise UserError(f"{path}: {what} not found. Fix: {fix}")
    return path


def json_list(path: Path, what: str) -> Iterator[tuple[str, object]]:
    """("<file>[<index>]", record) for every element of a JSON file holding a list (a clear error
    for any other top level); records are yielded as they are, for the importer to judge."""
    data = read_json(path, what)
    if not isinstance(data, list):
        raise DataError(f"{path}: the top level is {type(data).__name__}, not a list. Fix: pass the release's "
                        f"{what} itself.")
    for index, record in enumerate(data):
        yield f"{path.name}[{index}]", record


def text_of(value, where: str, name: str) -> str:
    """A string field as stored: strings verbatim, numbers as JSON writes them ("2.5"), else an error."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        raise DataError(f"{where}: field {name!r} is {value!r}, not text")
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    raise DataError(f"{where}: field {name!r} is a {type(value).__name__}, not text")
