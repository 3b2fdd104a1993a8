"""POPE: load, translate, write and score the native JSON-lines format.

Layout of `pope/<language>/`: `coco_pope_random.json`, `coco_pope_popular.json`,
`coco_pope_adversarial.json` (any subset), each JSON lines
`{"question_id": 1, "image": "COCO_val2014_000000310196.jpg", "text": "Is there a snowboard in the
image?", "label": "yes"}`; images under `pope/<language>/images/` (or `pope/en/images/`, shared).

Scoring (LLaVA's `eval_pope.py`, "yes" is the positive class): accuracy, precision, recall, F1 and
the share of "yes" answers per split, ×100, and their means over the splits present.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path

from lrm_llava.bench.common import Item, resolve_image, strip_suffix
from lrm_llava.errors import DataError
from lrm_llava.jsonio import iter_jsonl, write_text
from lrm_llava.languages import ENGLISH, LANGUAGES, get

SPLITS: tuple[str, ...] = ("random", "popular", "adversarial")
"""The three POPE splits, in report order."""
IMAGES_DIR = "images"
METRICS: tuple[str, ...] = ("accuracy", "precision", "recall", "f1", "yes_ratio")


def split_file(split: str) -> str:
    """`coco_pope_<split>.json`."""
    return f"coco_pope_{split}.json"


def load(folder: Path) -> dict[str, list[dict]]:
    """Read the split files present under `folder` (a `pope/<language>/` directory): split -> rows.

    Rows keep every field of the file (unknown fields are written back unchanged by translation).
    Other layouts of the same questions are read too (`bench.importers`): lmms-lab/POPE parquet,
    LLaVA's `llava_pope_test.jsonl` (labels from `coco/coco_pope_<split>.json`), VLMEvalKit's
    `POPE*.tsv`. Imported rows carry their image in `_image` (bytes or file).
    """
    folder = Path(folder)
    doc: dict[str, list[dict]] = {}
    for split in SPLITS:
        path = folder / split_file(split)
        if not path.is_file():
            continue
        rows = []
        seen: set[str] = set()
        for lineno, row in iter_jsonl(path):
            for key in ("question_id", "image", "text", "label"):
                if key not in row:
                    raise DataError(f"{path}:{lineno}: missing field {key!r} (POPE rows need question_id, "
                                    "image, text, label)")
            if str(row["label"]).strip().lower() not in ("yes", "no"):
                raise DataError(f"{path}:{lineno}: label must be 'yes' or 'no', found {row['label']!r}")
            if not isinstance(row["text"], str) or not row["text"].strip():
                raise DataError(f"{path}:{lineno}: empty question text")
            qid = str(row["question_id"])
            if qid in seen:
                raise DataError(f"{path}:{lineno}: duplicate question_id {qid}")
            seen.add(qid)
            row["_line"] = lineno
            rows.append(row)
        if not rows:
            raise DataError(f"{path}: the split file holds no question. Fix: remove the file or fill it with "
                            "POPE rows (one JSON object per line).")
        doc[split] = rows
    if not doc:
        raise DataError(f"{folder}: no POPE split file found; expected one of "
                        f"{', '.join(split_file(s) for s in SPLITS)}")
    return doc


def _suffixes(language: str) -> list[str]:
    # POPE's native text has no suffix, but some copies carry LLaVA's; strip it so the prompt adds
    # exactly one, in the question's language.
    langs = dict.fromkeys([language, ENGLISH])
    return [s for code in langs for s in (get(code).short_answer_suffix, get(code).yes_no_suffix)]


def items(doc: dict[str, list[dict]], language: str, lang_dir: Path, en_dir: Path | None) -> list[Item]:
    """One Item per question of every split present; images resolved with the English fallback."""
    out = []
    b64: dict[int, str] = {}
    for split, rows in doc.items():
        for row in rows:
            image = find_image(row, split, lang_dir, en_dir)
            if isinstance(image, bytes):
                # the same image serves several questions: encode it once
                text = b64.setdefault(id(image), base64.b64encode(image).decode("ascii"))
                path = None
            else:
                text, path = None, str(image)
            out.append(Item(
                benchmark="pope", language=language, question_id=str(row["question_id"]),
                question=strip_suffix(row["text"], _suffixes(language))[0],
                answer=str(row["label"]).strip().lower(), split=split, image_path=path, image_b64=text,
            ))
    return out


def find_image(row: dict, split: str, lang_dir: Path, en_dir: Path | None) -> Path | bytes:
    """A row's image: `_image` (imports), else `images/<image>` under `lang_dir`, else under `en_dir`."""
    if row.get("_image") is not None:
        return row["_image"]
    where = row.get("_where") or f"{Path(lang_dir) / split_file(split)}:{row.get('_line', '?')}"
    return Path(resolve_image(str(row["image"]), Path(lang_dir), en_dir, IMAGES_DIR, where))


def image_files(doc: dict[str, list[dict]], lang_dir: Path, en_dir: Path | None) -> dict[str, Path | bytes]:
    """The images a self-contained copy of this folder needs: `images/<image>` -> source file or bytes."""
    out: dict[str, Path | bytes] = {}
    for split, rows in doc.items():
        for row in rows:
            out.setdefault(f"{IMAGES_DIR}/{row['image']}", find_image(row, split, lang_dir, en_dir))
    return out


def core_question(text: str, language: str) -> str:
    """A question without an answer-format suffix (some copies carry LLaVA's)."""
    return strip_suffix(text, _suffixes(language))[0]


def source_texts(doc: dict[str, list[dict]], language: str) -> list[str]:
    """The question texts to translate (object names are translated with their question)."""
    return [strip_suffix(row["text"], _suffixes(language))[0] for rows in doc.values() for row in rows]


def translate_doc(doc: dict[str, list[dict]], table: dict[str, str], src: str, tgt: str) -> dict[str, list[dict]]:
    """Same rows with `text` translated; a suffix present in the source is localized, not dropped."""
    out = {}
    for split, rows in doc.items():
        new_rows = []
        for row in rows:
            core, suffix = strip_suffix(row["text"], _suffixes(src))
            text = " ".join(table[core].split())
            if suffix is not None:
                text = f"{text}\n{_localized(suffix, tgt)}"
            new_rows.append({**row, "text": text})
        out[split] = new_rows
    return out


def _localized(suffix: str, tgt: str) -> str:
    short = {lang.short_answer_suffix for lang in LANGUAGES.values()}
    return get(tgt).short_answer_suffix if suffix in short else get(tgt).yes_no_suffix


def write(doc: dict[str, list[dict]], folder: Path) -> None:
    """Write one JSON-lines file per split (text only: `image_files` lists the images)."""
    for split, rows in doc.items():
        lines = [json.dumps({k: v for k, v in row.items() if not k.startswith("_")}, ensure_ascii=False)
                 for row in rows]
        write_text(Path(folder) / split_file(split), "\n".join(lines) + "\n")


def segments(doc: dict[str, list[dict]], language: str) -> dict[tuple, str]:
    """Aligned question texts keyed by (split, question_id) for BLEU."""
    return {(split, str(row["question_id"])): strip_suffix(row["text"], _suffixes(language))[0]
            for split, rows in doc.items() for row in rows}


def split_metrics(labels: list[str], preds: list[str | None]) -> dict[str, float]:
    """Accuracy, precision, recall, F1, yes-ratio (×100) with "yes" as the positive class."""
    c = Counter((lab, pred == "yes") for lab, pred in zip(labels, preds))
    tp, fp = c[("yes", True)], c[("no", True)]
    fn, tn = c[("yes", False)], c[("no", False)]
    n = tp + fp + fn + tn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": 100.0 * (tp + tn) / n if n else 0.0,
        "precision": 100.0 * precision,
        "recall": 100.0 * recall,
        "f1": 100.0 * f1,
        "yes_ratio": 100.0 * (tp + fp) / n if n else 0.0,
    }


def score(rows: list[dict]) -> list[tuple[str | None, str, float]]:
    """POPE metrics per split present (split, metric, value) and their means (split None)."""
    out: list[tuple[str | None, str, float]] = []
    per_split: dict[str, dict[str, float]] = {}
    for split in [s for s in SPLITS if any(r["split"] == s for r in rows)] + sorted(
        {r["split"] for r in rows} - set(SPLITS) - {None}
    ):
        sel = [r for r in rows if r["split"] == split]
        per_split[split] = split_metrics([r["answer"] for r in sel], [r["parsed"] for r in sel])
        out += [(split, m, v) for m, v in per_split[split].items()]
    for metric in METRICS:
        vals = [m[metric] for m in per_split.values()]
        out.append((None, metric, sum(vals) / len(vals)))
    return out


def chance(rows: list[dict]) -> dict[str, float]:
    """Accuracy and F1 of a guesser that says "yes" half the time, mean over the splits present.

    Accuracy is exactly 50; F1 is that of the expected counts (TP = P/2, FP = N/2, FN = P/2),
    50 on POPE's balanced splits.
    """
    f1s = []
    for split in {r["split"] for r in rows}:
        labels = Counter(r["answer"] for r in rows if r["split"] == split)
        precision = labels["yes"] / sum(labels.values())
        f1s.append(100.0 * 2 * precision * 0.5 / (precision + 0.5) if precision else 0.0)
    return {"accuracy": 50.0, "f1": sum(f1s) / len(f1s)}
