"""SEED-Bench (image part): load, translate, write and score the native JSON format.

Layout of `seed/<language>/`: `SEED-Bench.json` =
`{"questions": [{"question", "choice_a", "choice_b", "choice_c", "choice_d", "answer", "data_id",
"question_id", "question_type_id", "data_type"}, ...], "question_type": {"Scene Understanding": 1,
...}}` and the images at `seed/<language>/images/<data_id>` (or `seed/en/images/`, shared).
Only image questions are evaluated (`data_type` "image" or absent); video questions are kept by
translation but skipped by the loader.

Scoring: accuracy per dimension (`accuracy[<dimension>]`) and `overall`, pooled over all questions
(not the mean of the dimensions), ×100.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from pathlib import Path

from lrm_llava.bench.common import IMAGE_EXTENSIONS, Item, is_missing, resolve_image
from lrm_llava.errors import DataError
from lrm_llava.jsonio import read_json, write_text
from lrm_llava.paths import UnsafePathError

FILE = "SEED-Bench.json"
IMAGES_DIR = "images"
RELEASE_IMAGES_DIR = "SEED-Bench-image"
"""The image folder's name in the SEED-Bench release (SEED-Bench-image.zip); read as well as `images/`."""
DIMENSIONS: dict[str, int] = {
    "Scene Understanding": 1, "Instance Identity": 2, "Instance Attributes": 3, "Instance Location": 4,
    "Instances Counting": 5, "Spatial Relation": 6, "Instance Interaction": 7, "Visual Reasoning": 8,
    "Text Understanding": 9, "Action Recognition": 10, "Action Prediction": 11, "Procedure Understanding": 12,
}
"""SEED-Bench's `question_type` table (dimension -> question_type_id), for layouts that carry only one
of the two (lmms-lab parquet: ids; VLMEvalKit TSV: names)."""
CHOICES = {"A": "choice_a", "B": "choice_b", "C": "choice_c", "D": "choice_d"}
"""Option letter -> field of the question object."""


def load(folder: Path) -> dict:
    """Read `SEED-Bench.json` under `folder` (a `seed/<language>/` directory); fields kept as they are.

    Images are read from `images/` or, as in the SEED release, `SEED-Bench-image/`. Other layouts
    of the same questions are read too (`bench.importers`): lmms-lab/SEED-Bench parquet and
    VLMEvalKit's `SEEDBench_IMG*.tsv`; imported questions carry their image in `_image` (bytes)."""
    path = Path(folder) / FILE
    if not path.is_file():
        raise DataError(f"{path}: SEED-Bench file not found")
    doc = read_json(path, "SEED-Bench file")
    if not isinstance(doc, dict) or not isinstance(doc.get("questions"), list):
        raise DataError(f"{path}: expected an object with a 'questions' list")
    for i, q in enumerate(doc["questions"]):
        for key in ("question", "question_id", "answer", "data_id"):
            if not isinstance(q, dict) or key not in q:
                raise DataError(f"{path}: questions[{i}] lacks field {key!r}")
    doc["_path"] = str(path)
    return doc


def _is_image(q: dict) -> bool:
    return q.get("data_type", "image") == "image"


def _options(q: dict) -> dict[str, str]:
    return {k: str(q[f]).strip() for k, f in CHOICES.items() if f in q and not is_missing(q[f])}


def items(doc: dict, language: str, lang_dir: Path, en_dir: Path | None) -> list[Item]:
    """One Item per image question; images resolved with the English fallback."""
    dims = dimensions(doc)
    out = []
    for i, q in enumerate(doc["questions"]):
        if not _is_image(q):
            continue
        where = _where(doc, i, q)
        options = _options(q)
        answer = str(q["answer"]).strip()
        if len(options) < 2 or answer not in options:
            raise DataError(f"{where}: answer {answer!r} is not one of the choices {', '.join(options)}")
        image = find_image(q, Path(lang_dir), en_dir, where)
        out.append(Item(
            benchmark="seed", language=language, question_id=str(q["question_id"]),
            question=str(q["question"]).strip(), answer=answer,
            category=dims.get(str(q.get("question_type_id")), str(q.get("question_type_id"))),
            options=options, image_path=None if isinstance(image, bytes) else str(image),
            image_b64=base64.b64encode(image).decode("ascii") if isinstance(image, bytes) else None,
        ))
    return out


def dimensions(doc: dict) -> dict[str, str]:
    """question_type_id (as text) -> dimension name, from the document's `question_type` table."""
    return {str(v): k for k, v in (doc.get("question_type") or {}).items()}


def _where(doc: dict, i: int, q: dict) -> str:
    return f"{doc.get('_path', FILE)}: questions[{i}] (question_id {q['question_id']})"


def find_image(q: dict, lang_dir: Path, en_dir: Path | None, where: str) -> Path | bytes:
    """A question's image: `_image` (imports), else `<data_id>` (with or without its extension) in
    `images/` or `SEED-Bench-image/` under `lang_dir`, else under `en_dir`."""
    if q.get("_image") is not None:
        return q["_image"]
    data_id = str(q["data_id"])
    first: DataError | None = None
    for sub in (IMAGES_DIR, RELEASE_IMAGES_DIR):
        try:
            return Path(_find(data_id, lang_dir, en_dir, sub, where))
        except UnsafePathError:
            raise
        except DataError as err:
            first = first or err
    assert first is not None
    raise first


def _find(data_id: str, lang_dir: Path, en_dir: Path | None, sub: str, where: str) -> str:
    try:
        return resolve_image(data_id, lang_dir, en_dir, sub, where)
    except UnsafePathError:
        raise
    except DataError:
        # Some copies store data_id without its extension.
        for ext in IMAGE_EXTENSIONS:
            try:
                return resolve_image(data_id + ext, lang_dir, en_dir, sub, where)
            except DataError:
                continue
        raise


def image_files(doc: dict, lang_dir: Path, en_dir: Path | None) -> dict[str, Path | bytes]:
    """The images a self-contained copy of this folder needs: `images/<data_id>` (the found file's
    extension added when data_id has none) -> source file or bytes. Video questions have none."""
    out: dict[str, Path | bytes] = {}
    for i, q in enumerate(doc["questions"]):
        if not _is_image(q):
            continue
        image = find_image(q, Path(lang_dir), en_dir, _where(doc, i, q))
        name = str(q["data_id"])
        if not isinstance(image, bytes) and not name.endswith(image.suffix):
            name += image.suffix
        out.setdefault(f"{IMAGES_DIR}/{name}", image)
    return out


def _fields(q: dict) -> list[str]:
    return ["question"] + [f for f in CHOICES.values() if f in q and not is_missing(q[f])]


def source_texts(doc: dict, language: str) -> list[str]:
    """Questions and choices to translate (answers, ids and dimensions stay)."""
    return [str(q[f]).strip() for q in doc["questions"] for f in _fields(q)]


def translate_doc(doc: dict, table: dict[str, str], src: str, tgt: str) -> dict:
    """Same document with question and choice texts translated."""
    questions = [{**q, **{f: table[str(q[f]).strip()] for f in _fields(q)}} for q in doc["questions"]]
    return {**doc, "questions": questions}


def write(doc: dict, folder: Path) -> None:
    """Write `SEED-Bench.json` (text only: `image_files` lists the images)."""
    clean = {k: v for k, v in doc.items() if not k.startswith("_")}
    clean["questions"] = [{k: v for k, v in q.items() if not k.startswith("_")} for q in doc["questions"]]
    write_text(Path(folder) / FILE, json.dumps(clean, ensure_ascii=False, indent=1) + "\n")


def segments(doc: dict, language: str) -> dict[tuple, str]:
    """Aligned texts keyed by (question_id, field) for BLEU."""
    return {(str(q["question_id"]), f): str(q[f]).strip() for q in doc["questions"] for f in _fields(q)}


def score(rows: list[dict]) -> list[tuple[str | None, str, float]]:
    """`overall` (pooled) and `accuracy[<dimension>]`, ×100."""
    by_dim: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        by_dim[r.get("category") or "?"].append(r["parsed"] == r["answer"])
    total = [ok for v in by_dim.values() for ok in v]
    out: list[tuple[str | None, str, float]] = [(None, "overall", 100.0 * sum(total) / len(total))]
    out += [(None, f"accuracy[{d}]", 100.0 * sum(v) / len(v)) for d, v in sorted(by_dim.items())]
    return out


def chance(rows: list[dict]) -> dict[str, float]:
    """Expected `overall` of a uniform guesser: the mean of 1 / (options) over the questions."""
    return {"overall": 100.0 * sum(1.0 / len(r["options"]) for r in rows) / len(rows)}
