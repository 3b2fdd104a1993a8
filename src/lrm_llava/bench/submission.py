"""Submission files: an `eval` run's predictions in the form each benchmark's own scorer reads.

    lrm-llava bench submit --predictions runs/eval/predictions/*.jsonl --bench-root bench --out submission

One file set per language, under `<out>/<benchmark>/<language>/`:

| benchmark | written | read by |
|---|---|---|
| mme | `Your_Results/<subtask>.txt`, lines `image_name<TAB>question<TAB>ground_truth<TAB>prediction` in the question order of the benchmark's files | the MME eval tool's `eval_tool/calculation.py --results_dir .../Your_Results` |
| mmbench | `<tsv stem>.xlsx` per TSV: its columns less `hint, category, source, image, comment, l2-category`, `prediction` inserted as the 7th column (LLaVA's `convert_mmbench_for_submission.py`) | the MMBench / OpenCompass evaluation server (dev and test splits) |
| seed | `seed_<language>.jsonl`, `{"question_id": ..., "prediction": ...}` per line (LLaVA's `convert_seed_for_submission.py`) | the SEED-Bench leaderboard |

Predictions are the replies parsed afresh in `parse_mode`, as `eval` scores them: MME "Yes"/"No"
(in English, so the official tool, which reads English yes/no only, scores every language as
`eval` does), "other" where no answer could be read (wrong for the tool too); MMBench and SEED the
option letter, empty (MMBench) or the reply itself (SEED) where none could be read. POPE has no
submission server: its predictions are skipped.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from lrm_llava.bench.common import benchmark_dir, english_dir, is_missing
from lrm_llava.bench.formats import load as load_document
from lrm_llava.bench.parse import DEFAULT_PARSE_MODE, check_parse_mode
from lrm_llava.errors import DataError, UserError
from lrm_llava.jsonio import write_text
from lrm_llava.languages import parse_languages

SUBMITTABLE: tuple[str, ...] = ("mme", "mmbench", "seed")
"""Benchmarks with a submission format (POPE is scored locally only)."""

MMB_DROPPED = ("hint", "category", "source", "image", "comment", "l2-category")
"""Columns LLaVA's MMBench converter drops from the TSV (images do not fit in a spreadsheet cell)."""
MMB_PREDICTION_AT = 6
"""Position of the inserted `prediction` column (LLaVA: `cur_df.insert(6, 'prediction', None)`)."""
MME_RESULTS = "Your_Results"
MME_OTHER = "other"
"""The MME prediction written for a reply no yes/no could be read from."""


@dataclass
class SubmitConfig:
    """What `bench submit` needs."""

    predictions: list[str | Path]
    """Prediction JSONL files of an eval run (`<out>/predictions/*.jsonl`)."""
    out: str | Path
    """Folder to write `<benchmark>/<language>/...` into."""
    bench_root: str | Path | None = None
    """The bench root the predictions were made on (needed for MME and MMBench: question texts,
    image names, question order and the TSV columns come from its files)."""
    benchmarks: str | list[str] = "all"
    """Benchmarks to submit ("all": mme, mmbench, seed; POPE has no submission server)."""
    languages: str | list[str] = "all"
    """Languages to submit: "all" or "zh,it,..."."""
    model_name: str | None = None
    """Which model's rows, when the files hold several."""
    parse_mode: str = DEFAULT_PARSE_MODE
    """How replies are read (`bench.parse.PARSE_MODES`), as `eval --parse-mode`."""


def _select(rows: list[dict], config: SubmitConfig) -> list[dict]:
    from lrm_llava.bench.run import parse_benchmarks

    benches = set(SUBMITTABLE) if config.benchmarks in ("all", None) else set(parse_benchmarks(config.benchmarks))
    langs = set(parse_languages(config.languages))
    rows = [r for r in rows if r["benchmark"] in benches & set(SUBMITTABLE) and r["language"] in langs]
    models = sorted({str(r.get("model")) for r in rows})
    if config.model_name is not None:
        rows = [r for r in rows if str(r.get("model")) == config.model_name]
        if not rows:
            raise UserError(f"no predictions of model {config.model_name!r} (the files hold {', '.join(models)})")
    elif len(models) > 1:
        raise UserError(f"the predictions hold several models ({', '.join(models)}); a submission is one "
                        "model's. Fix: pick one with --model-name")
    return rows


def write_submission(config: SubmitConfig) -> dict[str, Path]:
    """Write the submission files of every (benchmark, language) in the predictions; returns
    "<benchmark>/<language>" -> the file or folder written."""
    from lrm_llava.bench.run import read_predictions
    from lrm_llava.bench.scoring import reparse

    check_parse_mode(config.parse_mode)
    rows = _select(read_predictions(list(config.predictions)), config)
    if not rows:
        raise UserError("no MME, MMBench or SEED predictions to submit in "
                        f"{', '.join(map(str, config.predictions))} (POPE has no submission format)")
    by: dict[tuple[str, str], dict[str, dict]] = defaultdict(dict)
    for r in reparse(rows, config.parse_mode):
        by[(r["benchmark"], r["language"])][str(r["question_id"])] = r
    out = Path(config.out)
    written: dict[str, Path] = {}
    for (bench, lang), preds in sorted(by.items()):
        folder = out / bench / lang
        if bench == "seed":
            written[f"{bench}/{lang}"] = write_seed(preds, folder / f"seed_{lang}.jsonl")
            continue
        if config.bench_root is None:
            raise UserError(f"{bench} submission files need the benchmark's files (question texts, image "
                            "names, TSV columns). Fix: add --bench-root, the folder the predictions were made on")
        lang_dir = benchmark_dir(Path(config.bench_root), bench, lang)
        if not lang_dir.is_dir():
            raise UserError(f"{lang_dir}: not found; --bench-root must be the folder the {bench} {lang} "
                            "predictions were made on")
        doc = load_document(bench, lang_dir)
        if bench == "mme":
            en_dir = english_dir(Path(config.bench_root), bench)
            written[f"{bench}/{lang}"] = write_mme(doc, preds, folder / MME_RESULTS, lang_dir,
                                                   en_dir if en_dir.is_dir() else None)
        else:
            for path in write_mmbench(doc, preds, folder):
                written[f"{bench}/{lang}/{path.name}"] = path
    return written


# --------------------------------------------------------------------------------------------- MME
def mme_label(parsed: str | None) -> str:
    """The prediction column of an MME results line: "Yes", "No" or "other"."""
    return {"yes": "Yes", "no": "No"}.get(parsed or "", MME_OTHER)


def write_mme(doc, preds: dict[str, dict], folder: Path, lang_dir: Path, en_dir: Path | None) -> Path:
    """`<folder>/<subtask>.txt` per subtask with predictions, lines in the order of the benchmark's
    files; an image is written only with both of its questions answered (the tool reads pairs)."""
    from lrm_llava.bench.mme import find_image

    lines: dict[str, list[str]] = defaultdict(list)
    used = 0
    for f in doc:
        ids = [f"{f.subtask}/{f.name}/{i}" for i in range(len(f.lines))]
        have = [i for i in ids if i in preds]
        if not have:
            continue
        if len(have) != len(ids):
            raise DataError(f"{f.path}: only {len(have)} of the {len(ids)} questions about image {f.name} have "
                            "a prediction; the MME tool scores images by their question pairs. Fix: finish "
                            "the eval run (rerun the same command), or drop the image")
        image = find_image(f, lang_dir, en_dir)
        image_name = f"{f.name}{f.image_ext}" if isinstance(image, bytes) else Path(image).name
        for qid, (question, answer) in zip(ids, f.lines):
            row = preds[qid]
            if str(row["answer"]).lower() != answer.lower():
                raise DataError(f"{f.path}: question {qid} has answer {answer} there but {row['answer']!r} in "
                                "the predictions; --bench-root is not the folder they were made on")
            lines[f.subtask].append("\t".join((image_name, question, answer, mme_label(row.get("parsed")))))
            used += 1
    if used != len(preds):
        extra = sorted(set(preds) - {f"{f.subtask}/{f.name}/{i}" for f in doc for i in range(len(f.lines))})
        raise DataError(f"{len(extra)} MME prediction(s) name questions not in {lang_dir} (first: {extra[0]}); "
                        "--bench-root is not the folder they were made on")
    for subtask, text in lines.items():
        write_text(folder / f"{subtask}.txt", "".join(line + "\n" for line in text))
    return folder


# ----------------------------------------------------------------------------------------- MMBench
def _cell(value: str):
    return None if is_missing(value) else value


def mmbench_table(f, preds: dict[str, dict]) -> tuple[list[str], list[list]]:
    """Header and rows of one TSV's upload sheet: LLaVA's columns, `prediction` the parsed letter."""
    kept = [c for c in f.header if c not in MMB_DROPPED]
    header = kept[:MMB_PREDICTION_AT] + ["prediction"] + kept[MMB_PREDICTION_AT:]
    rows = []
    for row in f.rows:
        index = str(int(float(row["index"])))
        pred = preds.get(index)
        letter = (pred.get("parsed") or None) if pred is not None else None
        values = [_cell(row.get(c, "")) if c != "index" else int(index) for c in kept]
        rows.append(values[:MMB_PREDICTION_AT] + [letter] + values[MMB_PREDICTION_AT:])
    return header, rows


def write_mmbench(doc, preds: dict[str, dict], folder: Path) -> list[Path]:
    """`<folder>/<tsv stem>.xlsx` per TSV file holding predicted rows (needs openpyxl)."""
    try:
        from openpyxl import Workbook
    except ImportError:
        raise UserError("the MMBench upload spreadsheet needs openpyxl. Fix: pip install 'lrm-llava[hf]' "
                        "(or pip install openpyxl)") from None
    known = {str(int(float(r["index"]))) for f in doc for r in f.rows}
    extra = sorted(set(preds) - known)
    if extra:
        raise DataError(f"{len(extra)} MMBench prediction(s) name indices not in the TSVs of {folder.name} "
                        f"(first: {extra[0]}); --bench-root is not the folder they were made on")
    out = []
    for f in doc:
        if not any(str(int(float(r["index"]))) in preds for r in f.rows):
            continue
        header, rows = mmbench_table(f, preds)
        book = Workbook()
        sheet = book.active
        sheet.title = "Sheet1"
        sheet.append(header)
        for values in rows:
            sheet.append(values)
        path = folder / f"{Path(f.name).stem}.xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        book.save(tmp)
        tmp.replace(path)
        out.append(path)
    return out


# -------------------------------------------------------------------------------------------- SEED
def write_seed(preds: dict[str, dict], path: Path) -> Path:
    """One `{"question_id", "prediction"}` line per question, in the predictions' order."""
    lines = []
    for qid, row in preds.items():
        prediction = row.get("parsed") or (row.get("output") or "").strip().rstrip(".").upper()
        lines.append(json.dumps({"question_id": qid, "prediction": prediction}, ensure_ascii=False))
    return write_text(path, "".join(line + "\n" for line in lines))
