"""AI2D (allenai, `ai2d-all.zip`): `ai2d/images/<n>.png`, `ai2d/abc_images/<n>.png`,
`ai2d/questions/<n>.png.json`, `ai2d/annotations/`, `ai2d/categories.json`, plus the official test
split as a separate `ai2d_test_ids.csv` (one image number per line: `1000`, ...).

A question file is `{"imageName": "0.png", "questions": {"<question text>": {"abcLabel": true,
"answerTexts": ["ears", "nose", "mouth", "face"], "correctAnswer": 3, "questionId": "0.png-0"}}}`:
keyed by the question's text, `correctAnswer` counts from 0. `abcLabel` questions ("What is A in the
diagram?") ask about the diagram with its text labels replaced by letters: that version of the image
is `abc_images/<imageName>`, the others use `images/<imageName>` (InternVL's AI2D data keeps both
folders; the Cauldron, which reads only `images/`, drops the abcLabel questions instead). `--images`,
if given, replaces `images/`; `abc_images/` is read beside it. `--split train` (default) drops the
official test images, `--split test` keeps only them, `--split all` keeps everything; the id list
is `--test-ids`, else `ai2d_test_ids.csv` in or beside `--src`.

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


def _order(path: Path) -> tuple[int, int, str]:
    stem = path.name.split(".")[0]
    return (0, int(stem), "") if stem.isdigit() else (1, 0, path.name)


def read(src: Path, ctx: ImportContext) -> Iterator[Row | Skip]:
    if ctx.split not in SPLITS:
        raise UserError(f"AI2D split {ctx.split!r}: use one of {', '.join(SPLITS)}")
    questions = require_dir(src / "questions", "AI2D questions folder", "pass the release's ai2d/ folder as --src")
    root = ctx.images.parent if ctx.images else src
    folders = {False: ctx.images or src / "images", True: root / "abc_images"}
    test = test_ids(src, ctx.test_ids) if ctx.split != "all" else set()
    for path in sorted(questions.glob("*.json"), key=_order):
        doc = read_json(path, "AI2D question file")
        if not isinstance(doc, dict) or not isinstance(doc.get("questions"), dict):
            yield Skip(path.name, "not an AI2D question file ({imageName, questions})", "ai2d")
            continue
        image_name = str(doc.get("imageName") or path.name.removesuffix(".json"))
        in_test = image_name.removesuffix(".png") in test
        if (ctx.split == "train" and in_test) or (ctx.split == "test" and not in_test):
            for _ in doc["questions"]:
                yield Skip(path.name, f"official {'test' if in_test else 'train'} split", "ai2d")
            continue
        for k, (text, q) in enumerate(doc["questions"].items()):
            where = f"questions/{path.name}: {text[:60]!r}"
            if not isinstance(q, dict):
                yield Skip(where, "not a question object", "ai2d")
                continue
            options, correct = q.get("answerTexts"), q.get("correctAnswer")
            if not isinstance(options, list) or not options or len(options) > len(LETTERS):
                yield Skip(where, "no answer options", "ai2d")
                continue
            if not isinstance(correct, int) or isinstance(correct, bool) or not 0 <= correct < len(options):
                yield Skip(where, "correctAnswer is not an option index", "ai2d")
                continue
            abc = bool(q.get("abcLabel"))
            image = folders[abc] / image_name
            if not image.is_file():
                yield Skip(where, "abc_images/ file not found (abcLabel question)" if abc else "image file not found",
                           "ai2d")
                continue
            qid = str(q.get("questionId") or f"{image_name}-{k}")
            texts = [str(o) for o in options]
            prompt = multiple_choice_prompt(text, texts) if ctx.prompts else \
                "\n".join([text, *(f"{LETTERS[i]}. {o}" for i, o in enumerate(texts))])
            yield Row(f"ai2d-{qid}", [("human", prompt), ("gpt", LETTERS[correct])], "ai2d", image=image,
                      image_name=f"ai2d/{'abc_images' if abc else 'images'}/{image.name}",
                      extra={"question_id": qid, "options": texts, "abc_label": abc}, where=where)
