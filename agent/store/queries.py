"""Read side of the store: id resolution, run detail, listing and search.

Rows come back as plain dicts with JSON columns decoded, so callers (CLI, replay,
exporters) never see SQL or encoded text.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import AmbiguousRunIdError, RunNotFoundError
from .rows import JSON_COLUMNS

if TYPE_CHECKING:
    from sqlite_utils import Database

MIN_PREFIX = 4
_MAX_CANDIDATES = 10
_TOOL_CALL_COUNT = "(SELECT count(*) FROM tool_calls WHERE run_id = runs.id) AS tool_call_count"


def decode(row: dict[str, Any]) -> dict[str, Any]:
    """Decode the JSON columns of a row in place.

    Content cut by truncation is no longer valid JSON; it is returned as the stored text
    (ending in the truncation marker) rather than failing the whole read.
    """
    for key in JSON_COLUMNS.intersection(row):
        text = row[key]
        if isinstance(text, str):
            with contextlib.suppress(ValueError):
                row[key] = json.loads(text)
    return row


def _rows(db: Database, sql: str, params: list[Any] | dict[str, Any]) -> list[dict[str, Any]]:
    return [decode(row) for row in db.query(sql, params)]


def resolve_run_id(db: Database, path: Path | str, id_or_prefix: str) -> str:
    """The full id of the one run whose id is, or starts with, `id_or_prefix` (like git)."""
    if db.execute("SELECT 1 FROM runs WHERE id = ?", [id_or_prefix]).fetchone():
        return id_or_prefix
    if len(id_or_prefix) >= MIN_PREFIX:
        # A range scan on the primary key: every id starting with the prefix sorts
        # between the prefix itself and the prefix followed by the highest code point.
        matches = [
            row[0]
            for row in db.execute(
                "SELECT id FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
                [id_or_prefix, id_or_prefix + "\U0010ffff", _MAX_CANDIDATES + 1],
            )
        ]
        if len(matches) == 1:
            return str(matches[0])
        if matches:
            shown = ", ".join(matches[:_MAX_CANDIDATES])
            more = " and more" if len(matches) > _MAX_CANDIDATES else ""
            raise AmbiguousRunIdError(
                f"run id prefix '{id_or_prefix}' matches several runs ({shown}{more}): "
                "give more characters",
                matches[:_MAX_CANDIDATES],
            )
    hint = (
        f" (a prefix needs at least {MIN_PREFIX} characters)"
        if len(id_or_prefix) < MIN_PREFIX
        else ""
    )
    raise RunNotFoundError(
        f"no run '{id_or_prefix}' in {path}{hint}: see `agent traces list`"
    )


def get_run(db: Database, run_id: str) -> dict[str, Any]:
    """One run with its steps, tool calls, messages, labels and offered tools."""
    run = _rows(db, "SELECT * FROM runs WHERE id = ?", [run_id])[0]
    run["steps"] = _rows(
        db, "SELECT * FROM steps WHERE run_id = ? ORDER BY seq, started_at, rowid", [run_id]
    )
    run["tool_calls"] = list(iter_tool_calls(db, run_id))
    run["messages"] = _rows(
        db, "SELECT * FROM messages WHERE run_id = ? ORDER BY seq", [run_id]
    )
    run["labels"] = [
        dict(row)
        for row in db.query(
            "SELECT key, value FROM labels WHERE run_id = ? ORDER BY key", [run_id]
        )
    ]
    run["tools"] = _rows(
        db,
        "SELECT tools.* FROM run_tools JOIN tools ON tools.hash = run_tools.tool_hash "
        "WHERE run_tools.run_id = ? ORDER BY tools.name, tools.hash",
        [run_id],
    )
    return run


def iter_tool_calls(db: Database, run_id: str) -> Iterator[dict[str, Any]]:
    """Tool calls of one run in call order, decoded."""
    for row in db.query(
        "SELECT * FROM tool_calls WHERE run_id = ? ORDER BY seq, started_at, rowid", [run_id]
    ):
        yield decode(row)


def list_runs(
    db: Database, limit: int = 20, status: str | None = None, session_id: str | None = None
) -> list[dict[str, Any]]:
    """Newest runs first, each with `tool_call_count`."""
    where: list[str] = []
    params: list[Any] = []
    if status is not None:
        where.append("status = ?")
        params.append(status)
    if session_id is not None:
        where.append("session_id = ?")
        params.append(session_id)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    params.append(limit)
    return _rows(
        db,
        f"SELECT runs.*, {_TOOL_CALL_COUNT} FROM runs {clause} "
        "ORDER BY started_at DESC, id DESC LIMIT ?",
        params,
    )


def search(db: Database, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Runs whose messages match `text` (full-text) or whose query contains it.

    Every token of the user's text is quoted, so FTS syntax (`AND`, `(`, `"`, `*`) is
    searched for literally instead of raising a syntax error.
    """
    text = text.strip()
    if not text:
        return []
    fts_query = db.quote_fts(text)
    params: dict[str, Any] = {"text": text.lower(), "limit": limit, "fts": fts_query}
    fts_clause = (
        "OR id IN (SELECT messages.run_id FROM messages_fts "
        "JOIN messages ON messages.id = messages_fts.rowid WHERE messages_fts MATCH :fts)"
        if fts_query.strip('" ')
        else ""
    )
    return _rows(
        db,
        f"SELECT runs.*, {_TOOL_CALL_COUNT} FROM runs "
        f"WHERE instr(lower(coalesce(query, '')), :text) > 0 {fts_clause} "
        "ORDER BY started_at DESC, id DESC LIMIT :limit",
        params,
    )
