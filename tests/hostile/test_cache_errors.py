"""The translation cache tells a damaged file from a place it cannot write (finding 11).

A read-only cache folder used to be reported as "cannot open it as SQLite ... delete the damaged
file": advice that deletes good translations. Now a damaged file, a folder that cannot be written,
a full disk and a lock held by another job each get their own message and fix.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hostile_support import REPO, cli_env

from lrm_llava.errors import UserError
from lrm_llava.translate import cache as cache_module
from lrm_llava.translate.cache import TranslationCache, cache_problem


def _filled(path: Path) -> Path:
    with TranslationCache(path) as c:
        c.put_many("pseudo", "", "en", "de", {"Hello": "[de] Hello"})
    return path


def test_damaged_file_says_damaged(tmp_path):
    bad = tmp_path / "c.sqlite"
    bad.write_bytes(b"this is not a database" * 200)
    with pytest.raises(UserError, match=r"c\.sqlite: the file is damaged or not an SQLite database.*delete it"):
        TranslationCache(bad)
    assert bad.read_bytes() == b"this is not a database" * 200


def test_folder_and_file_in_the_way(tmp_path):
    (tmp_path / "folder.sqlite").mkdir()
    with pytest.raises(UserError, match=r"folder\.sqlite: this is a folder, not a file.*--cache"):
        TranslationCache(tmp_path / "folder.sqlite")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UserError, match=r"cannot create its folder .*afile is a file, not a folder"):
        TranslationCache(tmp_path / "afile" / "sub" / "c.sqlite")


@pytest.mark.parametrize(("name", "message", "kind"), [
    ("SQLITE_NOTADB", "file is not a database", "damaged"),
    ("SQLITE_CORRUPT", "database disk image is malformed", "damaged"),
    ("SQLITE_READONLY", "attempt to write a readonly database", "access"),
    ("SQLITE_READONLY_DIRECTORY", "attempt to write a readonly database", "access"),
    ("SQLITE_CANTOPEN", "unable to open database file", "access"),
    ("SQLITE_IOERR_WRITE", "disk I/O error", "access"),
    ("SQLITE_FULL", "database or disk is full", "full"),
    ("SQLITE_BUSY", "database is locked", "busy"),
    ("", "unable to open database file", "access"),  # Python without sqlite_errorname: by the message
    ("", "file is not a database", "damaged"),
    ("", "database or disk is full", "full"),
])
def test_each_sqlite_failure_is_classified(name, message, kind):
    err = sqlite3.OperationalError(message)
    if name:
        err.sqlite_errorname = name
    assert cache_problem(err) == kind


@pytest.mark.parametrize(("name", "message", "expected"), [
    ("SQLITE_READONLY", "attempt to write a readonly database",
     r"cannot write to it here .*not writable.*the file itself is not damaged.*--cache PATH"),
    ("SQLITE_FULL", "database or disk is full", r"the disk is full.*free space"),
    ("SQLITE_BUSY", "database is locked", r"another process holds it locked"),
])
def test_write_failures_mid_run_say_what_to_do(tmp_path, monkeypatch, name, message, expected):
    cache = TranslationCache(_filled(tmp_path / "c.sqlite"))

    class FailingDb:
        def __init__(self, db):
            self.db = db

        def executemany(self, *a, **kw):
            err = sqlite3.OperationalError(message)
            err.sqlite_errorname = name
            raise err

        def __getattr__(self, attr):
            return getattr(self.db, attr)

    monkeypatch.setattr(cache, "_db", FailingDb(cache._db))
    with pytest.raises(UserError, match=expected) as info:
        cache.put_many("pseudo", "", "en", "de", {"Bye": "[de] Bye"})
    assert "damaged" not in str(info.value).replace("not damaged", "")
    assert cache.get_many("pseudo", "", "en", "de", ["Hello"]) == {"Hello": "[de] Hello"}
    cache.close()


def test_open_failure_that_is_not_damage_keeps_the_file(tmp_path, monkeypatch):
    path = _filled(tmp_path / "c.sqlite")
    real_connect = sqlite3.connect

    def readonly_connect(*a, **kw):
        db = real_connect(*a, **kw)
        db.close()
        err = sqlite3.OperationalError("attempt to write a readonly database")
        err.sqlite_errorname = "SQLITE_READONLY"
        raise err

    monkeypatch.setattr(cache_module.sqlite3, "connect", readonly_connect)
    with pytest.raises(UserError, match=r"cannot open it here .*the file itself is not damaged") as info:
        TranslationCache(path)
    assert "delete" not in str(info.value)


_PROBE = """
import sys
from lrm_llava.errors import UserError
from lrm_llava.translate.cache import TranslationCache
try:
    TranslationCache(sys.argv[1]).put_many("pseudo", "", "en", "de", {"x": "y"})
except UserError as err:
    print(err)
"""


def test_read_only_folder_is_not_called_damaged(tmp_path):
    """A real read-only folder: as an ordinary user when the tests run as root (chmod does not stop
    root), through `setpriv`; skipped where neither is possible."""
    folder = Path(tempfile.mkdtemp(prefix="ro-cache-"))
    try:
        _filled(folder / "c.sqlite")
        folder.chmod(0o555)
        (folder / "c.sqlite").chmod(0o444)
        argv = [sys.executable, "-c", _PROBE]
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if not setpriv:
                pytest.skip("running as root without setpriv: a read-only folder cannot be made here")
            argv = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
            probe = subprocess.run([*argv[:-2], "-c", "import lrm_llava.translate.cache"], capture_output=True,
                                   text=True, env=cli_env(), cwd=REPO, timeout=120)
            if probe.returncode != 0:
                pytest.skip("running as root, and an unprivileged user cannot run the project's Python here "
                            f"(chmod does not stop root): {probe.stderr.strip()[-200:]}")
        outputs = []
        for target in (folder / "c.sqlite", folder / "new.sqlite", folder / "sub" / "c.sqlite"):
            run = subprocess.run([*argv, str(target)], capture_output=True, text=True, env=cli_env(), cwd=REPO,
                                 timeout=120)
            assert run.returncode == 0, run.stderr
            outputs.append(run.stdout)
        for target, out in zip(("c.sqlite", "new.sqlite", "sub"), outputs):
            assert target in out and "damaged" not in out.replace("not damaged", ""), out
        assert "not writable" in outputs[0] and "not writable" in outputs[1]
        assert "Permission denied" in outputs[2]
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)
