"""GeoQA (chen-judge/GeoQA, `data.zip` unpacked): `GeoQA3/json/<n>.json` + `GeoQA3/image/<n>.png`.

A problem is `{"id": 1, "subject": "如图,AB∥CD,直线EF交AB于点E,...,则∠EGF等于()", "choices": ["50°",
"60°", "65°", "70°"], "label": 2, "comment": "<worked solution, Chinese>", "formal_point": ["平行线",
"角平分线"]}`, its diagram `image/<same number>.png`: the problem text is Chinese and `label` (an int)
indexes `choices` from 0. `comment` is kept as `solution`; the pickled splits' `manual_program`,
`numbers` and `token_list` are not needed. The samples stay Chinese: they carry `lang: "zh"` and source
"geoqa", which `data build` never machine-translates (the paper trains on math in its own
language). The layout is LLaVA's multiple-choice one with the registry's Chinese letter instruction
(the sentence the Chinese benchmarks use). The official train/val/test split ships as pickles only:
exclude ids with `--test-ids FILE` (one id per line).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lrm_llava import languages
from lrm_llava.errors import DataError
from lrm_llava.instruct.importers.common import (
    LETTERS,
    ImportContext,
    Row,
    Skip,
    multiple_choice_prompt,
    require_dir,
    text_of,
)
from lrm_llava.jsonio import read_json, read_text

LANG = "zh"


def read(src: Path, ctx: ImportContext) -> Iterator[Row | Skip]:
    root = src / "GeoQA3" if (src / "GeoQA3" / "json").is_dir() else src
    folder = require_dir(root / "json", "GeoQA json folder", "pass the unpacked GeoQA3 folder (json/ + image/) as --src")
    images = ctx.images or root / "image"
    excluded = set()
    if ctx.test_ids:
        excluded = {line.strip() for line in read_text(ctx.test_ids, "excluded ids").splitlines() if line.strip()}
    suffix = languages.get(LANG).option_suffix

    def order(p: Path):
        return (0, int(p.stem), "") if p.stem.isdigit() else (1, 0, p.stem)

    for path in sorted(folder.glob("*.json"), key=order):
        where = f"json/{path.name}"
        doc = read_json(path, "GeoQA problem")
        if not isinstance(doc, dict):
            yield Skip(where, "not a GeoQA problem object", "geoqa")
            continue
        pid = str(doc.get("id", path.stem))
        if pid in excluded or path.stem in excluded:
            yield Skip(where, "excluded id", "geoqa")
            continue
        try:
            subject = text_of(doc.get("subject"), where, "subject")
        except DataError:
            yield Skip(where, "no problem text", "geoqa")
            continue
        choices, label = doc.get("choices"), doc.get("label")
        if isinstance(label, str) and len(label) == 1 and label.upper() in LETTERS:
            label = LETTERS.index(label.upper())
        if not isinstance(choices, list) or not choices or not isinstance(label, int) or not 0 <= label < len(choices):
            yield Skip(where, "choices or label missing", "geoqa")
            continue
        image = images / f"{path.stem}.png"
        if not image.is_file():
            yield Skip(where, "image file not found", "geoqa")
            continue
        options = [str(c) for c in choices]
        prompt = multiple_choice_prompt(subject, options, suffix) if ctx.prompts else \
            "\n".join([subject, *(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))])
        extra: dict = {"lang": LANG, "answer_lang": LANG, "question_id": pid}
        if isinstance(doc.get("comment"), str) and doc["comment"].strip():
            extra["solution"] = doc["comment"]
        if isinstance(doc.get("formal_point"), list) and doc["formal_point"]:
            extra["formal_point"] = doc["formal_point"]
        yield Row(f"geoqa-{pid}", [("human", prompt), ("gpt", LETTERS[label])], "geoqa", image=image,
                  image_name=f"geoqa/image/{image.name}", extra=extra, where=where)
