"""The one home of reading and writing the JSON files that every part exchanges.

Readers turn every problem into a `DataError` that names the file, the line and what to do (a file
that is not UTF-8, malformed JSON, nesting too deep to parse, a JSONL line that is not an object);
writers are atomic: the text goes to a temporary file beside the target and replaces it in one
`os.replace`, so a killed job never leaves half a file behind, and a write that fails (read-only
folder, full disk, a folder in the way) is a `UserError` naming the path, with nothing left over.

    from lrm_llava.jsonio import read_json, iter_jsonl, read_records, write_json, write_text
    config = read_json("world/world.json")
    for lineno, row in iter_jsonl("predictions.jsonl"): ...
    for where, record in read_records("samples.json"): ...      # a JSON list or JSONL, "file:line"
    write_json("out/results.json", rows, indent=1)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from lrm_llava.errors import DataError, UserError


def refuse_utf16(path: Path) -> None:
    """DataError when the file starts with a UTF-16 byte-order mark (data must be UTF-8)."""
    with Path(path).open("rb") as fh:
        head = fh.read(2)
    if head in (b"\xff\xfe", b"\xfe\xff"):
        raise DataError(f"{path}: the file is UTF-16, not UTF-8. Fix: save it as UTF-8 "
                        "(e.g. `iconv -f UTF-16 -t UTF-8`).")


def read_text(path: str | Path, what: str = "file") -> str:
    """The file's text as UTF-8; a missing file, a folder, UTF-16 or other bytes are clear errors."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: {what} not found. Fix: check the path.")
    if not path.is_file():
        raise DataError(f"{path}: {what} is not a regular file. Fix: give the path of a file.")
    refuse_utf16(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise DataError(f"{path}: line {line}: byte {err.start} is not UTF-8. Fix: save the file as UTF-8.") from None
    return text[1:] if text.startswith("\ufeff") else text


def _loads(text: str, path: Path, line_offset: int = 0) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno + line_offset}:{err.colno}: malformed JSON ({err.msg}). "
                        "Fix: repair the file there.") from None
    except RecursionError:
        raise DataError(f"{path}:{line_offset + 1}: JSON nested too deeply to read. "
                        "Fix: the file is damaged or not data; replace it.") from None


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """One JSON document."""
    path = Path(path)
    return _loads(read_text(path, what), path)


def iter_jsonl(path: str | Path, *, objects: bool = True, allow_torn_tail: bool = False,
               what: str = "JSONL file") -> Iterator[tuple[int, Any]]:
    """(line number, value) for every non-blank line. `objects`: each value must be a JSON object.
    `allow_torn_tail`: a last line without its newline that does not parse is the tail of a killed
    append and is skipped (resumable outputs); anywhere else it is an error."""
    path = Path(path)
    text = read_text(path, what)
    lines = text.split("\n")
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as err:
            if allow_torn_tail and lineno == len(lines):
                return
            msg = f"{err.msg} at column {err.colno}" if isinstance(err, json.JSONDecodeError) else "nested too deeply"
            raise DataError(f"{path}:{lineno}: malformed JSON line ({msg}). Fix: repair or remove that line.") from None
        if objects and not isinstance(value, dict):
            raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(value).__name__}. "
                            "Fix: write one {...} object per line.")
        yield lineno, value


def iter_tsv(path: str | Path, what: str = "text file") -> Iterator[tuple[int, list[str]]]:
    """(line number, tab-separated fields) for every non-blank line of a UTF-8 text file (MME's
    question files and `Your_Results`); line ends as Python's text mode reads them."""
    text = read_text(path, what).replace("\r\n", "\n").replace("\r", "\n")
    for lineno, line in enumerate(text.split("\n"), 1):
        if line.strip():
            yield lineno, line.split("\t")


def read_records(path: str | Path, what: str = "data file") -> list[tuple[str, Any]]:
    """(location, record) for every record of a JSON list or a JSONL file: "file:line" for JSONL,
    "file: index N" for a list. A file holding one other JSON value (an object spread over several
    lines, say) is an error that says what the top level is, not "malformed JSON"."""
    path = Path(path)
    text = read_text(path, what)
    if text.lstrip().startswith("["):
        return [(f"{path}: index {i}", rec) for i, rec in enumerate(_loads(text, path))]
    records = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            records.append((f"{path}:{lineno}", json.loads(line)))
        except (json.JSONDecodeError, RecursionError) as err:
            try:
                whole = json.loads(text)
            except (json.JSONDecodeError, RecursionError):
                msg = f"{err.msg} at column {err.colno}" if isinstance(err, json.JSONDecodeError) \
                    else "nested too deeply"
                raise DataError(f"{path}:{lineno}: malformed JSON line ({msg}). "
                                "Fix: repair or remove that line (one JSON record per line).") from None
            raise DataError(f"{path}: the top level is a JSON {type(whole).__name__}, not a list of records. "
                            "Fix: write a JSON list [...] of records, or one record per line (.jsonl).") from None
    return records


# ------------------------------------------------------------------------------------------ writing
def _write_error(path: Path, err: OSError) -> UserError:
    reason = err.strerror or str(err)
    return UserError(f"cannot write {path}: {reason}. Fix: choose an output folder that is writable "
                     "and has free space (and is not a file).")


@contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside `path` for writing; on success it replaces `path` whole, on any
    failure it is removed and the old `path` (if any) is left as it was."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(21, "it is a folder", str(path))
        kwargs = {} if "b" in mode else {"encoding": "utf-8"}
        with open(tmp, mode, **kwargs) as fh:
            yield fh
        os.replace(tmp, path)
    except OSError as err:
        _remove_quietly(tmp)
        raise _write_error(path, err) from None
    except BaseException:
        _remove_quietly(tmp)
        raise


def _remove_quietly(path: Path) -> None:
    # the cleanup of a failed write must not hide why it failed (a parent that is a file, say)
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    with atomic_open(path) as fh:
        fh.write(text)
    return Path(path)


def dumps(data: Any, indent: int | None = 1) -> str:
    """The project's JSON text: UTF-8 characters kept (no \\u escapes), one trailing newline."""
    return json.dumps(data, ensure_ascii=False, indent=indent) + "\n"


def write_json(path: str | Path, data: Any, indent: int | None = 1) -> Path:
    """Write `data` as JSON (see `dumps`) to `path` atomically."""
    return write_text(path, dumps(data, indent))


def write_json_list(path: str | Path, rows: Iterable[Any]) -> Path:
    """The bytes of `write_json(path, list(rows), indent=None)`, written a row at a time, atomically:
    a 1 GB dataset never exists as one string (a str with CJK text takes 2 bytes a character, and
    its UTF-8 copy is made on top)."""
    with atomic_open(path) as fh:
        fh.write("[")
        for i, row in enumerate(rows):
            fh.write((", " if i else "") + json.dumps(row, ensure_ascii=False))
        fh.write("]\n")
    return Path(path)


def write_jsonl(path: str | Path, rows, *, serialize: Callable[[Any], str] | None = None) -> Path:
    """Write one JSON object per line to `path` atomically."""
    serialize = serialize or (lambda row: json.dumps(row, ensure_ascii=False))
    with atomic_open(path) as fh:
        for row in rows:
            fh.write(serialize(row) + "\n")
    return Path(path)
