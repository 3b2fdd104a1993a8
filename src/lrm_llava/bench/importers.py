"""Read the benchmarks from the layouts other tools publish them in, as the native documents.

`bench translate --src` and `eval --bench-root` accept, in a `<benchmark>/<language>/` folder (or
the folder given to `--src`), besides the native layout:

| benchmark | layout | what is read |
|---|---|---|
| mme | lmms-lab/MME parquet (`*.parquet` or `data/*.parquet`) | `question_id` (`<subtask>/<image file>`), `image`, `question`, `answer`, `category` |
| mme | the MME eval tool's `Your_Results/<subtask>.txt` | lines `image<TAB>question<TAB>Yes/No[<TAB>prediction]`; images in `<subtask>/images/`, `<subtask>/` or `MME_Benchmark_release_version/<subtask>/...` |
| mme | VLMEvalKit `*.tsv` | `index, image, question, answer, category, image_path` |
| pope | lmms-lab/POPE parquet | `id, question_id, question, answer, image_source, image, category` (category = split) |
| pope | LLaVA's `llava_pope_test.jsonl` | questions by `category`; labels, in order, from `coco/coco_pope_<split>.json`; images in `val2014/` or `images/` |
| pope | VLMEvalKit `*.tsv` | `index, image, question, answer, category` (splits comma-joined when shared) |
| mmbench | lmms-lab/MMBench parquet (a config folder such as `en/`) | the TSV columns, `L2-category` for `l2-category`; images embedded. `dev*` files only when present |
| seed | lmms-lab/SEED-Bench parquet | `answer, choice_a..d, data_id, data_type, question, question_id, question_type_id, image` (a list) |
| seed | VLMEvalKit `SEEDBench_IMG*.tsv` | `index, question, A..D, answer, category, image` |

The native layout wins when its files are present. Each loader returns the benchmark module's
native document, so translation writes the native layout again; images that came embedded ride
along as bytes (`MMEFile.image`, `_image` in POPE rows and SEED questions) and are written out as
files by `bench translate`. Extra columns written by `bench export` (`question_id`, `image_name`,
`data_id`, `question_type_id`, `question_type`) restore ids exactly when an export is read back.

Parquet needs `pyarrow` (`pip install 'lrm-llava[hf]'`).
"""

from __future__ import annotations

import base64
import csv
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from lrm_llava.errors import DataError, UserError
from lrm_llava.jsonio import iter_tsv
from lrm_llava.paths import UnsafePathError

YOUR_RESULTS = "Your_Results"
"""The MME eval tool's folder of `<subtask>.txt` result files."""
MME_RELEASE = "MME_Benchmark_release_version"
LLAVA_POPE = "llava_pope_test.jsonl"
"""LLaVA's POPE question file (playground/data/eval/pope/)."""
LLAVA_POPE_IMAGES = ("val2014", "images")
LLAVA_POPE_LABELS = ("coco", ".")


# --------------------------------------------------------------------------------------- detection


def parquet_files(folder: Path) -> list[Path]:
    """`*.parquet` in `folder`, else in `folder/data` (the Hugging Face layouts)."""
    folder = Path(folder)
    for where in (folder, folder / "data"):
        files = sorted(where.glob("*.parquet")) if where.is_dir() else []
        if files:
            return files
    return []


def detect(benchmark: str, folder: Path) -> str | None:
    """The foreign layout of `folder` ("parquet", "tsv", "your_results", "llava"), or None for the
    native one (or nothing recognisable: the native loader then says what it expected)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    if benchmark == "mme":
        if (folder / YOUR_RESULTS).is_dir():
            return "your_results"
        if parquet_files(folder):
            return "parquet"
        return "tsv" if list(folder.glob("*.tsv")) else None
    if benchmark == "pope":
        if list(folder.glob("coco_pope_*.json")):
            return None
        if (folder / LLAVA_POPE).is_file():
            return "llava"
        if parquet_files(folder):
            return "parquet"
        return "tsv" if list(folder.glob("*.tsv")) else None
    if benchmark == "mmbench":
        return "parquet" if not list(folder.glob("*.tsv")) and parquet_files(folder) else None
    if benchmark == "seed":
        if (folder / "SEED-Bench.json").is_file():
            return None
        if parquet_files(folder):
            return "parquet"
        return "tsv" if list(folder.glob("*.tsv")) else None
    return None


def load(benchmark: str, folder: Path, layout: str):
    """The native document of `folder` read from `layout` (see `detect`)."""
    loader = _LOADERS.get((benchmark, layout))
    if loader is None:
        raise UserError(f"{folder}: no reader for the {layout} layout of {benchmark}")
    return loader(Path(folder))


# ------------------------------------------------------------------------------------------ helpers


def sniff_ext(data: bytes) -> str:
    """The file extension an image's bytes call for (".png" when unknown)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return ".png"
    if data[:3] == b"\xff\xd8\xff":
        return ".jpg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ".gif"
    if data[:2] == b"BM":
        return ".bmp"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return ".png"


def image_bytes(value, where: str) -> tuple[bytes, str | None]:
    """Bytes and stored file name of a Hugging Face image cell ({"bytes", "path"} or raw bytes)."""
    if isinstance(value, dict):
        data, name = value.get("bytes"), value.get("path")
    else:
        data, name = value, None
    if not isinstance(data, bytes | bytearray) or not data:
        raise DataError(f"{where}: no embedded image bytes (a parquet image cell holds {{'bytes', 'path'}}); "
                        "export the dataset with its images embedded")
    return bytes(data), (PurePosixPath(str(name)).name or None) if name else None


def _pyarrow():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError("reading parquet benchmarks needs pyarrow: pip install 'lrm-llava[hf]'") from None
    return pq


def iter_parquet(files: list[Path]) -> Iterator[tuple[str, dict]]:
    """(where, row) for every row of the parquet files, in order, a batch at a time."""
    pq = _pyarrow()
    for path in files:
        n = 0
        try:
            batches = pq.ParquetFile(path).iter_batches(batch_size=256)
            for batch in batches:
                for row in batch.to_pylist():
                    yield f"{path}:row {n}", row
                    n += 1
        except (OSError, ValueError) as err:  # pyarrow's ArrowIOError / ArrowInvalid: not a parquet file
            raise DataError(f"{path}: cannot read parquet ({err})") from err


def _need(row: dict, keys: tuple[str, ...], where: str, what: str) -> None:
    missing = [k for k in keys if k not in row]
    if missing:
        raise DataError(f"{where}: missing column(s) {', '.join(missing)} ({what} needs {', '.join(keys)})")


def read_tsv(path: Path) -> list[tuple[str, dict[str, str]]]:
    """(where, row) of a VLMEvalKit TSV (header line, tab-separated, quoted where needed)."""
    from lrm_llava.bench import mmbench  # noqa: F401  (raises csv's field size limit for base64 cells)

    out = []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = next(reader, None)
        if not header:
            raise DataError(f"{path}: empty file; expected a header line")
        start = reader.line_num + 1
        for cells in reader:
            if any(c.strip() for c in cells):
                if len(cells) != len(header):
                    raise DataError(f"{path}:{start}: {len(cells)} cells for {len(header)} columns")
                out.append((f"{path}:{start}", dict(zip(header, cells))))
            start = reader.line_num + 1
    return out


def _tsv_images(rows: list[tuple[str, dict[str, str]]]) -> dict[str, bytes]:
    """index -> decoded image of every row, references (VLMEvalKit's "index of the row that holds
    the image") resolved; rows decoding the same base64 share one bytes object."""
    raw = {str(r.get("index", "")).strip(): (w, str(r.get("image", "")).strip()) for w, r in rows}
    decoded: dict[str, bytes] = {}
    out: dict[str, bytes] = {}
    for index, (where, cell) in raw.items():
        if len(cell) <= 64:
            ref = raw.get(cell)
            if ref is None or len(ref[1]) <= 64:
                raise DataError(f"{where}: image cell {cell[:20]!r} is neither a base64 image nor the index of "
                                "a row with one")
            cell = ref[1]
        if cell not in decoded:
            try:
                decoded[cell] = base64.b64decode(cell, validate=False)
            except ValueError as err:
                raise DataError(f"{where}: image cell is not base64 ({err})") from err
        out[index] = decoded[cell]
    return out


def _tsv_file(folder: Path, what: str) -> list[Path]:
    files = sorted(Path(folder).glob("*.tsv"))
    if not files:
        raise DataError(f"{folder}: no {what} .tsv file found")
    return files


def _dedupe(data: bytes, seen: dict[bytes, bytes]) -> bytes:
    # one bytes object per distinct image: base64 is then encoded once per image (see pope.items)
    return seen.setdefault(data, data)


# ---------------------------------------------------------------------------------------------- MME


def _mme_files(groups: dict[tuple[str, str], list], order: list[tuple[str, str]]):
    from lrm_llava.bench.mme import MMEFile

    files = []
    for key in order:
        entries = groups[key]
        subtask, name = key
        where = entries[0][0]
        if len(entries) != 2:
            raise DataError(f"{where}: an MME image has exactly two questions, {name!r} of {subtask} has "
                            f"{len(entries)}")
        lines = []
        for w, question, answer in ((e[0], e[1], e[2]) for e in entries):
            answer = str(answer).strip()
            if answer.lower() not in ("yes", "no"):
                raise DataError(f"{w}: answer must be Yes or No, found {answer!r}")
            question = " ".join(str(question).replace("\t", " ").split())
            if not question:
                raise DataError(f"{w}: empty question")
            lines.append((question, answer.capitalize()))
        image = entries[0][3]
        ext = sniff_ext(image) if isinstance(image, bytes) else Path(image).suffix
        layout = entries[0][4] if len(entries[0]) > 4 else "B"
        files.append(MMEFile(subtask, subtask, layout, name, lines, where, image=image, image_ext=ext))
    return files


def _subtask(value: str, where: str) -> str:
    from lrm_llava.bench.mme import _CANONICAL, SUBTASKS

    subtask = _CANONICAL.get(str(value).strip().lower())
    if subtask is None:
        raise DataError(f"{where}: unknown MME subtask {value!r}; expected one of {', '.join(SUBTASKS)}")
    return subtask


def _mme_parquet(folder: Path):
    groups: dict[tuple[str, str], list] = defaultdict(list)
    order: list[tuple[str, str]] = []
    seen: dict[bytes, bytes] = {}
    for where, row in iter_parquet(parquet_files(folder)):
        _need(row, ("question_id", "image", "question", "answer", "category"), where, "lmms-lab/MME")
        subtask = _subtask(row["category"], where)
        name = PurePosixPath(str(row["question_id"])).stem
        key = (subtask, name)
        if key not in groups:
            order.append(key)
            data, _ = image_bytes(row["image"], where)
            image = _dedupe(data, seen)
        else:
            image = groups[key][0][3]
        groups[key].append((where, row["question"], row["answer"], image))
    if not order:
        raise DataError(f"{folder}: the MME parquet files hold no rows")
    return _mme_files(groups, order)


def _mme_your_results(folder: Path):
    from lrm_llava.bench.common import find_image_stem
    from lrm_llava.bench.mme import IMAGES_DIR

    results = folder / YOUR_RESULTS
    groups: dict[tuple[str, str], list] = defaultdict(list)
    order: list[tuple[str, str]] = []
    for txt in sorted(results.glob("*.txt")):
        subtask = _subtask(txt.stem, str(txt))
        for lineno, parts in iter_tsv(txt, "MME results file"):
            where = f"{txt}:{lineno}"
            if len(parts) not in (3, 4):
                raise DataError(f"{where}: expected 'image<TAB>question<TAB>Yes|No[<TAB>prediction]', "
                                f"found {len(parts)} fields")
            image_name = parts[0].strip()
            name = PurePosixPath(image_name).stem
            key = (subtask, name)
            if key not in groups:
                order.append(key)
                candidates = [(base / txt.stem / sub, lay) for base in (folder, folder / MME_RELEASE)
                              for sub, lay in ((IMAGES_DIR, "A"), ("", "B"))]
                found, layout = next(((p, lay) for d, lay in candidates
                                      if (p := find_image_stem(d, name)) is not None), (None, "B"))
                if found is None:
                    raise DataError(f"{where}: image {image_name!r} not found in {folder / txt.stem}[/images] "
                                    f"or {folder / MME_RELEASE / txt.stem}[/images]; put the MME images "
                                    f"beside {YOUR_RESULTS}/")
                image, img_layout = found, layout
            else:
                image, img_layout = groups[key][0][3], groups[key][0][4]
            groups[key].append((where, parts[1], parts[2], image, img_layout))
    if not order:
        raise DataError(f"{results}: no result lines found (expected <subtask>.txt files)")
    return _mme_files(groups, order)


def _mme_tsv(folder: Path):
    groups: dict[tuple[str, str], list] = defaultdict(list)
    order: list[tuple[str, str]] = []
    for path in _tsv_file(folder, "MME"):
        rows = read_tsv(path)
        images = _tsv_images(rows)
        first_with: dict[str, str] = {}
        for where, row in rows:
            _need(row, ("index", "image", "question", "answer", "category"), where, "a VLMEvalKit MME TSV")
            subtask = _subtask(row["category"], where)
            index, cell = str(row["index"]).strip(), row["image"].strip()
            if row.get("image_path"):
                name = PurePosixPath(row["image_path"]).stem
            else:  # the two questions of an image share it: by reference, or as the same base64
                name = cell if len(cell) <= 64 else first_with.setdefault(cell, index)
            key = (subtask, name)
            if key not in groups:
                order.append(key)
            groups[key].append((where, row["question"], row["answer"], images[index]))
    return _mme_files(groups, order)


# --------------------------------------------------------------------------------------------- POPE


def _pope_row(where: str, qid, image_name: str, text: str, label: str, image, extra: dict | None = None) -> dict:
    label = str(label).strip().lower()
    if label not in ("yes", "no"):
        raise DataError(f"{where}: answer must be 'yes' or 'no', found {label!r}")
    if not str(text).strip():
        raise DataError(f"{where}: empty question text")
    row = {"question_id": qid, "image": image_name, "text": str(text).strip(), "label": label}
    row.update(extra or {})
    row["_image"], row["_where"] = image, where
    return row


def _pope_doc(rows: list[tuple[str, dict]], folder: Path) -> dict[str, list[dict]]:
    from lrm_llava.bench.pope import SPLITS

    doc: dict[str, list[dict]] = {}
    seen: dict[str, set[str]] = defaultdict(set)
    for split, row in rows:
        qid = str(row["question_id"])
        if qid in seen[split]:
            raise DataError(f"{row['_where']}: duplicate question_id {qid} in split {split}")
        seen[split].add(qid)
        doc.setdefault(split, []).append(row)
    if not doc:
        raise DataError(f"{folder}: no POPE questions found")
    return {s: doc[s] for s in [*SPLITS, *sorted(set(doc) - set(SPLITS))] if s in doc}


def _pope_parquet(folder: Path):
    rows = []
    seen: dict[bytes, bytes] = {}
    for where, row in iter_parquet(parquet_files(folder)):
        _need(row, ("question_id", "question", "answer", "image", "category"), where, "lmms-lab/POPE")
        data, stored = image_bytes(row["image"], where)
        source = str(row.get("image_source") or "").strip()
        name = str(row.get("image_name") or "") or stored or f"{source or row['question_id']}{sniff_ext(data)}"
        if source and PurePosixPath(name).stem != source and not row.get("image_name"):
            name = f"{source}{sniff_ext(data)}"
        extra = {"image_source": source} if source else {}
        qid = row["question_id"]
        rows.append((str(row["category"]).strip(), _pope_row(where, qid, name, row["question"], row["answer"],
                                                             _dedupe(data, seen), extra)))
    return _pope_doc(rows, folder)


def _pope_llava(folder: Path):
    from lrm_llava.bench.common import resolve_image
    from lrm_llava.bench.pope import split_file
    from lrm_llava.jsonio import iter_jsonl

    questions: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    path = folder / LLAVA_POPE
    for lineno, row in iter_jsonl(path):
        where = f"{path}:{lineno}"
        _need(row, ("question_id", "image", "text", "category"), where, LLAVA_POPE)
        questions[str(row["category"]).strip()].append((where, row))
    rows = []
    for split, entries in questions.items():
        labels = next((d / split_file(split) for d in (folder / sub for sub in LLAVA_POPE_LABELS)
                       if (d / split_file(split)).is_file()), None)
        if labels is None:
            raise DataError(f"{path}: no labels for split {split!r}: expected {folder / 'coco' / split_file(split)} "
                            "(LLaVA's annotation folder, which eval_pope.py reads)")
        ann = list(iter_jsonl(labels))
        if len(ann) != len(entries):
            raise DataError(f"{labels}: {len(ann)} labels for the {len(entries)} {split!r} questions of {path}; "
                            "LLaVA pairs them in order, so the counts must match")
        from lrm_llava.bench.pope import core_question

        for (where, q), (alineno, a) in zip(entries, ann):
            if core_question(str(q["text"]), "en").strip() != core_question(str(a.get("text", "")), "en").strip():
                raise DataError(f"{where}: question {q['text']!r} does not match line {alineno} of {labels} "
                                f"({a.get('text')!r}); the two files are not in the same order")
            image = None
            for sub in LLAVA_POPE_IMAGES:
                try:
                    image = Path(resolve_image(str(q["image"]), folder, None, sub, where))
                    break
                except UnsafePathError:
                    raise
                except DataError:
                    pass
            if image is None:
                raise DataError(f"{where}: image {q['image']!r} not found in {folder / 'val2014'} or "
                                f"{folder / 'images'}")
            rows.append((split, _pope_row(where, a.get("question_id", q["question_id"]), str(q["image"]),
                                          a["text"], a.get("label", ""), image)))
    return _pope_doc(rows, folder)


def _pope_tsv(folder: Path):
    rows = []
    for path in _tsv_file(folder, "POPE"):
        table = read_tsv(path)
        images = _tsv_images(table)
        for where, row in table:
            _need(row, ("index", "image", "question", "answer", "category"), where, "a VLMEvalKit POPE TSV")
            data = images[str(row["index"]).strip()]
            name = row.get("image_name") or f"{row['index']}{sniff_ext(data)}"
            qid = row.get("question_id") or row["index"]
            for split in str(row["category"]).split(","):
                rows.append((split.strip(), _pope_row(where, qid, name, row["question"], row["answer"], data)))
    return _pope_doc(rows, folder)


# ------------------------------------------------------------------------------------------ MMBench

MMB_COLUMNS = ["index", "question", "hint", "A", "B", "C", "D", "answer", "category", "image", "source",
               "l2-category", "comment", "split"]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _mmbench_parquet(folder: Path):
    from lrm_llava.bench.mmbench import MMBFile

    files = parquet_files(folder)
    dev = [f for f in files if f.name.lower().startswith("dev")]
    files = dev or files
    by_split: dict[str, MMBFile] = {}
    encoded: dict[bytes, str] = {}
    for where, row in iter_parquet(files):
        _need(row, ("index", "question", "A", "B", "answer", "image"), where, "lmms-lab/MMBench")
        data, _ = image_bytes(row["image"], where)
        out = {}
        for key, value in row.items():
            col = "l2-category" if key.lower() == "l2-category" else key
            out[col] = encoded.setdefault(data, base64.b64encode(data).decode("ascii")) if key == "image" \
                else _cell(value)
        split = str(row.get("split") or Path(where.split(":row")[0]).name.split("-")[0] or "dev")
        name = f"MMBench_{split.upper()}.tsv"
        f = by_split.get(name)
        if f is None:
            header = [c for c in MMB_COLUMNS if c in out] + [c for c in out if c not in MMB_COLUMNS]
            f = by_split[name] = MMBFile(name, header, [], [], str(folder))
        for c in out:
            if c not in f.header:
                f.header.append(c)
        f.rows.append(out)
        f.lines.append(int(where.rsplit(" ", 1)[1]) + 1)
    if not by_split:
        raise DataError(f"{folder}: the MMBench parquet files hold no rows")
    return list(by_split.values())


# --------------------------------------------------------------------------------------------- SEED


def _seed_doc(questions: list[dict], names: dict[str, int], path: str) -> dict:
    from lrm_llava.bench.seed import DIMENSIONS

    ids = {str(q.get("question_type_id")) for q in questions}
    table = dict(names) if names else {k: v for k, v in DIMENSIONS.items() if str(v) in ids}
    seen: set[str] = set()
    for q in questions:
        qid = str(q["question_id"])
        if qid in seen:
            raise DataError(f"{q.get('_where', path)}: duplicate question_id {qid}")
        seen.add(qid)
    return {"questions": questions, "question_type": table, "_path": path}


def _tid(value):
    text = str(value).strip()
    return int(text) if text.lstrip("-").isdigit() else text


def _seed_parquet(folder: Path):
    questions = []
    names: dict[str, int] = {}
    seen: dict[bytes, bytes] = {}
    files = parquet_files(folder)
    for where, row in iter_parquet(files):
        _need(row, ("question", "question_id", "answer", "data_id", "choice_a", "choice_b"), where,
              "lmms-lab/SEED-Bench")
        data_id = row["data_id"]
        if isinstance(data_id, list):
            data_id = data_id[0] if data_id else ""
        q = {"question": row["question"], **{f"choice_{c}": _cell(row.get(f"choice_{c}")) for c in "abcd"},
             "answer": str(row["answer"]).strip(), "data_id": str(data_id), "question_id": str(row["question_id"]),
             "question_type_id": _tid(row.get("question_type_id", "")),
             "data_type": str(row.get("data_type") or "image")}
        if row.get("question_type"):
            names[str(row["question_type"])] = q["question_type_id"]
        if q["data_type"] == "image":
            images = row.get("image")
            if isinstance(images, dict) or isinstance(images, bytes | bytearray):
                images = [images]
            if not images:
                raise DataError(f"{where}: image question {q['question_id']} has no image")
            q["_image"] = _dedupe(image_bytes(images[0], where)[0], seen)
        q["_where"] = where
        questions.append(q)
    if not questions:
        raise DataError(f"{folder}: the SEED parquet files hold no rows")
    return _seed_doc(questions, names, str(files[0]))


def _seed_tsv(folder: Path):
    from lrm_llava.bench.seed import DIMENSIONS

    questions = []
    names: dict[str, int] = {}
    files = _tsv_file(folder, "SEED-Bench")
    for path in files:
        table = read_tsv(path)
        images = _tsv_images(table)
        for where, row in table:
            _need(row, ("index", "question", "A", "B", "answer", "image"), where, "a VLMEvalKit SEEDBench TSV")
            data = images[str(row["index"]).strip()]
            category = str(row.get("category") or "").strip()
            tid = row.get("question_type_id") or DIMENSIONS.get(category) or category
            tid = _tid(tid)
            if category:
                names[category] = tid
            questions.append({
                "question": row["question"], **{f"choice_{c.lower()}": row.get(c, "") for c in "ABCD"},
                "answer": row["answer"].strip(), "data_id": row.get("data_id") or f"{row['index']}{sniff_ext(data)}",
                "question_id": row.get("question_id") or row["index"], "question_type_id": tid,
                "data_type": "image", "_image": data, "_where": where,
            })
    return _seed_doc(questions, names, str(files[0]))


_LOADERS = {
    ("mme", "parquet"): _mme_parquet,
    ("mme", "your_results"): _mme_your_results,
    ("mme", "tsv"): _mme_tsv,
    ("pope", "parquet"): _pope_parquet,
    ("pope", "llava"): _pope_llava,
    ("pope", "tsv"): _pope_tsv,
    ("mmbench", "parquet"): _mmbench_parquet,
    ("seed", "parquet"): _seed_parquet,
    ("seed", "tsv"): _seed_tsv,
}

