"""User-facing errors.

Raise `UserError` (or a subclass) for anything the user can fix: bad input files, unknown language
codes, missing table entries, failed API calls after retries. The message must name the file, the
line or sample id, what is wrong and what to do. The CLI prints it without a traceback and exits 1.
"""

from __future__ import annotations


class UserError(Exception):
    """An error the user can fix; its message is shown as is."""


class DataError(UserError):
    """Malformed input data (names the file, line/index and sample id)."""


class TranslationError(UserError):
    """A translation backend failed for good (after retries) or a table entry is missing."""


def describe_changes(built: dict, wanted: dict, ignore: tuple[str, ...] = ()) -> str:
    """"key: old -> new, ..." for the keys of `wanted` whose value differs in `built` ("" if none):
    the part of a "made with other settings" error that says what differs."""
    changed = sorted(k for k in wanted if k not in ignore and built.get(k) != wanted[k])
    return ", ".join(f"{k}: {built.get(k)} -> {wanted[k]}" for k in changed)
