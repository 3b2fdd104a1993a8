"""`lrm-llava bench export`: publish a bench root where the evaluation ecosystem reads benchmarks.

    lrm-llava bench export --bench-root bench --format hf --out published/hf
    lrm-llava bench export --bench-root bench --format lmms-eval --out published/lmms-eval
    lrm-llava bench export --bench-root bench --format vlmevalkit --out published/vlmevalkit

Every `<benchmark>/<language>/` of the root (any layout `load` reads, shared images resolved) is
written as:

- **hf**: one Hugging Face dataset per benchmark, `<out>/<benchmark>/`, one config per language
  (`<language>/<split>-00000-of-00001.parquet`, images embedded) with the columns of the lmms-lab
  datasets lmms-eval reads, and a dataset card `README.md` whose YAML `configs:` block names every
  config: `datasets.load_dataset("<out>/mme", name="de", split="test")`. Splits: `test` (MME,
  POPE, SEED), `dev` (MMBench).
- **lmms-eval**: that dataset under `<out>/hf/` plus a task folder `<out>/lrm_llava/`: one YAML per
  benchmark x language (`lrm_<benchmark>_<language>`), groups `lrm_<benchmark>` and `lrm_llava`, and
  a `utils.py` whose prompts carry the language's suffix and whose parsing and scoring are this
  package's (`lmms-eval --include_path <out>/lrm_llava --tasks lrm_mme ...`; `lrm-llava` must be
  installed where lmms-eval runs).
- **vlmevalkit**: TSVs under names no VLMEvalKit dataset is registered with (`MME_LRM_DE.tsv`,
  `POPE_LRM_DE.tsv`, `MMBench_DEV_LRM_DE.tsv`, `SEEDBench_IMG_LRM_DE.tsv`) and `vlmevalkit.json`,
  the `data` part of a `run.py --config` file that builds MME and POPE as Y/N datasets.

Columns (hf) per benchmark:

| benchmark | columns |
|---|---|
| mme | `question_id` (`<subtask>/<image file>`), `image`, `question` (with its answer-format suffix), `answer` (`Yes`/`No`), `category` (subtask) |
| pope | `id`, `question_id`, `question`, `answer` (`yes`/`no`), `image_source` (image name without extension), `image`, `category` (split) |
| mmbench | `index`, `question`, `hint`, `answer`, `A`..`D`, `category`, `image`, `source`, `L2-category`, `comment`, `split` (rotations kept at index + k x 1,000,000) |
| seed | `answer`, `choice_a`..`choice_d`, `data_id`, `data_type`, `question`, `question_id`, `question_type_id`, `image` (a list of one image), `question_type` (dimension name) |

Image bytes are copied as they are (never re-encoded). The readers of `bench.importers` load every
export back as the same questions.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lrm_llava.bench.common import BENCHMARKS, benchmark_dir, english_dir, is_missing
from lrm_llava.bench.formats import load as load_document
from lrm_llava.errors import UserError
from lrm_llava.jsonio import write_text
from lrm_llava.languages import ALL_CODES, ENGLISH, get, parse_languages

FORMATS: tuple[str, ...] = ("hf", "lmms-eval", "vlmevalkit")
SPLIT: dict[str, str] = {"mme": "test", "pope": "test", "mmbench": "dev", "seed": "test"}
"""The split name of each exported dataset (the lmms-lab datasets' names)."""
TITLES = {"mme": "MME", "pope": "POPE", "mmbench": "MMBench", "seed": "SEED-Bench (image)"}
ROW_GROUP = 64
"""Rows per parquet row group: images are written a group at a time, never the whole set at once."""


@dataclass
class ExportConfig:
    """Everything one `bench export` run needs."""

    bench_root: str | Path
    """Folder holding `<benchmark>/<language>/` (any layout `load` reads)."""
    out: str | Path
    """Folder to write the export into."""
    format: str = "hf"
    """"hf", "lmms-eval" or "vlmevalkit"."""
    benchmarks: str | list[str] = "mme,pope,mmbench,seed"
    """Benchmarks to export (those present)."""
    languages: str | list[str] = "all"
    """Languages to export (those present)."""
    dataset_path: str | None = None
    """lmms-eval only: where the YAML files point (`dataset_path`, + `/<benchmark>`): a Hugging Face
    repository prefix or a folder holding an hf export; default: the hf export written to `<out>/hf`."""


def export_bench(config: ExportConfig) -> dict[str, Path]:
    """Write the export; returns what was written (name -> path)."""
    fmt = config.format.strip().lower()
    if fmt not in FORMATS:
        raise UserError(f"unknown export format {config.format!r}; choose from {', '.join(FORMATS)}")
    root, out = Path(config.bench_root), Path(config.out)
    pairs = selection(root, config.benchmarks, config.languages)
    if out.resolve() == root.resolve() or root.resolve().is_relative_to(out.resolve()):
        raise UserError(f"--out {out} holds the bench root {root}; export into another folder")
    if fmt == "hf":
        return write_hf(root, pairs, out)
    if fmt == "vlmevalkit":
        return write_vlmevalkit(root, pairs, out)
    written = {} if config.dataset_path else write_hf(root, pairs, out / "hf")
    base = config.dataset_path or str((out / "hf").resolve())
    written.update(write_lmms_eval(pairs, out / "lrm_llava", base))
    return written


def selection(root: Path, benchmarks, languages) -> dict[str, list[str]]:
    """benchmark -> languages present under `root` (registry order)."""
    from lrm_llava.bench.run import parse_benchmarks

    if not root.is_dir():
        raise UserError(f"{root}: bench root not found (expected <root>/<benchmark>/<language>/)")
    langs = parse_languages(languages)
    pairs: dict[str, list[str]] = {}
    for bench in parse_benchmarks(benchmarks):
        present = [c for c in langs if benchmark_dir(root, bench, c).is_dir()]
        if present:
            pairs[bench] = present
    if not pairs:
        raise UserError(f"{root}: none of the requested benchmarks/languages exist there")
    return pairs


def _dirs(root: Path, bench: str, lang: str) -> tuple[Path, Path | None]:
    lang_dir = benchmark_dir(root, bench, lang)
    en = english_dir(root, bench)
    return lang_dir, en if en.is_dir() and en != lang_dir else None


def _read(image) -> bytes:
    return image if isinstance(image, bytes) else Path(image).read_bytes()


def _ext(image) -> str:
    from lrm_llava.bench.importers import sniff_ext

    return sniff_ext(image) if isinstance(image, bytes) else Path(image).suffix


# -------------------------------------------------------------------------------- records per benchmark


def records(root: Path, bench: str, lang: str) -> Iterator[dict]:
    """The rows of `<root>/<bench>/<lang>` in the lmms-lab columns (images as {"bytes", "path"})."""
    lang_dir, en_dir = _dirs(root, bench, lang)
    doc = load_document(bench, lang_dir)
    if bench == "mme":
        from lrm_llava.bench.mme import find_image

        for f in doc:
            image = find_image(f, lang_dir, en_dir)
            data, name = _read(image), f"{f.name}{_ext(image) if not isinstance(image, bytes) else f.image_ext}"
            for question, answer in f.lines:
                yield {"question_id": f"{f.subtask}/{name}", "image": {"bytes": data, "path": name},
                       "question": question, "answer": answer, "category": f.subtask}
    elif bench == "pope":
        from lrm_llava.bench.pope import find_image

        n = 0
        for split, rows in doc.items():
            for row in rows:
                image = find_image(row, split, lang_dir, en_dir)
                name = PurePosixPath(str(row["image"])).name
                yield {"id": str(n), "question_id": str(row["question_id"]), "question": row["text"],
                       "answer": str(row["label"]).strip().lower(),
                       "image_source": str(row.get("image_source") or PurePosixPath(name).stem),
                       "image": {"bytes": _read(image), "path": name}, "category": split}
                n += 1
    elif bench == "mmbench":
        from lrm_llava.bench.mmbench import LETTERS, _image

        for f in doc:
            images = {int(float(r["index"])): r.get("image", "") for r in f.rows}
            for row, line in zip(f.rows, f.lines):
                b64 = _image(row.get("image", ""), images, f"{f.path}:{line}")
                out = {"index": int(float(row["index"])), "question": row["question"],
                       "hint": None if is_missing(row.get("hint")) else row["hint"],
                       "answer": row.get("answer", "")}
                out.update({k: None if is_missing(row.get(k)) else row[k] for k in LETTERS[:4]})
                out.update({"category": row.get("category") or None,
                            "image": {"bytes": base64.b64decode(b64), "path": None},
                            "source": row.get("source") or None,
                            "L2-category": row.get("l2-category", row.get("L2-category")) or None,
                            "comment": row.get("comment") or None, "split": row.get("split") or None})
                yield out
    else:
        from lrm_llava.bench.seed import _is_image, _where, dimensions, find_image

        dims = dimensions(doc)
        for i, q in enumerate(doc["questions"]):
            if not _is_image(q):
                continue  # the image part is what is evaluated; video questions have no frames here
            image = find_image(q, lang_dir, en_dir, _where(doc, i, q))
            data_id = str(q["data_id"])
            yield {"answer": str(q["answer"]).strip(),
                   **{f"choice_{c}": None if is_missing(q.get(f"choice_{c}")) else str(q[f"choice_{c}"])
                      for c in "abcd"},
                   "data_id": data_id, "data_type": "image", "question": q["question"],
                   "question_id": str(q["question_id"]), "question_type_id": q.get("question_type_id"),
                   "image": [{"bytes": _read(image), "path": PurePosixPath(data_id).name}],
                   "question_type": dims.get(str(q.get("question_type_id")))}


def features(bench: str, int_types: bool = True):
    """The `datasets.Features` of an exported benchmark."""
    try:
        import datasets
    except ImportError:
        raise UserError("exporting to parquet needs datasets and pyarrow: pip install 'lrm-llava[hf]'") from None
    s, image = datasets.Value("string"), datasets.Image()
    if bench == "mme":
        cols = {"question_id": s, "image": image, "question": s, "answer": s, "category": s}
    elif bench == "pope":
        cols = {"id": s, "question_id": s, "question": s, "answer": s, "image_source": s, "image": image,
                "category": s}
    elif bench == "mmbench":
        cols = {"index": datasets.Value("int64"), "question": s, "hint": s, "answer": s, "A": s, "B": s, "C": s,
                "D": s, "category": s, "image": image, "source": s, "L2-category": s, "comment": s, "split": s}
    else:
        listed = datasets.List(image) if hasattr(datasets, "List") else datasets.Sequence(image)
        cols = {"answer": s, "choice_a": s, "choice_b": s, "choice_c": s, "choice_d": s, "data_id": s,
                "data_type": s, "question": s, "question_id": s,
                "question_type_id": datasets.Value("int64") if int_types else s, "image": listed,
                "question_type": s}
    return datasets.Features(cols)


# ------------------------------------------------------------------------------------------------ hf


def write_parquet(rows: Iterator[dict], bench: str, path: Path) -> int:
    """Stream `rows` into one parquet file with the benchmark's features (schema metadata included,
    so `datasets` restores the image columns). Returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = list(rows) if bench == "seed" else rows
    int_types = bench != "seed" or all(isinstance(r["question_type_id"], int) for r in rows)
    if not int_types:
        rows = [{**r, "question_type_id": str(r["question_type_id"])} for r in rows]
    schema = features(bench, int_types).arrow_schema
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.part")
    n = 0
    with pq.ParquetWriter(tmp, schema) as writer:
        batch: list[dict] = []
        for row in rows:
            batch.append(row)
            if len(batch) == ROW_GROUP:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                n, batch = n + len(batch), []
        if batch or n == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    tmp.replace(path)
    return n


def write_hf(root: Path, pairs: dict[str, list[str]], out: Path) -> dict[str, Path]:
    """One dataset per benchmark under `out/<benchmark>/`: a config per language, and its card."""
    written: dict[str, Path] = {}
    for bench, langs in pairs.items():
        folder = out / bench
        counts = {}
        for lang in langs:
            config_dir = folder / lang
            if config_dir.is_dir():
                shutil.rmtree(config_dir)  # a rerun replaces the config, never mixes old shards in
            path = config_dir / f"{SPLIT[bench]}-00000-of-00001.parquet"
            counts[lang] = write_parquet(records(root, bench, lang), bench, path)
            written[f"hf/{bench}/{lang}"] = path
        card = folder / "README.md"
        write_text(card, dataset_card(bench, counts))
        written[f"hf/{bench}/README.md"] = card
    return written


def dataset_card(bench: str, counts: dict[str, int]) -> str:
    """README.md of an exported benchmark: YAML front matter (configs, languages) and a description."""
    import yaml

    langs = list(counts)
    default = ENGLISH if ENGLISH in langs else langs[0]
    configs = []
    for lang in langs:
        entry = {"config_name": lang, "data_files": [{"split": SPLIT[bench], "path": f"{lang}/{SPLIT[bench]}-*.parquet"}]}
        if lang == default:
            entry["default"] = True
        configs.append(entry)
    meta = {"pretty_name": f"Multilingual {TITLES[bench]} (LRM-LLaVA)", "language": langs,
            "task_categories": ["visual-question-answering"], "configs": configs}
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    cols = ", ".join(f"`{c}`" for c in features(bench))
    table = "\n".join(f"| `{lang}` | {get(lang).english_name} | {counts[lang]} |" for lang in langs)
    return (f"---\n{front}---\n\n# Multilingual {TITLES[bench]}\n\n"
            f"{TITLES[bench]} in {len(langs)} language(s), one config per language, written by "
            "`lrm-llava bench export --format hf` in the column layout of the lmms-lab dataset that lmms-eval "
            f"reads. Images are embedded as they were (not re-encoded).\n\n"
            f"```python\nfrom datasets import load_dataset\nds = load_dataset(\"<this folder>\", name=\"{default}\", "
            f"split=\"{SPLIT[bench]}\")\n```\n\n"
            f"| config | language | rows |\n|---|---|---|\n{table}\n\nColumns: {cols}.\n\n"
            "Answers, ids, letters and categories are those of the original benchmark; questions (and option "
            "texts) are machine translations. Respect the license of the original benchmark.\n")


# ------------------------------------------------------------------------------------------ lmms-eval

METRICS: dict[str, tuple[str, ...]] = {
    "mme": ("perception", "cognition"),
    "pope": ("f1", "accuracy", "precision", "recall", "yes_ratio"),
    "mmbench": ("overall", "vanilla"),
    "seed": ("overall",),
}
"""The lmms-eval metrics of each task: the names of this package's results (`bench/<benchmark>.py`)."""

_UTILS_HEAD = '''"""lmms-eval task functions of the LRM-LLaVA multilingual benchmarks (written by `lrm-llava bench export`).

Prompts are LLaVA-1.5's with the answer-format suffix in the question's language (the YAML's
post_prompt); replies are parsed with the language's words and scored by the official rules, by
the `lrm_llava` package, exactly as `lrm-llava eval` does. Install it where lmms-eval runs:
pip install lrm-llava
"""

try:
    from lrm_llava.bench.export import lmms as _lrm
except ImportError as err:  # pragma: no cover - depends on the lmms-eval environment
    raise ImportError("these tasks parse and score with the lrm_llava package: pip install lrm-llava") from err

'''


def utils_source(pairs: dict[str, list[str]]) -> str:
    """The generated utils.py: named functions per task (lmms-eval's `!function` looks names up)."""
    lines = [_UTILS_HEAD]
    for bench in pairs:
        lines.append(f"\ndef {bench}_doc_to_visual(doc):\n    return _lrm.doc_to_visual({bench!r}, doc)\n")
        for metric in METRICS[bench]:
            lines.append(f"\ndef {bench}_aggregate_{metric}(results):\n"
                         f"    return _lrm.aggregate({bench!r}, {metric!r}, results)\n")
        for lang in pairs[bench]:
            lines.append(f"\ndef {bench}_{lang}_doc_to_text(doc, lmms_eval_specific_kwargs=None):\n"
                         f"    return _lrm.doc_to_text({bench!r}, {lang!r}, doc, lmms_eval_specific_kwargs)\n")
            lines.append(f"\ndef {bench}_{lang}_process_results(doc, results):\n"
                         f"    return _lrm.process_results({bench!r}, {lang!r}, doc, results)\n")
    return "".join(lines)


def task_yaml(bench: str, lang: str, dataset_path: str) -> str:
    """One lmms-eval task YAML (text: `!function` tags are not plain YAML)."""
    from lrm_llava.bench.export.lmms import post_prompt

    post = json.dumps("\n" + post_prompt(bench, lang), ensure_ascii=False)
    metrics = "".join(f"  - metric: {m}\n    aggregation: !function utils.{bench}_aggregate_{m}\n"
                      "    higher_is_better: true\n" for m in METRICS[bench])
    return (f"# {TITLES[bench]} in {get(lang).english_name}, written by lrm-llava bench export\n"
            f"dataset_path: {json.dumps(f'{dataset_path}/{bench}')}\n"
            f"dataset_name: {lang}\n"
            f"task: lrm_{bench}_{lang}\n"
            f"test_split: {SPLIT[bench]}\n"
            "output_type: generate_until\n"
            f"doc_to_visual: !function utils.{bench}_doc_to_visual\n"
            f"doc_to_text: !function utils.{bench}_{lang}_doc_to_text\n"
            'doc_to_target: "answer"\n'
            "generation_kwargs:\n  max_new_tokens: 16\n  temperature: 0\n  top_p: 1.0\n  num_beams: 1\n"
            "  do_sample: false\n"
            f"process_results: !function utils.{bench}_{lang}_process_results\n"
            f"metric_list:\n{metrics}"
            f"lmms_eval_specific_kwargs:\n  default:\n    pre_prompt: \"\"\n    post_prompt: {post}\n"
            f"metadata:\n  version: 0.0\n  language: {lang}\n")


def write_lmms_eval(pairs: dict[str, list[str]], folder: Path, dataset_path: str) -> dict[str, Path]:
    """The task folder: YAML per benchmark x language, a group per benchmark, `lrm_llava`, utils.py."""
    import yaml

    written: dict[str, Path] = {}
    for bench, langs in pairs.items():
        for lang in langs:
            path = folder / f"lrm_{bench}_{lang}.yaml"
            write_text(path, task_yaml(bench, lang, dataset_path.rstrip("/")))
            written[f"lmms-eval/lrm_{bench}_{lang}"] = path
        group = folder / f"lrm_{bench}.yaml"
        write_text(group, yaml.safe_dump({"group": f"lrm_{bench}", "task": [f"lrm_{bench}_{c}" for c in langs],
                                          "metadata": {"version": 0.0}}, sort_keys=False))
        written[f"lmms-eval/lrm_{bench}"] = group
    top = folder / "lrm_llava.yaml"
    write_text(top, yaml.safe_dump({"group": "lrm_llava", "task": [f"lrm_{b}" for b in pairs],
                                    "metadata": {"version": 0.0}}, sort_keys=False))
    written["lmms-eval/lrm_llava"] = top
    utils = folder / "utils.py"
    write_text(utils, utils_source(pairs))
    written["lmms-eval/utils.py"] = utils
    return written


# ----------------------------------------------------------------------------------------- vlmevalkit


def vlmevalkit_name(bench: str, lang: str, tsv_name: str | None = None) -> str:
    """A dataset name VLMEvalKit has not registered, so its custom-dataset path loads the TSV as it
    is (a registered name is checked against its MD5 and replaced by the official download):
    `MME_LRM_<LANG>`, `POPE_LRM_<LANG>`, `SEEDBench_IMG_LRM_<LANG>`, MMBench `translated_name`
    (`MMBench_DEV_LRM_<LANG>`). VLMEvalKit picks the scoring by name: "MME" / "POPE" in a Y/N
    dataset's name select their ratings, "MMBench" selects CircularEval."""
    from lrm_llava.bench.mmbench import translated_name

    if bench == "mmbench":
        return translated_name(tsv_name or "MMBench_DEV_EN.tsv", lang)[:-4]
    return {"mme": "MME", "pope": "POPE", "seed": "SEEDBench_IMG"}[bench] + f"_LRM_{lang.upper()}"


def _tsv(header: list[str], rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t", lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in header])
    return buf.getvalue()


def _b64_once(data: bytes, index: int, first: dict[bytes, int]) -> str:
    # VLMEvalKit stores an image seen before as the index of the row holding it
    if data in first:
        return str(first[data])
    first[data] = index
    return base64.b64encode(data).decode("ascii")


def vlmevalkit_tables(root: Path, bench: str, lang: str) -> dict[str, str]:
    """dataset name -> TSV text of one benchmark x language."""
    if bench == "mmbench":
        lang_dir, _ = _dirs(root, bench, lang)
        return {vlmevalkit_name(bench, lang, f.name): _tsv(f.header, f.rows) for f in load_document(bench, lang_dir)}
    first: dict[bytes, int] = {}
    rows = []
    for i, r in enumerate(records(root, bench, lang)):
        if bench == "mme":
            subtask = r["category"]
            rows.append({"index": i, "image": _b64_once(r["image"]["bytes"], i, first), "question": r["question"],
                         "answer": r["answer"], "category": subtask, "image_path": r["question_id"]})
        elif bench == "pope":
            rows.append({"index": i, "image": _b64_once(r["image"]["bytes"], i, first), "question": r["question"],
                         "answer": r["answer"].capitalize(), "category": r["category"],
                         "question_id": r["question_id"], "image_name": r["image"]["path"]})
        else:
            rows.append({"index": i, "image": _b64_once(r["image"][0]["bytes"], i, first), "question": r["question"],
                         **{c.upper(): r[f"choice_{c}"] for c in "abcd"}, "answer": r["answer"],
                         "category": r["question_type"] or str(r["question_type_id"]),
                         "question_id": r["question_id"], "data_id": r["data_id"],
                         "question_type_id": r["question_type_id"]})
    header = {"mme": ["index", "image", "question", "answer", "category", "image_path"],
              "pope": ["index", "image", "question", "answer", "category", "question_id", "image_name"],
              "seed": ["index", "image", "question", "A", "B", "C", "D", "answer", "category", "question_id",
                       "data_id", "question_type_id"]}[bench]
    return {vlmevalkit_name(bench, lang): _tsv(header, rows)}


def write_vlmevalkit(root: Path, pairs: dict[str, list[str]], out: Path) -> dict[str, Path]:
    """The TSVs (put them in VLMEvalKit's LMUData folder) and `vlmevalkit.json` (its `data` config)."""
    written: dict[str, Path] = {}
    data: dict[str, dict] = {}
    for bench, langs in pairs.items():
        for lang in langs:
            for name, text in vlmevalkit_tables(root, bench, lang).items():
                path = out / f"{name}.tsv"
                write_text(path, text)
                written[f"vlmevalkit/{name}"] = path
                cls = "ImageYORNDataset" if bench in ("mme", "pope") else "ImageMCQDataset"
                data[name] = {"class": cls, "dataset": name}
    config = out / "vlmevalkit.json"
    write_text(config, json.dumps({"model": {}, "data": data}, indent=1) + "\n")
    written["vlmevalkit/config"] = config
    return written


def languages_in(pairs: dict[str, list[str]]) -> list[str]:
    """Every language of an export, registry order."""
    present = {c for langs in pairs.values() for c in langs}
    return [c for c in ALL_CODES if c in present]


__all__ = ["BENCHMARKS", "ExportConfig", "FORMATS", "export_bench"]
