"""Opening the SQLite file and turning sqlite3 errors into one-line store errors."""

from __future__ import annotations

import importlib.abc
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import StoreCorruptError, StoreError, StoreLockedError

if TYPE_CHECKING:
    from sqlite_utils import Database


def connect(path: Path | str, busy_timeout: float) -> Database:
    """Open `path` in WAL mode with foreign keys on and a busy timeout.

    WAL lets readers (`agent traces list`) run while a writer commits, and with
    `synchronous=NORMAL` a commit costs no fsync; a power cut can lose the last commits but
    never corrupts the file. `isolation_level=None` stops the sqlite3 module from opening
    transactions behind our back: the store opens its own with `BEGIN IMMEDIATE`.
    """
    Database = _sqlite_utils_database()

    conn = sqlite3.connect(
        str(path), timeout=busy_timeout, check_same_thread=False, isolation_level=None
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {max(0, int(busy_timeout * 1000))}")
        # The first read of the header: a file that is not a database fails here, before
        # anything (journal mode included) is written to it.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal" and str(path) != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        return Database(conn, execute_plugins=False)
    except BaseException:
        conn.close()
        raise


def _sqlite_utils_database() -> type[Database]:
    """sqlite-utils' Database class, imported lazily (importing it costs ~120 ms).

    sqlite-utils imports pandas and numpy at import time when they are installed (pandas is,
    with `datasets`; numpy always is, for bm25s and datasketch), only to accept their values
    in inserts, which the store never makes: ~0.1 s for numpy, ~0.5 s more for pandas (it
    brings pyarrow), at every store open of every CLI command. They are hidden for that one
    import, in this thread only, unless something imported them already.
    """
    if "sqlite_utils" not in sys.modules:
        hide = _HideModules({"pandas", "numpy"}.difference(sys.modules))
        sys.meta_path.insert(0, hide)
        try:
            from sqlite_utils import Database
        finally:
            sys.meta_path.remove(hide)
        return Database
    from sqlite_utils import Database

    return Database


class _HideModules(importlib.abc.MetaPathFinder):
    """Makes importing ``names`` fail in the thread that made it (others import as usual)."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.thread = threading.get_ident()

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname in self.names and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"{fullname} is not needed by the trace store",
                                      name=fullname)


@contextmanager
def translate_errors(path: Path | str, busy_timeout: float) -> Iterator[None]:
    """Re-raise sqlite3 failures as StoreError subclasses with a message saying what to do."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise to_store_error(exc, path, busy_timeout) from exc


def to_store_error(exc: sqlite3.DatabaseError, path: Path | str, busy_timeout: float) -> Exception:
    """Map one sqlite3 error to the store error a user can act on."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith("SQLITE_NOTADB"):
        return StoreCorruptError(
            f"trace store {path} is not a SQLite database (corrupt or another file): "
            "move it away or set AGENT_HOME to use another"
        )
    if name.startswith("SQLITE_CORRUPT"):
        return StoreCorruptError(
            f"trace store {path} is damaged ({exc}): move it away and try "
            f"`sqlite3 {path} .recover`, or set AGENT_HOME to use another"
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StoreLockedError(
            f"trace store {path} is locked by another process (waited {busy_timeout:g} s): "
            "try again when it finishes, or raise the busy timeout"
        )
    if name.startswith("SQLITE_CANTOPEN"):
        return StoreError(
            f"cannot open trace store {path}: check the directory exists and is writable, "
            "or set AGENT_HOME to use another"
        )
    if name.startswith("SQLITE_READONLY"):
        return StoreError(
            f"trace store {path} is read-only: fix its permissions or set AGENT_HOME"
        )
    if name.startswith("SQLITE_FULL"):
        return StoreError(f"disk full while writing trace store {path}: free some space")
    if isinstance(exc, sqlite3.IntegrityError):
        return StoreError(
            f"trace store {path} refused a write ({exc}): a row refers to a run or step "
            "that was not recorded first"
        )
    return StoreError(f"trace store {path} failed: {exc}")
