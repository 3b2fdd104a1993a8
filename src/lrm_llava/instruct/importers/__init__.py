"""`lrm-llava data import`: the paper's sources, read from the layouts their public releases ship,
written as one LLaVA JSON file that `data build` (and `train`) read.

    from lrm_llava.instruct.importers import ImportConfig, run_import
    stats = run_import(ImportConfig(format="chartqa", src="ChartQA Dataset", out="data/chartqa.json"))
    stats["counts"], stats["skipped"]["reasons"]

| format | release layout read | prompt added |
|--------|---------------------|--------------|
| `llava` | `llava_v1_5_mix665k.json` + image folders (`coco/`, `gqa/`, ...) under `--images` | none (already there) |
| `sharegpt4v` | ShareGPT4V-PT / instruct JSON (in `data/sharegpt4v/`), same layout | none |
| `chartqa` | `ChartQA Dataset/<split>/{<split>_human,<split>_augmented}.json` + `<split>/png/` | short answer |
| `docvqa` | `{"data": [...]}` QA file + `documents/` or `spdocvqa_images/` | short answer |
| `dvqa` | `qa/<split>_qa.json` (train, val_easy, val_hard) + `images/` | short answer |
| `ai2d` | `questions/*.png.json` + `images/`, `abc_images/` + `ai2d_test_ids.csv` | multiple choice |
| `geoqa` | `GeoQA3/json/*.json` + `GeoQA3/image/` (Chinese, kept Chinese) | multiple choice (zh) |
| `cauldron` | HuggingFaceM4/the_cauldron parquet shards | none (the Cauldron has its own) |

Images land under one root (`--image-root`, default: the output's folder) at `<format>/...`
(LLaVA/ShareGPT4V keep their own `coco/...` paths), hard-linked where possible, else copied. The
output passes `lrm_llava.data.reader.validate_sample`; what could not be used is skipped and
counted per reason in `<out stem>.stats.json`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from lrm_llava.data.reader import validate_sample
from lrm_llava.errors import DataError, UserError
from lrm_llava.instruct.importers import ai2d, cauldron, chartqa, docvqa, dvqa, geoqa, llava
from lrm_llava.instruct.importers.common import (
    ImportContext,
    Row,
    Skip,
    SkipCounter,
    conversations,
    place_image,
)
from lrm_llava.jsonio import write_json, write_json_list
from lrm_llava.paths import check_output_apart, confined

FORMATS = {
    "llava": partial(llava.read, default_text_source="sharegpt"),
    "sharegpt4v": llava.read,
    "chartqa": chartqa.read,
    "docvqa": docvqa.read,
    "dvqa": dvqa.read,
    "ai2d": ai2d.read,
    "geoqa": geoqa.read,
    "cauldron": cauldron.read,
}
"""Every format `data import` reads: name -> reader (`read(src, ctx)` yields `Row`s and `Skip`s)."""


@dataclass
class ImportConfig:
    """Everything the `data import` job needs."""

    format: str
    """The release's layout: llava, sharegpt4v, chartqa, docvqa, dvqa, ai2d, geoqa or cauldron."""
    src: str
    """The release's file or folder (see each format)."""
    out: str
    """Output LLaVA JSON list; `<stem>.stats.json` is written beside it."""
    image_root: str | None = None
    """Where the images are written (default: the output's folder); pass it as `data build --image-root`."""
    images: str | None = None
    """The release's image folder, where it is not found from --src (LLaVA/ShareGPT4V: the data folder)."""
    split: str = "train"
    """Split to read (chartqa/docvqa: train, val, test; dvqa: train, val_easy, val_hard; ai2d: train, test, all)."""
    test_ids: str | None = None
    """Ids to exclude: AI2D's official ai2d_test_ids.csv (found beside the folder by default); GeoQA: any list."""
    prompts: bool = True
    """Add LLaVA-1.5's answer-format sentence to short-answer and multiple-choice questions."""
    limit: int | None = None
    """Stop after this many samples (a quick look at a large release)."""


def run_import(cfg: ImportConfig) -> dict:
    """Read `cfg.src` in `cfg.format`'s layout and write the LLaVA JSON and its stats; returns the stats."""
    reader = FORMATS.get(cfg.format)
    if reader is None:
        raise UserError(f"unknown import format {cfg.format!r}; use one of {', '.join(FORMATS)}")
    src, out = Path(cfg.src), Path(cfg.out)
    if not src.exists():
        raise UserError(f"{src}: not found. Fix: pass the release's file or folder as --src")
    root = Path(cfg.image_root) if cfg.image_root else out.parent
    stats_path = out.with_name(out.stem + ".stats.json")
    check_output_apart(out, [src], "--out")
    check_output_apart(stats_path, [src], "--out (its stats file)")
    ctx = ImportContext(images=Path(cfg.images) if cfg.images else None, split=cfg.split, prompts=cfg.prompts,
                        test_ids=Path(cfg.test_ids) if cfg.test_ids else None, limit=cfg.limit)
    samples: list[dict] = []
    counts: Counter = Counter()
    skipped = SkipCounter()
    seen: set[str] = set()
    written = reused = renamed = 0
    for item in reader(src, ctx):
        if isinstance(item, Skip):
            skipped.add(item)
            continue
        sample = _sample(item)
        if sample["id"] in seen:  # LLaVA-665k repeats ids across its sources: keep both samples
            k = 2
            while f"{sample['id']}-{k}" in seen:
                k += 1
            sample["id"] = f"{sample['id']}-{k}"
            renamed += 1
        try:
            validate_sample(sample, item.where or sample["id"])
        except DataError as err:
            skipped.add(Skip(item.where, "invalid sample: " + str(err).split("): ", 1)[-1].split(". Fix")[0],
                             item.source))
            continue
        if item.image is not None:
            confined(root, item.image_name, where=item.where)
            if place_image(item.image, root, item.image_name):
                written += 1
            else:
                reused += 1
        seen.add(sample["id"])
        samples.append(sample)
        counts[item.source] += 1
        if cfg.limit is not None and len(samples) >= cfg.limit:
            break
    if not samples:
        raise DataError(f"{src}: no usable sample in the {cfg.format} layout "
                        f"(skipped: {dict(skipped.reasons) or 'nothing read'}). Fix: check --src, --split and --images")
    stats = {
        "format": cfg.format, "src": str(src), "out": str(out), "image_root": str(root), "split": cfg.split,
        "total": len(samples), "counts": dict(sorted(counts.items())),
        "images": {"written": written, "already_there": reused}, "renamed_duplicate_ids": renamed,
        "skipped": skipped.as_dict(),
    }
    write_json_list(out, samples)
    write_json(stats_path, stats, indent=2)
    stats["stats_path"] = str(stats_path)
    return stats


def _sample(row: Row) -> dict:
    has_image = row.image is not None
    sample = {"id": row.id}
    if has_image:
        sample["image"] = row.image_name
    sample["conversations"] = conversations(row.turns, has_image)
    sample["source"] = row.source
    sample.update({k: v for k, v in row.extra.items() if k not in sample})
    return sample


__all__ = ["FORMATS", "ImportConfig", "run_import"]
