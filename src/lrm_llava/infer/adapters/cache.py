"""The request cache of the `openai` adapter: one SQLite table of replies, so a rerun pays nothing twice.

A reply is stored under the SHA-256 of its request's identity (`request_key`: the served model's
name, the prompt, the image's pixels and the generation settings) as soon as it arrives, from
whichever thread got it; a killed evaluation, rerun, asks the server only for what it has not
answered yet. Failed requests are never stored. Nothing secret is stored (no key, no URL).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path

from PIL import Image

from lrm_llava.errors import UserError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    reply TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def image_digest(image: Image.Image | None) -> str:
    """SHA-256 of an image's mode, size and pixels ("" for none): equal pixels, equal digest,
    whatever file or encoder they came from."""
    if image is None:
        return ""
    digest = hashlib.sha256(f"{image.mode}:{image.size[0]}x{image.size[1]}:".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


def request_key(model: str, prompt: str, image: Image.Image | None, settings: dict) -> str:
    """The cache key of one request: model + prompt + image digest + generation settings."""
    identity = json.dumps({"model": model, "prompt": prompt, "image": image_digest(image), "settings": settings},
                          sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


class RequestCache:
    """Replies by request key, in an SQLite file (WAL mode; usable from several threads)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._lock = threading.Lock()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.Error as err:
            raise self._error(err) from None

    def _error(self, err: sqlite3.Error) -> UserError:
        return UserError(f"request cache {self.path!r} cannot be used ({err}). Fix: delete the file if it is "
                         "damaged (its replies are asked again), or pass --request-cache PATH in a folder "
                         "you can write to")

    def get(self, key: str) -> str | None:
        """The stored reply of `key`, or None."""
        with self._lock:
            try:
                row = self._db.execute("SELECT reply FROM replies WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error as err:
                raise self._error(err) from None
        return None if row is None else row[0]

    def put(self, key: str, model: str, reply: str) -> None:
        """Store one reply and commit at once (a kill right after keeps it)."""
        with self._lock:
            try:
                self._db.execute("INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?)", (key, model, reply, time.time()))
                self._db.commit()
            except sqlite3.Error as err:
                raise self._error(err) from None

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
