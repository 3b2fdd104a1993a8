"""Path rules in one place: a path named by a data file stays inside its root, and a command never
writes over what it was given to read.

`confined` is used for every path that comes from data (training images, benchmark images, source
images of `data build`): absolute paths, drive letters, NUL bytes, `..` and symlinks that lead out
of the root are refused with `UnsafePathError`, whatever the file says. `check_output_apart`
refuses an output that is, contains or sits inside an input.

    from lrm_llava.paths import confined, check_output_apart
    image = confined(image_root, sample["image"], where="train.json:12 (id 'a')")
    check_output_apart(out, [source], "--out")
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from pathlib import Path

from lrm_llava.errors import DataError, UserError


class UnsafePathError(DataError):
    """A path from a data file that escapes its root (always fatal, never skipped)."""


def check_relative(relative: str, *, where: str = "sample", what: str = "image") -> str:
    """The lexical half of `confined`, for when no root is at hand: a non-empty relative path
    without NUL bytes or a drive letter that does not climb out with `..`; returns it normalised."""
    if not isinstance(relative, str) or not relative.strip():
        raise UnsafePathError(f"{where}: {what} path {relative!r} is empty or not a string. "
                              f"Fix: give the {what} path relative to its root.")
    if "\x00" in relative:
        raise UnsafePathError(f"{where}: {what} path {relative!r} contains a NUL byte. Fix: repair the path.")
    if relative.startswith(("/", "\\")) or (len(relative) > 1 and relative[1] == ":"):
        raise UnsafePathError(f"{where}: {what} path {relative!r} is absolute; {what} paths must be relative "
                              f"and stay inside the {what} root. Fix: give the path relative to that root.")
    norm = posixpath.normpath(relative.replace("\\", "/"))
    if norm == ".." or norm.startswith("../"):
        raise UnsafePathError(f"{where}: {what} path {relative!r} leads outside the {what} root with '..'; "
                              f"{what} paths must be relative and stay inside it. Fix: repair the path.")
    return norm


def confined(root: str | Path, relative: str, *, where: str = "sample", what: str = "image") -> Path:
    """`root/relative`, resolved (symlinks followed), refusing anything that ends outside `root`."""
    check_relative(relative, where=where, what=what)
    root_resolved = Path(root).resolve()
    candidate = (root_resolved / relative.replace("\\", "/")).resolve()
    if not candidate.is_relative_to(root_resolved):
        raise UnsafePathError(f"{where}: {what} path {relative!r} leads outside the {what} root {root_resolved} "
                              f"('..' or a symlink); {what} paths must be relative and stay inside it. "
                              f"Fix: keep the {what}s inside {root_resolved}.")
    return candidate


def check_output_apart(out: str | Path, inputs: Iterable[str | Path | None], flag: str = "--out") -> None:
    """Refuse an output path that is one of the inputs or lies inside one: a command never writes
    over or into what it reads (symlinks resolved). An output folder may hold an input: it only
    gets new files beside it."""
    target = Path(out).resolve()
    for given in inputs:
        if given is None:
            continue
        source = Path(given).resolve()
        if target == source or target.is_relative_to(source):
            raise UserError(f"{flag} {out} would write over or into the input {given}. "
                            f"Fix: give {flag} a path outside the inputs.")


def output_folder(out: str | Path, inputs: Iterable[str | Path | None] = (), flag: str = "--out") -> Path:
    """The one guard of an output folder: apart from the inputs (`check_output_apart`), created if
    missing, and a clear `UserError` when a file stands in the way or it cannot be made."""
    folder = Path(out)
    check_output_apart(folder, inputs, flag)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{flag} {out} is a file, not a folder. Fix: give {flag} a folder path.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{flag} {out}: cannot make the folder ({err.strerror or err}). Fix: give {flag} a "
                        "writable folder path that is not under a file.") from None
    return folder
