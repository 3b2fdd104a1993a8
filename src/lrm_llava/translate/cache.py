"""SQLite translation cache and translation statistics.

One table keyed by (backend, model, src, tgt, text): the text is what the backend received (a
masked segment for MT backends, the whole string for exact ones). The database runs in WAL mode
and every backend batch is committed as soon as it returns, so a job killed at any point and rerun
asks the backend only for what it does not have yet. Failed translations are never stored.

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
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=30)
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.DatabaseError as err:
            raise UserError(
                f"translation cache {self.path}: cannot open it as SQLite ({err}); "
                "pass another --cache path or delete the damaged file"
            ) from None
        self.stats = TranslationStats()

    def get_many(self, backend: str, model: str, src: str, tgt: str, texts: list[str]) -> dict[str, str]:
        """Translations already stored for `texts` (absent keys are simply missing)."""
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(texts))
        for i in range(0, len(unique), _CHUNK):
            chunk = unique[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                "SELECT text, translation FROM translations WHERE backend=? AND model=? AND src=? "
                f"AND tgt=? AND text IN ({marks})",
                (backend, model, src, tgt, *chunk),
            )
            found.update(rows.fetchall())
        return found

    def put_many(self, backend: str, model: str, src: str, tgt: str, pairs: dict[str, str]) -> None:
        """Store translations and commit at once (one backend batch = one transaction)."""
        now = time.time()
        self._db.executemany(
            "INSERT OR REPLACE INTO translations VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(backend, model, src, tgt, t, tr, now) for t, tr in pairs.items()],
        )
        self._db.commit()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM translations").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> TranslationCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
