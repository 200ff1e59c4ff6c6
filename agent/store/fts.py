"""The transcript's full-text index, brought up to date when it is searched.

Why not on every write: indexing a message cost about a tenth of the trace writer's time
(FTS5 tokenizes it and writes a new index segment at each commit), on the path every
traced step pays, while searches are rare. So the writer only inserts messages, and
`_fts_state.indexed_to` says which ones the index holds: every message with an id up to
it. A search first indexes the rest, in bulk, in one write transaction.

The triggers of m003 keep that true for any writer: an update or delete of an indexed
message updates the index; one of a message not yet indexed leaves it alone (it will be
indexed as it is then); and a delete lowers the mark below ids SQLite may give again.
"""

from __future__ import annotations

import sqlite3

STATE_TABLE = "_fts_state"


def has_unindexed(conn: sqlite3.Connection) -> bool:
    """Whether some message is not in the index yet (a read: no lock taken)."""
    row = conn.execute(
        f"SELECT (SELECT coalesce(max(id), 0) FROM messages) > indexed_to FROM {STATE_TABLE}"
    ).fetchone()
    return bool(row and row[0])


def index_unindexed(conn: sqlite3.Connection) -> int:
    """Index every message not in the index yet; call inside a write transaction.

    Returns how many were indexed."""
    cursor = conn.execute(
        "INSERT INTO messages_fts (rowid, content) SELECT id, content FROM messages "
        f"WHERE id > (SELECT indexed_to FROM {STATE_TABLE})")
    conn.execute(f"UPDATE {STATE_TABLE} SET indexed_to = "
                 "(SELECT coalesce(max(id), 0) FROM messages)")
    return cursor.rowcount
