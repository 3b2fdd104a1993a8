"""DocVQA (Single Page, RRC task 1). The QA file is `{"dataset_name": "docvqa", ..., "data": [...]}`
with rows `{"questionId": 337, "question": ..., "image": "documents/xnbl0037_1.png", "docId": 279,
"answers": ["1/8/93", ...], "question_types": [...]}` (`question_types` in the `_withQT` files; the
test file is `test_v1.0.json`, without `answers`).

Two releases, two image folders, one `image` field: the first tarballs hold `train/train_v1.0.json`
beside `train/documents/`; the current downloads hold `spdocvqa_qas/train_v1.0_withQT.json` and the
images flat in `spdocvqa_images/`, while the JSON still says `documents/<name>.png`. The image is
looked up at the JSON's path beside the QA file, then by its file name in `--images`,
`spdocvqa_images/` next to the QA folder, and `documents/`.

`--src` is the QA file (or a folder holding `spdocvqa_qas/` or `<split>/`). The first answer is the
target (all of them are kept in `answers`); the question gets LLaVA-1.5's short-answer sentence.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from lrm_llava.errors import DataError, UserError
from lrm_llava.instruct.importers.common import ImportContext, Row, Skip, short_answer_prompt, text_of
from lrm_llava.jsonio import read_json


def qa_file(src: Path, split: str) -> Path:
    if src.is_file():
        return src
    for candidate in (src / "spdocvqa_qas" / f"{split}_v1.0_withQT.json", src / "spdocvqa_qas" / f"{split}_v1.0.json",
                      src / split / f"{split}_v1.0.json", src / f"{split}_v1.0_withQT.json", src / f"{split}_v1.0.json"):
        if candidate.is_file():
            return candidate
    raise UserError(f"{src}: no DocVQA QA file for split {split!r} (looked for spdocvqa_qas/{split}_v1.0_withQT.json, "
                    f"{split}/{split}_v1.0.json). Fix: pass the QA JSON itself as --src")


def _image_dirs(qa: Path, images: Path | None) -> list[Path]:
    dirs = [images] if images else []
    return dirs + [qa.parent.parent / "spdocvqa_images", qa.parent / "spdocvqa_images", qa.parent / "documents"]


def read(src: Path, ctx: ImportContext) -> Iterator[Row | Skip]:
    qa = qa_file(src, ctx.split)
    doc = read_json(qa, "DocVQA QA file")
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DataError(f"{qa}: the top level is not {{\"data\": [...]}} as the DocVQA release writes it. "
                        "Fix: pass the release's QA file, e.g. spdocvqa_qas/train_v1.0_withQT.json")
    dirs = _image_dirs(qa, ctx.images)
    for index, rec in enumerate(doc["data"]):
        where = f"{qa.name}[data][{index}]"
        if not isinstance(rec, dict):
            yield Skip(where, "not a JSON object", "docvqa")
            continue
        qid = rec.get("questionId", index)
        where = f"{where} (questionId {qid})"
        answers = rec.get("answers")
        if not answers or not isinstance(answers, list):
            yield Skip(where, "no answers (test split)", "docvqa")
            continue
        try:
            question = text_of(rec.get("question"), where, "question")
            answers = [text_of(a, where, "answers") for a in answers]
        except DataError:
            yield Skip(where, "question or answers are not text", "docvqa")
            continue
        rel = str(rec.get("image", ""))
        name = PurePosixPath(rel).name
        candidates = [qa.parent / rel, *(d / name for d in dirs)]
        image = next((c for c in candidates if name and c.is_file()), None)
        if image is None:
            yield Skip(where, "image file not found", "docvqa")
            continue
        if not question.strip() or not answers[0].strip():
            yield Skip(where, "empty question or answer", "docvqa")
            continue
        prompt = short_answer_prompt(question) if ctx.prompts else question
        extra = {"question_id": qid, "answers": answers}
        if rec.get("question_types"):
            extra["question_types"] = rec["question_types"]
        yield Row(f"docvqa-{ctx.split}-{qid}", [("human", prompt), ("gpt", answers[0])], "docvqa",
                  image=image, image_name=f"docvqa/documents/{name}", extra=extra, where=where)
