"""Small benchmark folders in every native format, written by hand for the bench tests.

`make_bench_root(root)` writes `<root>/{mme,pope,mmbench,seed}/en/` with a few questions each:
MME in both layouts (perception and cognition subtasks), POPE with two splits, MMBench with 4- and
2-option questions and their CircularEval rotations (one image stored by reference, as VLMEvalKit
does), SEED with two image dimensions and one video question (skipped by the loader).
"""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path

from PIL import Image

YN = " Please answer yes or no."


def png(color: tuple[int, int, int], path: Path | None = None) -> bytes:
    img = Image.new("RGB", (32, 32), color)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buf.getvalue())
    return buf.getvalue()


def make_mme(folder: Path) -> None:
    # Layout B (side by side): existence, two images; code_reasoning (cognition), one image.
    for name, color, obj in (("e1", (255, 0, 0), "red square"), ("e2", (0, 0, 255), "blue square")):
        png(color, folder / "existence" / f"{name}.png")
        (folder / "existence" / f"{name}.txt").write_text(
            f"Is there a {obj} in this image?{YN}\tYes\nIs there a green circle in this image?{YN}\tNo\n",
            encoding="utf-8")
    png((0, 255, 0), folder / "code_reasoning" / "c1.png")
    (folder / "code_reasoning" / "c1.txt").write_text(
        f"Does the code print 4?{YN}\tYes\nDoes the code print 5?{YN}\tNo\n", encoding="utf-8")
    # Layout A (images/ + questions_answers_YN/): artwork, one image.
    png((200, 200, 0), folder / "artwork" / "images" / "a1.png")
    qa = folder / "artwork" / "questions_answers_YN"
    qa.mkdir(parents=True)
    (qa / "a1.txt").write_text(
        f"Is this artwork yellow?{YN}\tYes\nIs this artwork purple?{YN}\tNo\n", encoding="utf-8")


POPE_ROWS = {
    "random": [
        (1, "p1.png", "Is there a dog in the image?", "yes"),
        (2, "p1.png", "Is there a cat in the image?", "no"),
        (3, "p2.png", "Is there a red car in the image?", "yes"),
        (4, "p2.png", "Is there a bird in the image?", "no"),
    ],
    "adversarial": [
        (1, "p1.png", "Is there a dog in the image?", "yes"),
        (2, "p2.png", "Is there a horse in the image?", "no"),
    ],
}


def make_pope(folder: Path) -> None:
    png((10, 10, 10), folder / "images" / "p1.png")
    png((240, 240, 240), folder / "images" / "p2.png")
    for split, rows in POPE_ROWS.items():
        lines = [json.dumps({"question_id": q, "image": im, "text": t, "label": lab}) for q, im, t, lab in rows]
        (folder / f"coco_pope_{split}.json").write_text("\n".join(lines) + "\n", encoding="utf-8")


MMB_HEADER = ["index", "question", "hint", "A", "B", "C", "D", "answer", "category", "image", "source",
              "l2-category", "comment", "split"]


def mmbench_rows() -> list[dict]:
    from lrm_llava.bench.mmbench import rotations

    img0 = base64.b64encode(png((255, 0, 0))).decode()
    img1 = base64.b64encode(png((0, 0, 255))).decode()
    base = [
        {"index": "0", "question": "What color is the square?", "hint": "Look at the centre.", "A": "red",
         "B": "blue", "C": "green", "D": "yellow", "answer": "A", "category": "attribute_recognition",
         "image": img0, "source": "toy", "l2-category": "attribute", "comment": "", "split": "dev"},
        {"index": "1", "question": "Is the square large?", "hint": "nan", "A": "yes, it is", "B": "no, it is small",
         "C": "", "D": "", "answer": "B", "category": "image_scene",
         "image": img1, "source": "toy", "l2-category": "scene", "comment": "", "split": "dev"},
    ]
    rows = rotations(base)
    for r in rows:
        if int(r["index"]) >= 1_000_000:
            r["image"] = str(int(r["index"]) % 1_000_000)  # VLMEvalKit stores duplicates by reference
    return rows


def write_tsv(path: Path, rows: list[dict], header=MMB_HEADER) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(c, "") for c in header])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")


def make_mmbench(folder: Path) -> None:
    write_tsv(folder / "MMBench_DEV_toy.tsv", mmbench_rows())


SEED_DOC = {
    "questions": [
        {"question": "What is the main color of the scene?", "choice_a": "red", "choice_b": "blue",
         "choice_c": "green", "choice_d": "white", "answer": "A", "data_id": "s1.png", "question_id": "101",
         "question_type_id": 1, "data_type": "image"},
        {"question": "Where is the square?", "choice_a": "left", "choice_b": "right", "choice_c": "centre",
         "choice_d": "top", "answer": "C", "data_id": "s2.png", "question_id": "102",
         "question_type_id": 1, "data_type": "image"},
        {"question": "How many squares are there?", "choice_a": "one", "choice_b": "two", "choice_c": "three",
         "choice_d": "four", "answer": "A", "data_id": "s2.png", "question_id": "103",
         "question_type_id": 5, "data_type": "image"},
        {"question": "What happens next?", "choice_a": "x", "choice_b": "y", "choice_c": "z", "choice_d": "w",
         "answer": "B", "data_id": "v1.mp4", "question_id": "104", "question_type_id": 10, "data_type": "video"},
    ],
    "question_type": {"Scene Understanding": 1, "Instances Counting": 5, "Action Prediction": 10},
}


def make_seed(folder: Path) -> None:
    png((255, 0, 0), folder / "images" / "s1.png")
    png((0, 0, 255), folder / "images" / "s2.png")
    (folder / "SEED-Bench.json").write_text(json.dumps(SEED_DOC), encoding="utf-8")


def make_bench_root(root: Path) -> Path:
    """All four benchmarks in English under `root`."""
    make_mme(root / "mme" / "en")
    make_pope(root / "pope" / "en")
    make_mmbench(root / "mmbench" / "en")
    make_seed(root / "seed" / "en")
    return root
