"""SQLite translation cache and translation statistics.

One table keyed by (backend, model, src, tgt, text): the text is what the backend received (a
masked segment for MT backends, the whole string for exact ones). The database runs in WAL mode
and every backend batch is committed as soon as it returns, so a job killed at any point and rerun
asks the backend only for what it does not have yet. Failed translations are never stored.

Every SQLite failure is a `UserError` that says which of two different things happened
(`cache_problem`): the file is damaged (not a database, corrupt: delete it or pass another `--cache`),
or it cannot be opened or written where it is (a read-only folder or file, no permission, a full
disk, a lock held by another job: the file is fine; make the place writable, free space, or pass
another `--cache`).

    >>> cache = TranslationCache(":memory:")
    >>> cache.put_many("pseudo", "", "en", "de", {"Hello": "[de] Hello"})
    >>> cache.get_many("pseudo", "", "en", "de", ["Hello", "Bye"])
    {'Hello': '[de] Hello'}
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from lrm_llava.errors import UserError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    src TEXT NOT NULL,
    tgt TEXT NOT NULL,
    text TEXT NOT NULL,
    translation TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (backend, model, src, tgt, text)
)
"""

# SQLite limits the number of bound parameters per statement; stay well below it.
_CHUNK = 400

_FIX_PATH = "pass --cache PATH in a folder you can write to"

_DAMAGED = ("SQLITE_NOTADB", "SQLITE_CORRUPT")
_FULL = ("SQLITE_FULL",)
_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
_MESSAGES = (("damaged", ("not a database", "malformed", "corrupt")),
             ("full", ("disk is full", "database or disk is full")),
             ("busy", ("database is locked", "is locked", "busy")))


def cache_problem(err: sqlite3.Error) -> str:
    """What an SQLite failure says about the cache: "damaged" (the file is not a database, or is
    corrupt: only replacing it helps), "full" (no space left), "busy" (locked by another process),
    or "access" (cannot open or write here: a read-only folder or file, missing permission, an I/O
    error; the file itself may be fine). SQLite's error name decides where Python gives it (3.11+),
    else its message."""
    name = getattr(err, "sqlite_errorname", "") or ""
    for prefix, kind in ((_DAMAGED, "damaged"), (_FULL, "full"), (_BUSY, "busy")):
        if name.startswith(prefix):
            return kind
    if name:
        return "access"
    text = str(err).lower()
    for kind, needles in _MESSAGES:
        if any(n in text for n in needles):
            return kind
    return "access"


@dataclass
class TranslationStats:
    """Counters of one `translate_texts` call, or accumulated over many."""

    strings: int = 0
    """Input strings."""
    unique: int = 0
    """Distinct input strings."""
    segments: int = 0
    """Distinct pieces that needed a translation (masked sentences, or whole strings)."""
    hits: int = 0
    """Segments found in the cache."""
    misses: int = 0
    """Segments sent to the backend."""
    chars: int = 0
    """Characters sent to the backend (retries included)."""
    calls: int = 0
    """Backend `translate` calls."""
    seconds: float = 0.0
    """Time spent inside the backend."""
    retries: int = 0
    """Segments sent a second time because a sentinel was lost or the length ratio was off."""
    kept_english: int = 0
    """Distinct strings returned untranslated because a segment failed twice."""

    def add(self, other: TranslationStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def hit_rate(self) -> float:
        looked_up = self.hits + self.misses
        return self.hits / looked_up if looked_up else 0.0

    def as_dict(self) -> dict:
        out = asdict(self)
        out["seconds"] = round(out["seconds"], 3)
        out["hit_rate"] = round(self.hit_rate, 4)
        return out


class TranslationCache:
    """A persistent map (backend, model, src, tgt, text) -> translation; `stats` accumulates."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            folder = Path(self.path).parent
            if Path(self.path).is_dir():
                raise UserError(f"translation cache {self.path}: this is a folder, not a file. "
                                f"Fix: {_FIX_PATH}")
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
                why = f"{blocker} is a file, not a folder" if blocker else (err.strerror or str(err))
                raise UserError(f"translation cache {self.path}: cannot create its folder {folder} "
                                f"({why}). Fix: {_FIX_PATH}") from None
        self._db = None
        try:
            self._db = sqlite3.connect(self.path, timeout=30)
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.Error as err:
            if self._db is not None:
                self._db.close()
            raise self._error(err, "open") from None
        self.stats = TranslationStats()

    def _error(self, err: sqlite3.Error, action: str) -> UserError:
        """The UserError for an SQLite failure: a damaged file, or a place we cannot read/write."""
        kind = cache_problem(err)
        where = f"translation cache {self.path}"
        if kind == "damaged":
            return UserError(
                f"{where}: the file is damaged or not an SQLite database ({err}). Fix: delete it (its "
                "translations are requested again on the next run) or pass another --cache path")
        if kind == "full":
            return UserError(
                f"{where}: cannot {action} it: the disk is full ({err}). Fix: free space there and rerun "
                "the same command (finished translations are kept), or pass --cache on another disk")
        if kind == "busy":
            return UserError(
                f"{where}: cannot {action} it: another process holds it locked ({err}). Fix: wait for the "
                "other job to finish, or give this job its own --cache path")
        return UserError(
            f"{where}: cannot {action} it here ({err}): the file or its folder is not writable (read-only "
            f"folder or file, no permission, or a failing disk); the file itself is not damaged. Fix: make "
            f"the folder and the file writable, or {_FIX_PATH} (copy the file there to keep its translations)")

    def get_many(self, backend: str, model: str, src: str, tgt: str, texts: list[str]) -> dict[str, str]:
        """Translations already stored for `texts` (absent keys are simply missing)."""
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(texts))
        try:
            for i in range(0, len(unique), _CHUNK):
                chunk = unique[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    "SELECT text, translation FROM translations WHERE backend=? AND model=? AND src=? "
                    f"AND tgt=? AND text IN ({marks})",
                    (backend, model, src, tgt, *chunk),
                )
                found.update(rows.fetchall())
        except sqlite3.Error as err:
            raise self._error(err, "read") from None
        return found

    def put_many(self, backend: str, model: str, src: str, tgt: str, pairs: dict[str, str]) -> None:
        """Store translations and commit at once (one backend batch = one transaction)."""
        now = time.time()
        try:
            self._db.executemany(
                "INSERT OR REPLACE INTO translations VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(backend, model, src, tgt, t, tr, now) for t, tr in pairs.items()],
            )
            self._db.commit()
        except sqlite3.Error as err:
            self._db.rollback()
            raise self._error(err, "write to") from None

    def __len__(self) -> int:
        try:
            return self._db.execute("SELECT COUNT(*) FROM translations").fetchone()[0]
        except sqlite3.Error as err:
            raise self._error(err, "read") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TranslationCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
