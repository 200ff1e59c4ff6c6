"""Read-only SQL over SQLite database files under the files root.

Three independent locks keep a query from changing anything:
1. the file is opened read-only (``mode=ro`` URI), so SQLite itself refuses writes;
2. ``PRAGMA query_only=ON``;
3. an authorizer that allows only SELECT, reading columns, functions (not
   ``load_extension``), recursive CTEs and a few informational pragmas. It matters most
   for what the first two miss: ``ATTACH`` (and ``VACUUM INTO``, which attaches) would
   otherwise *create* files anywhere the process can write.
The database path goes through the file tools' root check (``agent.tools.files``), and a
progress handler stops a runaway query (``WITH RECURSIVE`` without end) after a deadline,
since a worker thread cannot be cancelled from outside.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from agent.errors import ToolError
from agent.hookspecs import hookimpl
from agent.schema import tool
from agent.types import ToolContext

from . import of, returns
from .files import resolve_file

QUERY_SECONDS = 10.0
MAX_ROWS = 10_000
_READ_PRAGMAS = frozenset({"table_info", "table_xinfo", "index_list", "index_info",
                           "index_xinfo", "foreign_key_list"})


def _authorize(action: int, arg1: str | None, arg2: str | None, db: Any, trigger: Any) -> int:
    """The sqlite3 authorizer: read access only; everything else is denied."""
    import sqlite3

    if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:
        denied = (arg2 or "").lower() == "load_extension"
        return sqlite3.SQLITE_DENY if denied else sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in _READ_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _connect(database: str, ctx: ToolContext | None) -> tuple[str, Any]:
    """(path relative to the root, read-only connection) for a database under the root."""
    import sqlite3
    from urllib.parse import quote

    root, real, _ = resolve_file(database, ctx)
    try:
        conn = sqlite3.connect(f"file:{quote(str(real))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ToolError(f"cannot open {database!r}: {exc}") from None
    try:
        conn.execute("PRAGMA query_only=ON")
        conn.execute("SELECT count(*) FROM sqlite_master")  # is it a database at all?
    except sqlite3.Error as exc:
        conn.close()
        raise _explain(database, exc) from None
    deadline = time.monotonic() + QUERY_SECONDS
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    return real.relative_to(root).as_posix(), conn


def _explain(database: str, exc: Exception) -> ToolError:
    """Turn an sqlite3 error into a message a planner can act on."""
    text = str(exc)
    if any(word in text for word in ("not authorized", "authorization denied", "readonly")):
        return ToolError(f"refused: only read-only queries (SELECT) are allowed ({text})")
    if text == "interrupted":
        return ToolError(f"the query ran longer than {QUERY_SECONDS:g} s and was stopped")
    if "not a database" in text:
        return ToolError(f"{database!r} is not a SQLite database")
    return ToolError(f"SQL error: {text}")


def _cell(value: Any) -> Any:
    """JSON-friendly cell: BLOBs become a short description instead of raw bytes."""
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<blob: {len(value)} bytes>"
    return value


@tool(
    tags=("sql", "data"),
    examples=("how many orders are in shop.db?", "select the 10 newest rows from events"),
    templates=(
        "Run {sql} on {database}.",
        "In {database}, run this query: {sql}",
        "Query {database}: {sql}",
        "What does {sql} return on {database}?",
        "Run {sql} on {database} and show at most {max_rows} rows.",
    ),
    timeout=QUERY_SECONDS + 5,
    output_schema=returns({
        "columns": of("array", "column names", items={"type": "string"}),
        "rows": of("array", "one list of values per row, in column order",
                   items={"type": "array"}),
        "row_count": of("integer", "rows returned"),
        "truncated": of("boolean", "true if there were more rows than max_rows"),
    }),
)
def sqlite_query(
    database: str, sql: str, max_rows: int = 200, ctx: ToolContext | None = None
) -> dict[str, Any]:
    """Run one read-only SQL query (SELECT) on a SQLite database file and return the rows.

    Writes, ATTACH and most PRAGMAs are refused. Use sqlite_schema first to see the tables.

    Args:
        database: Path of the database file relative to the files root, e.g. "shop.db".
        sql: One SQL SELECT statement, e.g. "SELECT name, price FROM products LIMIT 5",
            "SELECT COUNT(*) FROM orders", "SELECT name, city FROM customers WHERE city =
            'Paris'", "SELECT category, AVG(price) FROM products GROUP BY category" or
            "SELECT name FROM products WHERE stock < 10 ORDER BY stock".
        max_rows: Return at most this many rows (up to 10000; the rest are flagged), e.g.
            3, 5 or 10.
    """
    import sqlite3

    limit = max(1, min(max_rows, MAX_ROWS))
    _, conn = _connect(database, ctx)
    try:
        conn.set_authorizer(_authorize)
        cursor = conn.execute(sql)
        rows = cursor.fetchmany(limit + 1)
        columns = [d[0] for d in cursor.description or ()]
    except (sqlite3.Error, OverflowError) as exc:
        raise _explain(database, exc) from None
    finally:
        conn.close()
    truncated = len(rows) > limit
    rows = rows[:limit]
    return {"columns": columns, "rows": [[_cell(v) for v in row] for row in rows],
            "row_count": len(rows), "truncated": truncated}


@tool(
    tags=("sql", "data"),
    examples=("what tables are in shop.db?",),
    templates=(
        "What tables are in {database}?",
        "Show me the schema of {database}.",
        "Which columns do the tables in {database} have?",
        "List the tables and views of {database}.",
        "Describe the database {database}.",
    ),
    output_schema=returns({
        "database": of("string", "path relative to the files root"),
        "tables": of("array", "tables and views, by name", items=returns({
            "name": of("string", "table or view name"),
            "type": of("string", "table or view", enum=["table", "view"]),
            "columns": of("array", "in table order", items=returns({
                "name": of("string", "column name"),
                "type": of("string", "declared type, may be empty"),
                "not_null": of("boolean", "NOT NULL constraint"),
                "primary_key": of("boolean", "part of the primary key"),
            })),
        })),
    }),
)
def sqlite_schema(database: str, ctx: ToolContext | None = None) -> dict[str, Any]:
    """List the tables and views of a SQLite database file, with their columns.

    Args:
        database: Path of the database file relative to the files root, e.g. "shop.db".
    """
    import sqlite3

    rel, conn = _connect(database, ctx)
    try:
        objects = conn.execute(
            "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
        tables = []
        for name, kind in objects:
            info = conn.execute("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)",
                                (name,)).fetchall()
            columns = [{"name": c, "type": t or "", "not_null": bool(nn), "primary_key": pk > 0}
                       for c, t, nn, pk in info]
            tables.append({"name": name, "type": kind, "columns": columns})
    except sqlite3.Error as exc:
        raise _explain(database, exc) from None
    finally:
        conn.close()
    return {"database": rel, "tables": tables}


@hookimpl
def register_tools(register: Any) -> None:
    register([sqlite_query, sqlite_schema])


@hookimpl
def generation_sandbox(root: Path, settings: dict[str, Any]) -> None:
    """Generated examples query the sample shop database (under the files root)."""
    from .files import ROOT_SETTING
    from .samples import write_shop_db

    write_shop_db(root)
    settings[ROOT_SETTING] = str(root)
