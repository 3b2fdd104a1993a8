"""LLaVA's own layout: `llava_v1_5_mix665k.json` (LLaVA-1.5) and ShareGPT4V's
`share-captioner_coco_lcs_sam_1246k_1107.json` / `sharegpt4v_instruct_gpt4-vision_cap100k.json`.

A JSON list of `{"id", "image": "coco/train2017/000000033471.jpg", "conversations": [...]}`; the
image paths are relative to one data folder that holds each source's own image folder (`coco/`,
`gqa/`, `ocr_vqa/`, `textvqa/`, `vg/`; ShareGPT4V also `sam/`, `llava/llava_pretrain/`, `wikiart/`,
`share_textvqa/`, `web-celebrity/`, `web-landmark/`): pass it as `--images`. Without it the JSON's
folder is tried, then the two above it: LLaVA-1.5 keeps the JSON in `playground/data/` beside the
image folders, ShareGPT4V in `data/sharegpt4v/` and LLaVA-NeXT in `playground/data/llava/llava_sft/`,
both under the data folder. What the release really holds, and what is done about it:

- text-only ShareGPT conversations without `image` (kept as text-only samples, source "text");
- ids that are numbers in some rows and strings in others (written as strings);
- `<image>` at the end of the first turn instead of the front (moved to the front);
- a conversation that starts with a gpt turn (dropped, as LLaVA's own loader does) or ends with an
  unanswered human turn (dropped); turns that do not alternate or are empty (the row is skipped);
- OCR-VQA images saved with another extension than the JSON says (`.gif`/`.png` for `.jpg`):
  found by their stem and written under their real name.

The answer-format sentences LLaVA-1.5 added are already in these files: nothing is added.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from lrm_llava.chat.templates import IMAGE_TOKEN
from lrm_llava.data.reader import ROLE_ALIASES
from lrm_llava.instruct.importers.common import ImportContext, Row, Skip, json_list, require_file
from lrm_llava.paths import UnsafePathError, check_relative

_OTHER_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp")


def _find_image(roots: list[Path], rel: str) -> Path | None:
    for root in roots:
        path = root / rel
        if path.is_file():
            return path
        for suffix in _OTHER_SUFFIXES:
            other = path.with_suffix(suffix)
            if other.is_file():
                return other
    return None


def _turns(conv, where: str) -> list[tuple[str, str]] | str:
    """(role, text) turns, or the reason the conversation cannot be used."""
    if not isinstance(conv, list) or not conv:
        return "no conversations"
    turns: list[tuple[str, str]] = []
    for turn in conv:
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            return "a turn is not a {from, value} object with text"
        role = ROLE_ALIASES.get(str(turn.get("from", "")).lower())
        if role is None:
            return f"unknown speaker {turn.get('from')!r}"
        turns.append((role, turn["value"]))
    if turns and turns[0][0] == "gpt":  # LLaVA's loader drops a leading assistant turn too
        turns = turns[1:]
    if turns and turns[-1][0] == "human":
        turns = turns[:-1]
    if not turns:
        return "no question with an answer"
    for k, (role, _) in enumerate(turns):
        if role != ("human", "gpt")[k % 2]:
            return "turns do not alternate human/gpt"
    if any(not text.replace(IMAGE_TOKEN, "").strip() for _, text in turns[1:]) or not turns[0][1].strip():
        return "an empty turn"
    return turns


def read(src: Path, ctx: ImportContext, default_text_source: str = "text") -> Iterator[Row | Skip]:
    require_file(src, "LLaVA JSON", "pass the release's JSON file, e.g. --src llava_v1_5_mix665k.json")
    roots = [ctx.images] if ctx.images else [src.parent, *list(src.parent.parents)[:2]]
    for index, (where, record) in enumerate(json_list(src, "LLaVA JSON")):
        if not isinstance(record, dict):
            yield Skip(where, "not a JSON object")
            continue
        rid = record.get("id")
        sid = f"{src.stem}-{index}" if rid is None or str(rid).strip() == "" else str(rid)
        where = f"{where} (id {sid!r})"
        image = record.get("image")
        source = PurePosixPath(str(image)).parts[0] if isinstance(image, str) and image else default_text_source
        turns = _turns(record.get("conversations"), where)
        if isinstance(turns, str):
            yield Skip(where, turns, source)
            continue
        extra = {k: v for k, v in record.items() if k not in ("id", "image", "conversations")}
        if image is None:
            if any(IMAGE_TOKEN in t for _, t in turns):
                yield Skip(where, f"{IMAGE_TOKEN} in a sample without an image", source)
                continue
            yield Row(sid, turns, source, extra=extra, where=where)
            continue
        if not isinstance(image, str):
            yield Skip(where, "image is not one path (several images per sample)", source)
            continue
        try:
            rel = check_relative(image, where=where)
        except UnsafePathError:
            yield Skip(where, "image path leaves the image folder", source)
            continue
        found = _find_image(roots, rel)
        if found is None:
            yield Skip(where, "image file not found", source)
            continue
        name = str(PurePosixPath(rel).with_suffix(found.suffix))
        yield Row(sid, turns, source, image=found, image_name=name, extra=extra, where=where)
