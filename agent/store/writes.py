"""Write SQL that is not a queued upsert: deleting a run, marking interrupted runs."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from .transaction import immediate


def delete_run_rows(conn: sqlite3.Connection, run_id: str) -> None:
    """Delete a run and every row that belongs to it; prune tools no run offers anymore."""
    hashes = [r[0] for r in conn.execute(
        "SELECT tool_hash FROM run_tools WHERE run_id = ?", [run_id]
    )]
    for table in ("messages", "labels", "run_tools", "tool_calls", "steps"):
        conn.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
    conn.execute("DELETE FROM runs WHERE id = ?", [run_id])
    conn.executemany(
        "DELETE FROM tools WHERE hash = ? AND NOT EXISTS "
        "(SELECT 1 FROM run_tools WHERE tool_hash = tools.hash)",
        [(h,) for h in hashes],
    )


def mark_interrupted(
    conn: sqlite3.Connection, host: str, is_alive: Callable[[int], bool]
) -> list[str]:
    """Mark `running` runs whose process on this host is gone as `interrupted`.

    The end time is the run's last recorded activity, since that is when it really stopped.
    Runs of other hosts are left alone: their pids mean nothing here.
    """
    candidates = conn.execute(
        "SELECT id, pid, started_at FROM runs WHERE status = 'running' AND host = ? "
        "AND pid IS NOT NULL",
        [host],
    ).fetchall()
    stale = [(run_id, pid, started) for run_id, pid, started in candidates if not is_alive(pid)]
    if not stale:
        return []
    with immediate(conn):
        for run_id, pid, started in stale:
            last = conn.execute(_LAST_ACTIVITY_SQL, [run_id, run_id]).fetchone()[0]
            ended = max(started or 0.0, last or 0.0) or time.time()
            conn.execute(
                "UPDATE runs SET status = 'interrupted', error = ?, ended_at = ?, "
                "duration_ms = (? - started_at) * 1000.0 WHERE id = ? AND status = 'running'",
                [f"process {pid} exited before the run finished", ended, ended, run_id],
            )
    return [run_id for run_id, _, _ in stale]


_LAST_ACTIVITY_SQL = """
SELECT max(
  coalesce((SELECT max(max(coalesce(ended_at, 0), coalesce(started_at, 0)))
            FROM steps WHERE run_id = ?), 0),
  coalesce((SELECT max(coalesce(started_at, 0) + coalesce(duration_ms, 0) / 1000.0)
            FROM tool_calls WHERE run_id = ?), 0)
)
"""
