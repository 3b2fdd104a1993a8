"""Reading English LLaVA-format sources for the build: a thin adapter over the one sample rule.

A source is a JSON list of samples or JSONL (one sample per line), read with
`lrm_llava.jsonio.read_records` and checked with `lrm_llava.data.reader.validate_sample`, the rule
`train` applies: whatever `data build` accepts, `train` accepts. Errors name the file, the line (or
list index) and the sample id. `<image>` tokens are removed from the text here and put back by the
builders exactly once, at the front of the first human turn, when `image` is present; image paths
must stay inside `--image-root` (symlinks included) when one is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lrm_llava.chat.templates import IMAGE_TOKEN
from lrm_llava.data.reader import UniqueIds, normalise_sample, validate_sample
from lrm_llava.instruct.tasks import with_image
from lrm_llava.jsonio import read_records
from lrm_llava.paths import check_relative, confined


@dataclass
class Source:
    """One English sample, normalised."""

    source_id: str
    """The sample's `id` (or "<file stem>-<index>" when it has none)."""
    where: str
    """"file:line" or "file[index]", for messages."""
    fields: dict
    """The original sample minus `conversations` (kept in every output sample)."""
    turns: list[tuple[str, str]]
    """(role, text) with `<image>` removed and outer whitespace stripped."""
    has_image: bool
    origin: str = ""
    """The source file it came from (for per-source keep-English overrides)."""
    extra: dict = field(default_factory=dict)


def normalise(record: object, where: str, index: int, stem: str, image_root: str | None = None) -> Source:
    """Validate one record as `train` would read the sample built from it, and turn it into a
    `Source`; raises DataError naming the file, the line and the sample.

    The one rule is `lrm_llava.data.reader.validate_sample`. Before it, two repairs that LLaVA's own
    sources need: a record without an `id` gets "<file stem>-<index>", and `<image>` may stand
    anywhere in the first question (LLaVA-665k puts it at the end): it is moved to the front."""
    if isinstance(record, dict) and "id" not in record:
        record = {**record, "id": f"{stem}-{index}"}
    sample = normalise_sample(record, where)
    has_image = sample.get("image") is not None
    turns = [(turn["from"], turn["value"].replace(IMAGE_TOKEN, "").strip()) for turn in sample["conversations"]]
    sid = str(sample["id"])
    # the sample as the build will write it must pass the same rule (e.g. a turn that held only <image>)
    validate_sample({**sample, "conversations": with_image([{"from": r, "value": t} for r, t in turns], has_image)},
                    where)
    if has_image and image_root is not None:
        confined(image_root, sample["image"], where=f"{where} (id {sid!r})")
    elif has_image:
        check_relative(sample["image"], where=f"{where} (id {sid!r})")
    fields = {k: v for k, v in sample.items() if k != "conversations"}
    return Source(source_id=sid, where=where, fields=fields, turns=turns, has_image=has_image)


def load_sources(paths: list[str | Path], image_root: str | None = None) -> list[Source]:
    """Every sample of every source file, in order; ids must be unique over all of them."""
    out: list[Source] = []
    ids = UniqueIds()
    for path in paths:
        path = Path(path)
        for i, (where, record) in enumerate(read_records(path, "source file")):
            src = normalise(record, where, i, path.stem, image_root)
            ids.add(src.source_id, where)
            src.origin = str(path)
            out.append(src)
    return out


def english_conversations(src: Source) -> list[dict]:
    """The sample's conversations with `<image>` once at the front of the first human turn."""
    return with_image([{"from": r, "value": t} for r, t in src.turns], src.has_image)
