"""Numbered schema migrations: plain functions, applied once each, recorded in `_migrations`.

A migration's number comes from its name (`m001_...`), so the order is visible in the code
and a test can assert the schema the whole chain produces.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import StoreError
from .fts import STATE_TABLE
from .transaction import immediate

if TYPE_CHECKING:
    from sqlite_utils import Database

MIGRATIONS_TABLE = "_migrations"


def m001_initial(db: Database) -> None:
    """Runs, their step tree, tool calls, transcript (with FTS), tools offered, labels."""
    db.table("runs").create(
        {
            "id": str, "parent_id": str, "session_id": str, "query": str, "status": str,
            "planner": str, "model": str, "source": str, "answer": str, "error": str,
            "started_at": float, "ended_at": float, "duration_ms": float,
            "tokens_in": int, "tokens_out": int, "pid": int, "host": str, "metadata": str,
        },
        pk="id",
        not_null={"status"},
        defaults={"status": "running"},
    )
    db.table("steps").create(
        {
            "id": str, "run_id": str, "parent_id": str, "seq": int, "kind": str, "name": str,
            "status": str, "started_at": float, "ended_at": float, "duration_ms": float,
            "tokens_in": int, "tokens_out": int, "data": str,
        },
        pk="id",
        not_null={"run_id"},
        foreign_keys=[("run_id", "runs", "id"), ("parent_id", "steps", "id")],
    )
    db.table("tool_calls").create(
        {
            "id": str, "run_id": str, "step_id": str, "call_id": str, "seq": int,
            "tool_name": str, "tool_hash": str, "args": str, "args_hash": str, "status": str,
            "content": str, "error": str, "truncated": int, "started_at": float,
            "duration_ms": float, "attempts": int,
        },
        pk="id",
        not_null={"run_id", "truncated"},
        defaults={"truncated": 0},
        foreign_keys=[("run_id", "runs", "id"), ("step_id", "steps", "id")],
    )
    db.table("messages").create(
        {"id": int, "run_id": str, "seq": int, "type": str, "data": str, "content": str},
        pk="id",
        not_null={"run_id", "seq"},
        foreign_keys=[("run_id", "runs", "id")],
    )
    db.table("tools").create(
        {"hash": str, "name": str, "description": str, "parameters": str, "plugin": str},
        pk="hash",
        not_null={"name"},
    )
    db.table("run_tools").create(
        {"run_id": str, "tool_hash": str},
        pk=("run_id", "tool_hash"),
        foreign_keys=[("run_id", "runs", "id"), ("tool_hash", "tools", "hash")],
    )
    db.table("labels").create(
        {"run_id": str, "key": str, "value": str},
        pk=("run_id", "key"),
        foreign_keys=[("run_id", "runs", "id")],
    )
    for table, columns, unique in (
        ("runs", ["started_at"], False),
        ("runs", ["status"], False),
        ("runs", ["session_id"], False),
        ("runs", ["parent_id"], False),
        ("steps", ["run_id", "seq"], False),
        ("steps", ["parent_id"], False),
        ("tool_calls", ["run_id", "seq"], False),
        ("tool_calls", ["step_id"], False),
        ("tool_calls", ["tool_name"], False),
        ("messages", ["run_id", "seq"], True),
        ("tools", ["name"], False),
        ("run_tools", ["tool_hash"], False),
        ("labels", ["key", "value"], False),
    ):
        db.table(table).create_index(columns, unique=unique)
    # Triggers keep the index in step with inserts, upserts and deletes of `messages`.
    db.table("messages").enable_fts(["content"], create_triggers=True)


def m002_index_messages_in_bulk(db: Database) -> None:
    """The store indexes new messages itself, many rows per statement (`Batch`): the
    per-row insert trigger cost more than all the rest of a traced step. The update and
    delete triggers stay: they are rare, and keep the index right for any writer."""
    db.execute('DROP TRIGGER IF EXISTS "messages_ai"')


def m003_index_messages_on_search(db: Database) -> None:
    """Messages are indexed when the transcript is searched, not when written
    (`agent.store.fts`): the index holds the messages up to `_fts_state.indexed_to`, and
    the update and delete triggers touch it only for those."""
    db.execute(f"CREATE TABLE {STATE_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), "
               "indexed_to INTEGER NOT NULL)")
    db.execute(f"INSERT INTO {STATE_TABLE} (id, indexed_to) "
               "SELECT 1, coalesce(max(id), 0) FROM messages")  # m002 indexed them all
    indexed = f"old.id <= (SELECT indexed_to FROM {STATE_TABLE})"
    db.execute('DROP TRIGGER IF EXISTS "messages_au"')
    db.execute('DROP TRIGGER IF EXISTS "messages_ad"')
    db.execute(f"""CREATE TRIGGER messages_au AFTER UPDATE ON messages WHEN {indexed} BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
  INSERT INTO messages_fts (rowid, content)
    SELECT new.id, new.content WHERE new.id <= (SELECT indexed_to FROM {STATE_TABLE});
END""")
    # One delete trigger, so the order is fixed: the index entry goes first, then the mark
    # comes down if the largest ids went (SQLite gives a new row the largest id + 1, and
    # ids up to the mark would otherwise go to messages the index does not hold).
    db.execute(f"""CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, content)
    SELECT 'delete', old.id, old.content WHERE {indexed};
  UPDATE {STATE_TABLE} SET indexed_to = (SELECT coalesce(max(id), 0) FROM messages)
    WHERE indexed_to > (SELECT coalesce(max(id), 0) FROM messages);
END""")


#: Columns that most rows leave empty: a ReAct step has no parent step, a first run no parent
#: run, a run outside a chat no session.
SPARSE_INDEXES = (("steps", "parent_id"), ("runs", "parent_id"), ("runs", "session_id"))


def m004_index_only_set_values(db: Database) -> None:
    """Index those columns only where they are set (`SPARSE_INDEXES`): an index entry per
    row cost every traced step two B-tree inserts and a commit more pages to write, for
    rows no query looks up. `col = ?` implies `col IS NOT NULL`, so SQLite still uses these
    indexes for every lookup, the foreign-key checks of a delete included."""
    for table, column in SPARSE_INDEXES:
        name = f"idx_{table}_{column}"
        db.execute(f'DROP INDEX IF EXISTS "{name}"')
        db.execute(f'CREATE INDEX "{name}" ON "{table}" ("{column}") '
                   f'WHERE "{column}" IS NOT NULL')


Migration = Callable[["Database"], None]

MIGRATIONS: tuple[Migration, ...] = (
    m001_initial, m002_index_messages_in_bulk, m003_index_messages_on_search,
    m004_index_only_set_values)


def migration_number(fn: Migration) -> int:
    """`m012_add_x` -> 12."""
    return int(fn.__name__[1:4])


def applied_migrations(db: Database) -> set[int]:
    """Numbers already recorded; empty for a fresh database."""
    if not db.table(MIGRATIONS_TABLE).exists():
        return set()
    return {row[0] for row in db.execute(f"SELECT number FROM {MIGRATIONS_TABLE}")}


def migrate(db: Database, path: str = "") -> list[int]:
    """Apply every migration not yet recorded, each in its own write transaction.

    The applied set is re-read under the write lock, so two processes opening a fresh
    file at once never run a migration twice. Returns the numbers applied now.
    """
    known = {migration_number(fn) for fn in MIGRATIONS}
    applied = applied_migrations(db)
    unknown = applied - known
    if unknown:
        raise StoreError(
            f"trace store {path} has schema migration {max(unknown)} that this version of "
            "agent does not know: upgrade agent, or set AGENT_HOME to use another store"
        )
    if known <= applied:
        return []
    done: list[int] = []
    for fn in MIGRATIONS:
        number = migration_number(fn)
        if number in applied:
            continue
        with immediate(db.conn):
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} "
                "(number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            if number in applied_migrations(db):
                continue
            fn(db)
            db.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (number, name, applied_at) VALUES (?, ?, ?)",
                [number, fn.__name__, time.time()],
            )
        done.append(number)
    return done
