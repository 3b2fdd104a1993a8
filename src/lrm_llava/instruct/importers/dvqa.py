"""DVQA (kushalkafle/DVQA_dataset): `qa/{split}_qa.json` for the splits `train`, `val_easy` and
`val_hard` (there is no `val` or `test`), each a list of `{"image": "bar_train_00200000.png",
"question": ..., "answer": "bond", "question_id": 120000013, "template_id": "structure"|"data"|"reasoning",
"answer_bbox": [295.4375, 379.85, 54.5, 35.0] or []}` (the README calls the last two `question_type`
and `bbox_answer`: both spellings are read), and every bar chart of every split in one `images/`
folder (`bar_{split}_{8-digit id}.png`).

`--src` is the folder holding `qa/` and `images/` (or the QA file, with `--images`). An empty
`answer_bbox` (the answer is not a text in the chart) is normal and not kept. The question gets
LLaVA-1.5's short-answer sentence; answers are kept verbatim.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lrm_llava.errors import DataError, UserError
from lrm_llava.instruct.importers.common import (
    ImportContext,
    Row,
    Skip,
    json_list,
    short_answer_prompt,
    text_of,
)

SPLITS = ("train", "val_easy", "val_hard")


def read(src: Path, ctx: ImportContext) -> Iterator[Row | Skip]:
    qa = src if src.is_file() else next((p for p in (src / "qa" / f"{ctx.split}_qa.json", src / f"{ctx.split}_qa.json")
                                         if p.is_file()), None)
    if qa is None:
        raise UserError(f"{src}: no qa/{ctx.split}_qa.json. Fix: pass the DVQA folder (qa/ + images/) as --src "
                        f"and one of its splits as --split ({', '.join(SPLITS)})")
    images = ctx.images or next((p for p in (qa.parent.parent / "images", qa.parent / "images") if p.is_dir()),
                                qa.parent / "images")
    for index, (where, rec) in enumerate(json_list(qa, "DVQA QA file")):
        if not isinstance(rec, dict):
            yield Skip(where, "not a JSON object", "dvqa")
            continue
        try:
            question = text_of(rec.get("question"), where, "question")
            answer = text_of(rec.get("answer"), where, "answer")
        except DataError:
            yield Skip(where, "question or answer is not text", "dvqa")
            continue
        if not question.strip() or not answer.strip():
            yield Skip(where, "empty question or answer", "dvqa")
            continue
        image = images / str(rec.get("image", ""))
        if not rec.get("image") or not image.is_file():
            yield Skip(where, "image file not found", "dvqa")
            continue
        qid = rec.get("question_id", index)
        extra = {"question_id": qid}
        kind = rec.get("template_id", rec.get("question_type"))
        if kind is not None:
            extra["template_id"] = kind
        bbox = rec.get("answer_bbox", rec.get("bbox_answer"))
        if bbox:
            extra["answer_bbox"] = bbox
        prompt = short_answer_prompt(question) if ctx.prompts else question
        yield Row(f"dvqa-{ctx.split}-{qid}", [("human", prompt), ("gpt", answer)], "dvqa",
                  image=image, image_name=f"dvqa/images/{image.name}", extra=extra, where=where)
