"""MMBench: load, translate, write and score the native TSV format (VLMEvalKit's).

Layout of `mmbench/<language>/`: one or more `*.tsv` files with the columns `index, question, hint,
A, B, C, D, answer, category, image, source, l2-category, comment, split` (extra columns are kept).
Questions have 2-4 options (empty cells for the missing ones). `image` is the base64-encoded image,
or, as in VLMEvalKit, the index of the row whose image it shares. CircularEval copies sit in the
same file at `index + k * 1,000,000` with the options rotated and `answer` moved accordingly.

A test split (as the official `MMBench_TEST_EN.tsv`) has no `answer` column, or empty cells in it:
its rows become Items with answer "" that `eval` prompts and records but does not score
(`lrm-llava bench submit` writes the upload spreadsheet for them, `bench.submission`).

Scoring (CircularEval): a question counts as right only if every one of its rotations present is
right; `overall` and `accuracy[<category>]` are ×100 shares of questions. `vanilla` is plain
accuracy over the base rows (index < 1,000,000), reported for reference.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from lrm_llava.bench.common import Item, is_missing
from lrm_llava.errors import DataError
from lrm_llava.jsonio import refuse_utf16, write_text

ROTATION = 1_000_000
"""Rotated copies of question i have index i + k * ROTATION."""
LETTERS = "ABCDEFGHI"
TEXT_FIELDS = ("question", "hint")
_REQUIRED = ("index", "question", "A", "B")

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # base64 images exceed csv's 128 kB default


@dataclass
class MMBFile:
    """One TSV file: its header (column order kept) and rows (strings as in the file)."""

    name: str
    """File name ("MMBench_DEV_EN.tsv")."""
    header: list[str]
    rows: list[dict[str, str]]
    lines: list[int]
    """Line number where each row starts (for error messages)."""
    path: str


def load(folder: Path) -> list[MMBFile]:
    """Read every `*.tsv` under `folder` (an `mmbench/<language>/` directory).

    lmms-lab/MMBench parquet files are read too (`bench.importers`; images become base64 cells)."""
    folder = Path(folder)
    paths = sorted(folder.glob("*.tsv")) if folder.is_dir() else []
    if not paths:
        raise DataError(f"{folder}: no MMBench .tsv file found")
    files = []
    seen: dict[int, str] = {}
    for path in paths:
        refuse_utf16(path)
        try:
            files.append(_read_tsv(path, seen))
        except UnicodeDecodeError as err:
            raise DataError(f"{path}: byte {err.start} is not UTF-8. Fix: save the TSV as UTF-8.") from None
    return files


def _read_tsv(path: Path, seen: dict[int, str]) -> MMBFile:
    """One MMBench TSV; `seen` (index -> file name) catches indices repeated across files."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(f"{path}: empty file; expected a header line") from None
        missing = [c for c in _REQUIRED if c not in header]
        if missing:
            raise DataError(f"{path}:1: missing column(s) {', '.join(missing)} in the header")
        rows, lines = [], []
        start = reader.line_num + 1
        for cells in reader:
            if not any(c.strip() for c in cells):
                start = reader.line_num + 1
                continue
            if len(cells) != len(header):
                raise DataError(f"{path}:{start}: {len(cells)} cells for {len(header)} columns "
                                "(a tab or an unbalanced quote inside a field?)")
            row = dict(zip(header, cells))
            try:
                index = int(float(row["index"]))
            except ValueError:
                raise DataError(f"{path}:{start}: index {row['index']!r} is not an integer") from None
            if index in seen:
                raise DataError(f"{path}:{start}: index {index} already used in {seen[index]}")
            seen[index] = path.name
            rows.append(row)
            lines.append(start)
            start = reader.line_num + 1
    return MMBFile(path.name, header, rows, lines, str(path))


def _options(row: dict[str, str]) -> dict[str, str]:
    return {k: row[k].strip() for k in LETTERS if k in row and not is_missing(row[k])}


def items(doc: list[MMBFile], language: str, lang_dir: Path, en_dir: Path | None) -> list[Item]:
    """One Item per row, rotations included; images stay inline (base64)."""
    out = []
    for f in doc:
        images = {int(float(r["index"])): r.get("image", "") for r in f.rows}
        for row, line in zip(f.rows, f.lines):
            where = f"{f.path}:{line}"
            index = int(float(row["index"]))
            options = _options(row)
            if len(options) < 2:
                raise DataError(f"{where}: question {index} has {len(options)} option(s); MMBench needs 2-4")
            answer = "" if is_missing(row.get("answer")) else row["answer"].strip()
            if answer and answer not in options:
                raise DataError(f"{where}: answer {answer!r} of question {index} is not one of its options "
                                f"{', '.join(options)}")
            image = _image(row.get("image", ""), images, where)
            out.append(Item(
                benchmark="mmbench", language=language, question_id=str(index), question=row["question"].strip(),
                answer=answer, category=(row.get("category") or "").strip() or None,
                group=str(index % ROTATION), options=options,
                hint=None if is_missing(row.get("hint")) else row["hint"].strip(), image_b64=image,
            ))
    return out


def _image(value: str, images: dict[int, str], where: str) -> str:
    value = (value or "").strip()
    if len(value) > 64:
        return value
    # VLMEvalKit stores a duplicate image as the index of the row that holds it.
    try:
        ref = images.get(int(float(value))) if value else None
    except ValueError:
        ref = None
    if ref is None or len(ref.strip()) <= 64:
        raise DataError(f"{where}: image cell {value[:20]!r} is neither a base64 image nor the index of a "
                        "row with one")
    return ref.strip()


def _texts(row: dict[str, str]) -> list[str]:
    fields = [f for f in TEXT_FIELDS if f in row] + list(_options(row))
    return [row[f].strip() for f in fields if not is_missing(row.get(f))]


def source_texts(doc: list[MMBFile], language: str) -> list[str]:
    """Questions, hints and option texts (letters, indices, answers and categories stay)."""
    return [t for f in doc for row in f.rows for t in _texts(row)]


TRANSLATED_TAG = "_LRM_"
"""Translated TSVs are named `<stem>_LRM_<LANG>.tsv` (`translated_name`)."""


def translated_name(name: str, language: str) -> str:
    """The file name of a translation of TSV `name`: `MMBench_DEV_EN.tsv` -> `MMBench_DEV_LRM_DE.tsv`.

    A translated TSV must not keep the English name: VLMEvalKit treats a file named like one of its
    registered datasets (`MMBench_DEV_EN`, `MMBench_dev_ru`, ...) as that dataset, and replaces it
    with the English original when the checksum differs. The `_LRM_<LANG>` suffix names no registered
    dataset, keeps "MMBench" in the name (VLMEvalKit then scores it with CircularEval) and tells the
    languages apart. A trailing `_EN` language tag (or an earlier `_LRM_<LANG>`) is replaced."""
    stem = name[:-4] if name.lower().endswith(".tsv") else name
    stem = re.sub(rf"{TRANSLATED_TAG}[A-Za-z]+$", "", stem)
    stem = re.sub(r"_(EN|en)$", "", stem)
    return f"{stem}{TRANSLATED_TAG}{language.upper()}.tsv"


def image_files(doc: list[MMBFile], lang_dir: Path, en_dir: Path | None) -> dict[str, Path | bytes]:
    """None: MMBench images sit inline in the TSV and travel with the text."""
    return {}


def translate_doc(doc: list[MMBFile], table: dict[str, str], src: str, tgt: str) -> list[MMBFile]:
    """Same rows with question, hint and option texts translated; each file renamed for the target
    language (`translated_name`)."""
    out = []
    for f in doc:
        rows = []
        for row in f.rows:
            new = dict(row)
            for key in [k for k in TEXT_FIELDS if k in row] + list(_options(row)):
                if not is_missing(row.get(key)):
                    new[key] = table[row[key].strip()]
            rows.append(new)
        out.append(replace(f, rows=rows, name=translated_name(f.name, tgt)))
    return out


def write(doc: list[MMBFile], folder: Path) -> None:
    """Write each TSV with its original name and column order (images inline, as in the source)."""
    for f in doc:
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter="\t", lineterminator="\n")
        writer.writerow(f.header)
        for row in f.rows:
            writer.writerow([row.get(c, "") for c in f.header])
        write_text(Path(folder) / f.name, buf.getvalue())


def segments(doc: list[MMBFile], language: str) -> dict[tuple, str]:
    """Aligned texts of the base questions (rotations repeat them) keyed by (index, field)."""
    out = {}
    for f in doc:
        for row in f.rows:
            index = int(float(row["index"]))
            if index >= ROTATION:
                continue
            for key in [k for k in TEXT_FIELDS if k in row] + list(_options(row)):
                if not is_missing(row.get(key)):
                    out[(index, key)] = row[key].strip()
    return out


def rotations(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Add CircularEval copies to base rows: for n options, n - 1 rotated copies at index + k·1e6.

    Rotation k moves option i to letter (i - k) mod n, as VLMEvalKit's circular copies do; the
    answer letter moves with its option. Useful to build a circular TSV from a plain one.
    """
    out = list(rows)
    for row in rows:
        opts = _options(row)
        letters = list(opts)
        n = len(letters)
        for k in range(1, n):
            new = dict(row)
            new["index"] = str(int(float(row["index"])) + k * ROTATION)
            for i, letter in enumerate(letters):
                new[letters[(i - k) % n]] = opts[letter]
            if row.get("answer", "").strip() in letters:
                new["answer"] = letters[(letters.index(row["answer"].strip()) - k) % n]
            out.append(new)
    return out


def score(rows: list[dict]) -> list[tuple[str | None, str, float]]:
    """CircularEval `overall`, `accuracy[<category>]` and single-pass `vanilla`, all ×100."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r["group"]].append(r)
    right = {g: all(r["parsed"] == r["answer"] for r in rs) for g, rs in groups.items()}
    out: list[tuple[str | None, str, float]] = [(None, "overall", 100.0 * sum(right.values()) / len(right))]
    by_cat: dict[str, list[bool]] = defaultdict(list)
    for g, rs in groups.items():
        if rs[0].get("category"):
            by_cat[rs[0]["category"]].append(right[g])
    out += [(None, f"accuracy[{c}]", 100.0 * sum(v) / len(v)) for c, v in sorted(by_cat.items())]
    base = [r for r in rows if r["question_id"] == r["group"]]
    if base:
        out.append((None, "vanilla", 100.0 * sum(r["parsed"] == r["answer"] for r in base) / len(base)))
    return out


def chance(rows: list[dict]) -> dict[str, float]:
    """Expected CircularEval `overall` of a uniform guesser: a question passes only if every
    circular pass is right, so each contributes the product of 1 / (options) over its passes."""
    groups: dict[str, float] = defaultdict(lambda: 1.0)
    for r in rows:
        groups[r["group"]] *= 1.0 / len(r["options"])
    return {"overall": 100.0 * sum(groups.values()) / len(groups)}
