"""AI2D (allenai, `ai2d-all.zip`): `ai2d/images/<n>.png`, `ai2d/questions/<n>.png.json`,
`ai2d/annotations/`, `ai2d/categories.json`, plus the official test split as a separate
`ai2d_test_ids.csv` (one image number per line).

A question file is `{"imageName": "0.png", "questions": {"<question text>": {"abcLabel": false,
"answerTexts": [4 options], "correctAnswer": 1, "questionId": "0.png-0"}}}`: keyed by the
question's text, `correctAnswer` counts from 0. `abcLabel` questions ask about letters drawn on the
diagram and their options are such letters ("A", "C", ...): they are skipped (counted), as the
Cauldron does. `--split train` (default) drops the official test images, `--split test` keeps only
them, `--split all` keeps everything; the id list is `--test-ids`, else `ai2d_test_ids.csv` in or
beside `--src`.

`--src` is the `ai2d` folder. One sample per question, LLaVA-1.5's multiple-choice layout:
"question\\nA. ...\\nB. ...\\nAnswer with the option's letter from the given choices directly." -> "B".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lrm_llava.errors import UserError
from lrm_llava.instruct.importers.common import (
    LETTERS,
    ImportContext,
    Row,
    Skip,
    multiple_choice_prompt,
    require_dir,
)
from lrm_llava.jsonio import read_json, read_text

SPLITS = ("train", "test", "all")


def test_ids(src: Path, given: Path | None) -> set[str]:
    path = given or next((p for p in (src / "ai2d_test_ids.csv", src.parent / "ai2d_test_ids.csv") if p.is_file()), None)
    if path is None:
        raise UserError(f"{src}: the official test-id list ai2d_test_ids.csv is neither in nor beside the AI2D folder. "
                        "Fix: download it with the release and pass --test-ids ai2d_test_ids.csv (or --split all)")
    return {line.strip().split(",")[0].removesuffix(".png") for line in read_text(path, "AI2D test ids").splitlines()
            if line.strip()}


def read(src: Path, ctx: ImportContext) -> Iterator[Row | Skip]:
    if ctx.split not in SPLITS:
        raise UserError(f"AI2D split {ctx.split!r}: use one of {', '.join(SPLITS)}")
    questions = require_dir(src / "questions", "AI2D questions folder", "pass the release's ai2d/ folder as --src")
    images = ctx.images or src / "images"
    test = test_ids(src, ctx.test_ids) if ctx.split != "all" else set()

    def order(p: Path):
        stem = p.name.split(".")[0]
        return (0, int(stem), "") if stem.isdigit() else (1, 0, p.name)

    for path in sorted(questions.glob("*.json"), key=order):
        doc = read_json(path, "AI2D question file")
        if not isinstance(doc, dict) or not isinstance(doc.get("questions"), dict):
            yield Skip(path.name, "not an AI2D question file", "ai2d")
            continue
        image_name = str(doc.get("imageName") or path.name.removesuffix(".json"))
        in_test = image_name.removesuffix(".png") in test
        if (ctx.split == "train" and in_test) or (ctx.split == "test" and not in_test):
            for _ in doc["questions"]:
                yield Skip(path.name, f"official {'test' if in_test else 'train'} split", "ai2d")
            continue
        image = images / image_name
        for k, (text, q) in enumerate(doc["questions"].items()):
            where = f"{path.name}: {text[:60]!r}"
            if not isinstance(q, dict):
                yield Skip(where, "not a question object", "ai2d")
                continue
            if q.get("abcLabel"):
                yield Skip(where, "abcLabel question (options are letters drawn on the diagram)", "ai2d")
                continue
            options, correct = q.get("answerTexts"), q.get("correctAnswer")
            if not isinstance(options, list) or not options or len(options) > len(LETTERS):
                yield Skip(where, "no answer options", "ai2d")
                continue
            if not isinstance(correct, int) or isinstance(correct, bool) or not 0 <= correct < len(options):
                yield Skip(where, "correctAnswer is not an option index", "ai2d")
                continue
            if not image.is_file():
                yield Skip(where, "image file not found", "ai2d")
                continue
            qid = str(q.get("questionId") or f"{image_name}-{k}")
            prompt = multiple_choice_prompt(text, [str(o) for o in options]) if ctx.prompts else \
                "\n".join([text, *(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))])
            yield Row(f"ai2d-{qid}", [("human", prompt), ("gpt", LETTERS[correct])], "ai2d", image=image,
                      image_name=f"ai2d/images/{image.name}",
                      extra={"question_id": qid, "options": [str(o) for o in options]}, where=where)
