"""The layouts other tools publish the benchmarks in, each written here by hand in that exact layout,
load as the same questions as the native layout (`eval --bench-root`), and translate (`--src`)."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
from benchdata import POPE_ROWS, SEED_DOC, YN, make_bench_root, mmbench_rows, png, write_tsv

from lrm_llava.bench.run import load_items
from lrm_llava.bench.translation import TranslateConfig, translate_benchmark
from lrm_llava.errors import DataError

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def key(item) -> tuple:
    return (item.question_id, item.question, item.answer, item.split, item.category, item.group, item.hint,
            tuple(item.options.items()))


def image(item) -> bytes:
    return base64.b64decode(item.image_b64) if item.image_b64 else Path(item.image_path).read_bytes()


def same(native_root, other_root, bench, lang="en", ids=True):
    a, b = load_items(native_root, bench, lang), load_items(other_root, bench, lang)
    if ids:
        assert [key(i) for i in b] == [key(i) for i in a]
    else:
        assert [key(i)[1:] for i in b] == [key(i)[1:] for i in a]
    assert [image(i) for i in b] == [image(i) for i in a]
    return b


def parquet(path: Path, columns: dict[str, tuple[pa.DataType, list]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({k: pa.array(v, type=t) for k, (t, v) in columns.items()})
    pq.write_table(table, path)


@pytest.fixture
def native(tmp_path):
    return make_bench_root(tmp_path / "native")


def test_lmms_lab_mme_parquet(native, tmp_path):
    rows = {"question_id": [], "image": [], "question": [], "answer": [], "category": []}
    for item in load_items(native, "mme", "en"):
        subtask, name, i = item.question_id.split("/")
        ext = Path(item.image_path).suffix
        rows["question_id"].append(f"{subtask}/{name}{ext}")
        rows["image"].append({"bytes": Path(item.image_path).read_bytes(), "path": f"{name}{ext}"})
        rows["question"].append(f"{item.question}{YN}")
        rows["answer"].append(item.answer.capitalize())
        rows["category"].append(subtask)
    s = pa.string()
    parquet(tmp_path / "lmms" / "mme" / "en" / "data" / "test-00000-of-00001.parquet",
            {"question_id": (s, rows["question_id"]), "image": (IMAGE, rows["image"]),
             "question": (s, rows["question"]), "answer": (s, rows["answer"]), "category": (s, rows["category"])})
    same(native, tmp_path / "lmms", "mme")
    # and it translates into the native layout, images written out
    translate_benchmark(TranslateConfig(benchmark="mme", src=tmp_path / "lmms", out=tmp_path / "lmms",
                                        languages="de", backend="pseudo", progress=False))
    assert (tmp_path / "lmms" / "mme" / "de" / "existence" / "e1.png").is_file()
    de = load_items(tmp_path / "lmms", "mme", "de")
    assert [i.question for i in de][:1] == ["[de] Is this artwork yellow?"]
    assert [image(i) for i in de] == [image(i) for i in load_items(native, "mme", "en")]


def test_mme_your_results(native, tmp_path):
    folder = tmp_path / "yr" / "mme" / "en"
    release = folder / "MME_Benchmark_release_version"
    shutil.copytree(native / "mme" / "en", release)
    for txt in list(release.rglob("*.txt")):
        txt.unlink()
    results = folder / "Your_Results"
    results.mkdir(parents=True)
    by_task: dict[str, list[str]] = {}
    for item in load_items(native, "mme", "en"):
        subtask, name, i = item.question_id.split("/")
        by_task.setdefault(subtask, []).append(
            f"{name}.png\t{item.question}{YN}\t{item.answer.capitalize()}\t{'yes' if i == '0' else 'no'}\n")
    for subtask, lines in by_task.items():
        (results / f"{subtask}.txt").write_text("".join(lines), encoding="utf-8")
    items = same(native, tmp_path / "yr", "mme")
    assert items[0].image_path.endswith("artwork/images/a1.png")
    (results / "existence.txt").write_text("e9.png\tIs it?\tYes\tyes\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"existence\.txt:1: image 'e9.png' not found"):
        load_items(tmp_path / "yr", "mme", "en")


def test_lmms_lab_pope_parquet(native, tmp_path):
    s = pa.string()
    cols = {k: [] for k in ("id", "question_id", "question", "answer", "image_source", "image", "category")}
    n = 0
    for split, rows in POPE_ROWS.items():
        for qid, img, text, label in rows:
            cols["id"].append(str(n))
            cols["question_id"].append(str(qid))
            cols["question"].append(text)
            cols["answer"].append(label)
            cols["image_source"].append(Path(img).stem)
            cols["image"].append({"bytes": (native / "pope" / "en" / "images" / img).read_bytes(), "path": None})
            cols["category"].append(split)
            n += 1
    parquet(tmp_path / "lmms" / "pope" / "en" / "data" / "test-00000-of-00003.parquet",
            {k: (IMAGE if k == "image" else s, v) for k, v in cols.items()})
    same(native, tmp_path / "lmms", "pope")


def test_llava_pope_test_jsonl(native, tmp_path):
    folder = tmp_path / "llava" / "pope" / "en"
    shutil.copytree(native / "pope" / "en" / "images", folder / "val2014")
    (folder / "coco").mkdir(parents=True)
    questions, qid = [], 0
    for split in POPE_ROWS:
        shutil.copy(native / "pope" / "en" / f"coco_pope_{split}.json", folder / "coco")
        for _, img, text, _ in POPE_ROWS[split]:
            questions.append({"question_id": qid, "image": img, "category": split,
                              "text": f"{text}\nAnswer the question using a single word or phrase."})
            qid += 1
    (folder / "llava_pope_test.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    same(native, tmp_path / "llava", "pope")
    # labels are paired in order, as eval_pope.py does: a shuffled annotation file is refused
    lines = (folder / "coco" / "coco_pope_random.json").read_text().splitlines()
    (folder / "coco" / "coco_pope_random.json").write_text("\n".join(lines[::-1]) + "\n")
    with pytest.raises(DataError, match="not in the same order"):
        load_items(tmp_path / "llava", "pope", "en")


def test_lmms_lab_mmbench_parquet(native, tmp_path):
    rows = mmbench_rows()
    images = {r["index"]: r["image"] for r in rows if len(r["image"]) > 64}
    s = pa.string()
    cols = {k: [] for k in ("index", "question", "hint", "A", "B", "C", "D", "answer", "category", "image", "source",
                            "L2-category", "comment", "split")}
    for r in rows:
        for k in cols:
            if k == "image":
                b64 = r["image"] if len(r["image"]) > 64 else images[r["image"]]
                cols[k].append({"bytes": base64.b64decode(b64), "path": None})
            elif k == "L2-category":
                cols[k].append(r["l2-category"])
            else:
                value = r[k]
                cols[k].append(None if value in ("", "nan") and k in ("hint", "C", "D") else value)
    parquet(tmp_path / "lmms" / "mmbench" / "en" / "dev-00000-of-00001.parquet",
            {k: (IMAGE if k == "image" else s, v) for k, v in cols.items()})
    # the test split has no answers: read only when no dev file is there
    parquet(tmp_path / "lmms" / "mmbench" / "en" / "test-00000-of-00001.parquet",
            {"index": (s, ["9"]), "question": (s, ["?"]), "A": (s, ["a"]), "B": (s, ["b"]), "answer": (s, [None]),
             "image": (IMAGE, [{"bytes": b"x" * 100, "path": None}])})
    same(native, tmp_path / "lmms", "mmbench")


def _seed_parquet(native: Path, path: Path, with_video: bool = True) -> None:
    s = pa.string()
    cols = {k: [] for k in ("answer", "choice_a", "choice_b", "choice_c", "choice_d", "data_id", "data_type", "question",
                            "question_id", "question_type_id", "image")}
    for q in SEED_DOC["questions"]:
        if q["data_type"] == "video" and not with_video:
            continue
        for k in cols:
            if k == "image":
                frames = [] if q["data_type"] == "video" else [
                    {"bytes": (native / "seed" / "en" / "images" / q["data_id"]).read_bytes(), "path": None}]
                cols[k].append(frames)
            else:
                cols[k].append(q[k])
    parquet(path, {k: (pa.list_(IMAGE) if k == "image" else pa.int16() if k == "question_type_id" else s, v)
                   for k, v in cols.items()})


def test_lmms_lab_seed_parquet(native, tmp_path):
    _seed_parquet(native, tmp_path / "lmms" / "seed" / "en" / "data" / "test-00000-of-00006.parquet")
    same(native, tmp_path / "lmms", "seed")
    translate_benchmark(TranslateConfig(benchmark="seed", src=tmp_path / "lmms" / "seed" / "en", out=tmp_path / "t",
                                        languages="cs", backend="pseudo", progress=False))
    cs = load_items(tmp_path / "t", "seed", "cs")
    assert (tmp_path / "t" / "seed" / "cs" / "images" / "s1.png").is_file()
    assert [i.category for i in cs] == ["Scene Understanding", "Scene Understanding", "Instances Counting"]


def test_vlmevalkit_seedbench_img_tsv(native, tmp_path):
    names = {v: k for k, v in SEED_DOC["question_type"].items()}
    rows = []
    for q in SEED_DOC["questions"]:
        if q["data_type"] != "image":
            continue
        data = (native / "seed" / "en" / "images" / q["data_id"]).read_bytes()
        rows.append({"index": q["question_id"], "image": base64.b64encode(data).decode(), "question": q["question"],
                     "A": q["choice_a"], "B": q["choice_b"], "C": q["choice_c"], "D": q["choice_d"],
                     "answer": q["answer"], "category": names[q["question_type_id"]], "split": "none"})
    write_tsv(tmp_path / "vlm" / "seed" / "en" / "SEEDBench_IMG.tsv", rows,
              header=["index", "image", "question", "A", "B", "C", "D", "answer", "category", "split"])
    same(native, tmp_path / "vlm", "seed")


def test_seed_release_image_folder(native, tmp_path):
    folder = tmp_path / "release" / "seed" / "en"
    folder.mkdir(parents=True)
    shutil.copy(native / "seed" / "en" / "SEED-Bench.json", folder)
    shutil.copytree(native / "seed" / "en" / "images", folder / "SEED-Bench-image")
    same(native, tmp_path / "release", "seed")
    translate_benchmark(TranslateConfig(benchmark="seed", src=tmp_path / "release", out=tmp_path / "release",
                                        languages="de", backend="pseudo", progress=False))
    assert (tmp_path / "release" / "seed" / "de" / "images" / "s2.png").is_file()


def test_broken_foreign_layouts_name_file_and_row(native, tmp_path):
    s = pa.string()
    parquet(tmp_path / "bad" / "mme" / "en" / "test.parquet",
            {"question_id": (s, ["existence/x.png"]), "question": (s, ["Q?"]), "answer": (s, ["Yes"]),
             "category": (s, ["existence"]), "image": (IMAGE, [{"bytes": png((1, 1, 1)), "path": None}])})
    with pytest.raises(DataError, match="exactly two questions"):
        load_items(tmp_path / "bad", "mme", "en")
    parquet(tmp_path / "bad" / "pope" / "en" / "test.parquet",
            {"question_id": (s, ["1"]), "question": (s, ["Q?"]), "answer": (s, ["maybe"]),
             "category": (s, ["random"]), "image": (IMAGE, [{"bytes": png((1, 1, 1)), "path": None}])})
    with pytest.raises(DataError, match=r"test\.parquet:row 0: answer must be 'yes' or 'no'"):
        load_items(tmp_path / "bad", "pope", "en")
    parquet(tmp_path / "bad" / "seed" / "en" / "test.parquet", {"question": (s, ["Q?"])})
    with pytest.raises(DataError, match="missing column"):
        load_items(tmp_path / "bad", "seed", "en")
