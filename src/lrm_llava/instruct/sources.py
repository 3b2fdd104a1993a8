"""Reading English LLaVA-format sources for the build, with errors that point at the bad line.

A source is a JSON list of samples or JSONL (one sample per line). Each sample needs
`conversations`: a non-empty list of `{"from": "human"|"gpt", "value": str}` that starts with a
human turn and holds at least one gpt turn. `<image>` tokens are removed from the text here and put
back by the builders exactly once, at the front of the first human turn, when `image` is present.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lrm_llava.errors import DataError

_ROLES = {"human": "human", "user": "human", "gpt": "gpt", "assistant": "gpt"}


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


def read_json_records(path: Path) -> list[tuple[str, object]]:
    """(location, record) pairs from a JSON list or a JSONL file; malformed JSON names its line."""
    if not path.is_file():
        raise DataError(f"source file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(
                f"{path}:{err.lineno}:{err.colno}: malformed JSON ({err.msg}); fix the file and rerun"
            ) from None
        return [(f"{path}[{i}]", rec) for i, rec in enumerate(data)]
    records = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append((f"{path}:{lineno}", json.loads(line)))
        except json.JSONDecodeError as err:
            raise DataError(
                f"{path}:{lineno}:{err.colno}: malformed JSON line ({err.msg}); fix or remove the line and rerun"
            ) from None
    return records


def normalise(record: object, where: str, index: int, stem: str) -> Source:
    """Validate one record and turn it into a `Source`; raises DataError naming the sample."""
    if not isinstance(record, dict):
        raise DataError(f"{where}: a sample must be a JSON object, got {type(record).__name__}")
    sid = str(record.get("id", f"{stem}-{index}"))
    label = f"{where} (id {sid!r})"
    conv = record.get("conversations")
    if not isinstance(conv, list) or not conv:
        raise DataError(f"{label}: 'conversations' must be a non-empty list of turns")
    turns: list[tuple[str, str]] = []
    for k, turn in enumerate(conv):
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            raise DataError(f"{label}: conversations[{k}] needs a string 'value'")
        role = _ROLES.get(str(turn.get("from", "")).lower())
        if role is None:
            raise DataError(f"{label}: conversations[{k}] has 'from' {turn.get('from')!r}; use human or gpt")
        turns.append((role, turn["value"].replace("<image>", "").strip()))
    if turns[0][0] != "human" or not any(r == "gpt" for r, _ in turns):
        raise DataError(f"{label}: a conversation must start with a human turn and hold a gpt turn")
    image = record.get("image")
    if image is not None:
        if not isinstance(image, str) or not image:
            raise DataError(f"{label}: 'image' must be a relative path string")
        p = PurePosixPath(image.replace("\\", "/"))
        if p.is_absolute() or ".." in p.parts:
            raise DataError(f"{label}: image path {image!r} must be relative and stay under the image root")
    fields = {k: v for k, v in record.items() if k != "conversations"}
    return Source(source_id=sid, where=where, fields=fields, turns=turns, has_image=image is not None)


def load_sources(paths: list[str | Path]) -> list[Source]:
    """Every sample of every source file, in order."""
    out: list[Source] = []
    for path in paths:
        path = Path(path)
        for i, (where, record) in enumerate(read_json_records(path)):
            src = normalise(record, where, i, path.stem)
            src.origin = str(path)
            out.append(src)
    return out


def english_conversations(src: Source) -> list[dict]:
    """The sample's conversations with `<image>` once at the front of the first human turn."""
    from lrm_llava.instruct.tasks import with_image

    return with_image([{"from": r, "value": t} for r, t in src.turns], src.has_image)
