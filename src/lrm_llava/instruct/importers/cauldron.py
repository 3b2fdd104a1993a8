"""HuggingFaceM4/the_cauldron: one folder per subset of parquet shards
(`the_cauldron/<subset>/train-00000-of-00001-<hash>.parquet`), each row
`{"images": [{"bytes": ..., "path": ...}], "texts": [{"user": ..., "assistant": ..., "source": ...}]}`.

`--src` is the_cauldron's folder, one subset's folder or one shard. A row becomes one sample: its
`texts` are the turns (user -> human, assistant -> gpt), its one image is written from the bytes
(`path` is null in the release) under `cauldron/<subset>/`. The texts are kept as the Cauldron wrote
them and nothing is added: multiple-choice subsets already end the question with "Answer with the
letter." and answer "Answer: B" (ai2d: "Question: ...\nChoices:\nA. ...\nAnswer with the letter.",
one image with several such turns); short-answer subsets (chartqa, docvqa, vqav2, ...) append one of
its brevity hints ("\nAnswer briefly.", "\nQuick response, please.", ...) and answer capitalised,
with a full stop ("Yes.", "23."); geomverse asks the bare question and answers with a worked
solution. Rows with several images (nlvr2, mimic_cgd, ...; a LLaVA sample holds one) are skipped
and counted. Needs pyarrow (`pip install 'lrm-llava[hf]'`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from lrm_llava.errors import UserError
from lrm_llava.instruct.importers.common import ImportContext, Row, Skip, image_suffix


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "cauldron"


def shards(src: Path) -> list[Path]:
    files = [src] if src.is_file() else sorted(src.rglob("*.parquet"))
    if not files:
        raise UserError(f"{src}: no .parquet shard found. Fix: pass the_cauldron folder, a subset folder or a shard")
    return files


def read(src: Path, ctx: ImportContext) -> Iterator[Row | Skip]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError("reading the_cauldron needs pyarrow: pip install 'lrm-llava[hf]'") from None
    for shard in shards(src):
        subset = _slug(shard.parent.name)
        tag = _slug(shard.stem)
        row_index = 0
        for batch in pq.ParquetFile(shard).iter_batches(batch_size=64, columns=["images", "texts"]):
            for rec in batch.to_pylist():
                index, row_index = row_index, row_index + 1
                where = f"{subset}/{shard.name}[{index}]"
                texts = rec.get("texts") or []
                source = _slug(next((t.get("source") for t in texts if isinstance(t, dict) and t.get("source")), subset))
                turns: list[tuple[str, str]] = []
                for t in texts:
                    if not isinstance(t, dict) or not isinstance(t.get("user"), str) or not isinstance(t.get("assistant"), str):
                        turns = []
                        break
                    turns += [("human", t["user"]), ("gpt", t["assistant"])]
                if not turns or any(not text.strip() for _, text in turns):
                    yield Skip(where, "missing or empty user/assistant text", source)
                    continue
                images = [i for i in (rec.get("images") or []) if i is not None]
                if len(images) > 1:
                    yield Skip(where, "several images (a LLaVA sample holds one)", source)
                    continue
                sid = f"cauldron-{subset}-{tag}-{index}"
                if not images:
                    yield Row(sid, turns, source, extra={"cauldron_subset": subset}, where=where)
                    continue
                data = images[0].get("bytes") if isinstance(images[0], dict) else None
                if not data:
                    yield Skip(where, "image without bytes", source)
                    continue
                path = images[0].get("path")
                suffix = PurePosixPath(path).suffix.lower() if isinstance(path, str) and PurePosixPath(path).suffix \
                    else image_suffix(data)
                yield Row(sid, turns, source, image=bytes(data), image_name=f"cauldron/{subset}/{tag}-{index}{suffix}",
                          extra={"cauldron_subset": subset}, where=where)
