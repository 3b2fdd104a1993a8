"""The one reuse rule of every pipeline step.

A step writes its outputs into one folder and, once they are complete, the marker `DONE` there:
`{"settings": {...}, ...}` (facts such as the seconds it took may follow the settings). The
settings are everything the outputs depend on except paths: the step's own options and, for a step
that consumes another step's outputs, the `digest` of that step's recorded settings (so outputs
made from an input that was made again differently are not reused either). Before a step runs,
`reuse(folder, settings)` decides, for every step the same way:

- a marker whose settings are equal, key by key: the outputs are reused, the step is skipped;
- no marker: the step runs (it may resume from what a killed run of it left: a training stage from
  its checkpoints, an evaluation from its finished predictions) and `mark_done` records it;
- a marker with other settings: a `UserError` that names every differing key (made -> asked) and
  the fix, never a silent reuse nor a silent overwrite.

    if not reuse(folder, settings, made="built"):
        ...                                    # make the outputs
        mark_done(folder, settings)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from lrm_llava.errors import DataError, UserError, describe_changes
from lrm_llava.jsonio import read_json, write_json

MARKER = "DONE"
"""File name of the marker a step writes into its output folder once its outputs are complete."""

DEFAULT_FIX = "remove it or pass another --out"


def plain(settings: dict) -> dict[str, Any]:
    """`settings` as they read back from the marker (tuples become lists, other values their text),
    so that what is asked and what was recorded compare equal when they are."""
    return json.loads(json.dumps(settings, ensure_ascii=False, default=str))


def digest(settings: dict | None) -> str | None:
    """A short fingerprint of recorded settings (None for none): how a step records its inputs."""
    if settings is None:
        return None
    text = json.dumps(plain(settings), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def recorded(folder: str | Path) -> dict[str, Any] | None:
    """The settings recorded in `folder`'s marker; None when there is no marker (not made, or killed
    before the end)."""
    marker = Path(folder) / MARKER
    if not marker.is_file():
        return None
    data = read_json(marker, "step marker")
    settings = data.get("settings") if isinstance(data, dict) else None
    if not isinstance(settings, dict):
        raise DataError(f"{marker}: not a step marker (no \"settings\" object). Fix: remove it, and the "
                        "step is made again.")
    return settings


def made_from(folder: str | Path) -> str | None:
    """The `digest` of the settings recorded in `folder` (None: unrecorded): the input key of the
    steps that consume its outputs."""
    return digest(recorded(folder))


def reuse(folder: str | Path, settings: dict, *, made: str = "made", fix: str = DEFAULT_FIX) -> bool:
    """The rule (module docstring): True when `folder`'s marker records `settings`, False when it
    has no marker; a UserError "<folder> was <made> with other settings (key: made -> asked, ...):
    <fix>" when it records others."""
    before = recorded(folder)
    if before is None:
        return False
    asked = plain(settings)
    if before != asked:
        changed = describe_changes(before, {k: asked.get(k) for k in {**before, **asked}})
        raise UserError(f"{folder} was {made} with other settings ({changed}): {fix}")
    return True


def mark_done(folder: str | Path, settings: dict, **facts: Any) -> Path:
    """Record that `folder`'s outputs are complete and were made with `settings` (written last,
    atomically, after the outputs)."""
    return write_json(Path(folder) / MARKER, {"settings": plain(settings), **plain(facts)})
