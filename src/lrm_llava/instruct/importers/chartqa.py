"""ChartQA (vis-nlp/ChartQA), the release's `ChartQA Dataset/` folder:

    ChartQA Dataset/train/train_human.json       [{"imgname": "41699051005347.png", "query": ..., "label": ...}]
    ChartQA Dataset/train/train_augmented.json   same fields (machine-generated questions)
    ChartQA Dataset/train/png/                   every chart of the split, shared by both files
    (val/ and test/ alike; annotations/ and tables/ are not needed)

`--src` is the `ChartQA Dataset` folder (or one split folder). Labels are kept verbatim (no
rounding, no added full stop); the question gets LLaVA-1.5's short-answer sentence. The charts are
written once, under `chartqa/png/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lrm_llava.errors import DataError
from lrm_llava.instruct.importers.common import (
    ImportContext,
    Row,
    Skip,
    json_list,
    require_dir,
    short_answer_prompt,
    text_of,
)

PARTS = ("human", "augmented")


def read(src: Path, ctx: ImportContext) -> Iterator[Row | Skip]:
    split_dir = src / ctx.split if (src / ctx.split).is_dir() else src
    require_dir(split_dir, "ChartQA split folder",
                "pass the release's 'ChartQA Dataset' folder (holding train/, val/, test/) as --src")
    png = ctx.images or split_dir / "png"
    files = [(part, split_dir / f"{ctx.split}_{part}.json") for part in PARTS]
    if not any(f.is_file() for _, f in files):
        raise DataError(f"{split_dir}: neither {files[0][1].name} nor {files[1][1].name} is there. "
                        "Fix: pass the 'ChartQA Dataset' folder and the split (--split train|val|test)")
    for part, path in files:
        if not path.is_file():
            continue
        source = f"chartqa-{part}"
        for index, (where, rec) in enumerate(json_list(path, "ChartQA JSON")):
            if not isinstance(rec, dict) or not all(k in rec for k in ("imgname", "query", "label")):
                yield Skip(where, "not an {imgname, query, label} object", source)
                continue
            try:
                query, label = text_of(rec["query"], where, "query"), text_of(rec["label"], where, "label")
            except DataError:
                yield Skip(where, "query or label is not text", source)
                continue
            if not query.strip() or not label.strip():
                yield Skip(where, "empty query or label", source)
                continue
            image = png / str(rec["imgname"])
            if not image.is_file():
                yield Skip(where, "image file not found", source)
                continue
            question = short_answer_prompt(query) if ctx.prompts else query
            yield Row(f"chartqa-{ctx.split}-{part}-{index}", [("human", question), ("gpt", label)], source,
                      image=image, image_name=f"chartqa/png/{image.name}", where=where)
