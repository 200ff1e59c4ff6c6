"""The ops of one write transaction, queued per table and flushed many rows a statement.

Why queue at all: a background writer sends one op per event (a step, its tool calls),
and one statement per op costs about as much as the row itself. Upserts into
different tables commute, so ops are queued per table, in call order, and each table is
flushed in foreign-key order (parents first) with consecutive rows of the same columns
sent together (`execute_rows`). Within a table the call order is kept, so the final rows are
exactly what running the ops one by one would give.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from functools import cache, partial
from typing import Any

from .errors import RunNotFoundError
from .rows import MESSAGE_COLUMNS, RUN_COLUMNS, STEP_COLUMNS, TOOL_CALL_COLUMNS, TOOL_COLUMNS

#: Flush order: every table after the tables its foreign keys point to.
TABLES: dict[str, tuple[str, ...]] = {
    "tools": TOOL_COLUMNS,
    "runs": RUN_COLUMNS,
    "run_tools": ("run_id", "tool_hash"),
    "steps": STEP_COLUMNS,
    "tool_calls": TOOL_CALL_COLUMNS,
    "messages": MESSAGE_COLUMNS,
    "labels": ("run_id", "key", "value"),
}
_CONFLICT_KEYS: dict[str, tuple[str, ...]] = {
    "runs": ("id",),
    "steps": ("id",),
    "tool_calls": ("id",),
    "messages": ("run_id", "seq"),
    "tools": ("hash",),
    "run_tools": ("run_id", "tool_hash"),
    "labels": ("run_id", "key"),
}
#: Deduplicated tables: a row that exists already is kept as it is.
_KEEP_EXISTING = frozenset({"tools", "run_tools"})
_CONFLICTS = frozenset({"SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"})

# Queue entries: ("upsert", columns, [values, ...]), ("known", columns, [values, ...]) for
# rows that are likely stored already, or ("update", run_id, fields).
_Entry = tuple[str, Any, Any]


#: Rows per statement, largest first: a batch's rows go to SQLite as multi-row INSERTs of
#: these sizes (a few distinct statements per table, all kept in the statement cache).
CHUNK_SIZES = (64, 16, 4)


@cache
def insert_sql(table: str, columns: tuple[str, ...], rows: int = 1) -> str:
    """`INSERT` of `rows` rows (VALUES in the order given: a later row sees an earlier)."""
    cols = ", ".join(f'"{c}"' for c in columns)
    marks = "(" + ", ".join("?" for _ in columns) + ")"
    return f'INSERT INTO "{table}" ({cols}) VALUES {", ".join([marks] * rows)}'


@cache
def upsert_sql(table: str, columns: tuple[str, ...], rows: int = 1) -> str:
    """`INSERT ... ON CONFLICT DO UPDATE` of only `columns`.

    Updating only the given columns lets a caller write a step when it starts and again
    when it ends without the second write blanking what the first one stored.
    """
    keys = _CONFLICT_KEYS[table]
    updates = [f'"{c}" = excluded."{c}"' for c in columns if c not in keys]
    if table in _KEEP_EXISTING or not updates:
        action = "DO NOTHING"
    else:
        action = "DO UPDATE SET " + ", ".join(updates)
    conflict = ", ".join(f'"{k}"' for k in keys)
    return f"{insert_sql(table, columns, rows)} ON CONFLICT ({conflict}) {action}"


def execute_rows(conn: sqlite3.Connection, sql: Callable[[int], str],
                 values: list[tuple[Any, ...]]) -> None:
    """Send `values` as statements of `CHUNK_SIZES` rows each (`sql(n)` writes n rows),
    the last few rows with `executemany`.

    Why: `executemany` runs the statement once per row (a step, a reset, and the GIL let go
    and taken back each time); one statement of many rows does that once. A traced react
    step took 5-8% less wall time so (paired A/B, 10 and 200 steps a run).
    """
    start, total = 0, len(values)
    # SQLite before 3.32 allows only 999 parameters a statement (later ones 32766).
    most = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // max(1, len(values[0])) \
        if values else 0
    for size in CHUNK_SIZES:
        if size > most:
            continue
        while total - start >= size:
            chunk = values[start:start + size]
            conn.execute(sql(size), [value for row in chunk for value in row])
            start += size
    if start < total:
        conn.executemany(sql(1), values[start:])


class Batch:
    """Queued writes of one transaction; `flush()` sends them, `path` names the store."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._queues: dict[str, list[_Entry]] = {table: [] for table in TABLES}

    def upsert(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Queue rows (keys must be columns of `table`; the row builders check that)."""
        for row in rows:
            self.upsert_many(table, tuple(row), [tuple(row.values())])

    def upsert_many(self, table: str, columns: tuple[str, ...],
                    rows: list[tuple[Any, ...]], *, known: bool = False) -> None:
        """Queue rows given as their values in `columns` order (checked by the caller).

        `known`: the rows are likely stored already (a step written before it ended, now
        written again): they go straight to the upsert, not to an INSERT that would fail
        and have its whole group redone as an upsert. A hint only: either way gives the
        same rows."""
        kind = "known" if known else "upsert"
        queue = self._queues[table]
        if queue and queue[-1][0] == kind and queue[-1][1] == columns:
            queue[-1][2].extend(rows)
        else:
            queue.append((kind, columns, list(rows)))

    def update_run(self, run_id: str, fields: Mapping[str, Any]) -> None:
        """Queue `finish_run`-style column updates; merged into a just-queued insert."""
        queue = self._queues["runs"]
        if queue and queue[-1][0] == "upsert":
            _, columns, values = queue[-1]
            row = dict(zip(columns, values[-1], strict=True))
            if row.get("id") == run_id:
                started = row.get("started_at")  # as in SQL, the value before this update
                row.update(fields)
                if "duration_ms" not in fields and "ended_at" in fields:
                    ended = fields["ended_at"]
                    row["duration_ms"] = (
                        None if started is None or ended is None else (ended - started) * 1000
                    )
                values.pop()
                if not values:
                    queue.pop()
                self.upsert("runs", [row])
                return
        queue.append(("update", run_id, dict(fields)))

    def flush(self) -> None:
        """Send every queued op, parents before children, consecutive rows together."""
        for table, queue in self._queues.items():
            for kind, key, payload in queue:
                if kind == "update":
                    self._update_run(key, payload)
                elif kind == "known":
                    execute_rows(self.conn, partial(upsert_sql, table, key), payload)
                else:
                    self._upsert(table, key, payload)
            queue.clear()

    def _upsert(self, table: str, columns: tuple[str, ...], values: list[tuple[Any, ...]]) -> None:
        insert = partial(insert_sql, table, columns)
        upsert = partial(upsert_sql, table, columns)
        if table in _KEEP_EXISTING:
            execute_rows(self.conn, upsert, values)
            return
        # A plain INSERT is about twice as fast as an UPSERT in SQLite, and new rows are
        # the common case; on a key conflict the whole group is redone as an upsert
        # (rows the INSERT already wrote are simply written again with the same values).
        try:
            execute_rows(self.conn, insert, values)
        except sqlite3.IntegrityError as exc:
            if getattr(exc, "sqlite_errorname", "") not in _CONFLICTS:
                raise
            execute_rows(self.conn, upsert, values)

    def _update_run(self, run_id: str, fields: Mapping[str, Any]) -> None:
        columns = [c for c in RUN_COLUMNS if c in fields]
        sets = [f'"{c}" = ?' for c in columns]
        params: list[Any] = [fields[c] for c in columns]
        if "duration_ms" not in fields and "ended_at" in fields:
            sets.append("duration_ms = (? - started_at) * 1000.0")
            params.append(fields["ended_at"])
        params.append(run_id)
        cursor = self.conn.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", params)
        if cursor.rowcount == 0:
            raise RunNotFoundError(
                f"no run '{run_id}' in {self.path}: see `agent traces list`"
            )
