"""Migrations produce the documented schema, once, in WAL mode."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agent.store import StoreError, TraceStore
from agent.store.migrations import MIGRATIONS, migrate, migration_number

EXPECTED = {
    "_migrations": ["number", "name", "applied_at"],
    "runs": ["id", "parent_id", "session_id", "query", "status", "planner", "model", "source",
             "answer", "error", "started_at", "ended_at", "duration_ms", "tokens_in",
             "tokens_out", "pid", "host", "metadata"],
    "steps": ["id", "run_id", "parent_id", "seq", "kind", "name", "status", "started_at",
              "ended_at", "duration_ms", "tokens_in", "tokens_out", "data"],
    "tool_calls": ["id", "run_id", "step_id", "call_id", "seq", "tool_name", "tool_hash", "args",
                   "args_hash", "status", "content", "error", "truncated", "started_at",
                   "duration_ms", "attempts"],
    "messages": ["id", "run_id", "seq", "type", "data", "content"],
    "tools": ["hash", "name", "description", "parameters", "plugin"],
    "run_tools": ["run_id", "tool_hash"],
    "labels": ["run_id", "key", "value"],
    "_fts_state": ["id", "indexed_to"],
}


def _tables(path: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'messages_fts%'"
        )]
        return {n: [c[1] for c in conn.execute(f'PRAGMA table_info("{n}")')] for n in names}
    finally:
        conn.close()


def test_fresh_store_has_the_final_schema(db_path: Path) -> None:
    TraceStore(db_path).close()
    assert _tables(db_path) == EXPECTED
    conn = sqlite3.connect(db_path)
    fts = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'messages_fts'").fetchone()
    triggers = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    indexes = {
        (r[0], r[1]) for r in conn.execute(
            "SELECT m.name, i.name FROM sqlite_master m, pragma_index_list(m.name) i "
            "WHERE m.type = 'table'"
        )
    }
    conn.close()
    assert fts is not None and "fts5" in fts[0].lower()
    # New messages are indexed when searched (m003); updates and deletes by triggers.
    assert triggers == {"messages_ad", "messages_au"}
    indexed = {table for table, _ in indexes}
    assert {"runs", "steps", "tool_calls", "messages", "run_tools", "labels"} <= indexed
    index_names = {name for _, name in indexes}
    assert {"idx_runs_started_at", "idx_runs_status", "idx_tool_calls_tool_name",
            "idx_steps_run_id_seq", "idx_tool_calls_run_id_seq"} <= index_names


def test_migrations_are_recorded_and_not_rerun(db_path: Path) -> None:
    TraceStore(db_path).close()
    conn = sqlite3.connect(db_path)
    first = conn.execute("SELECT number, name, applied_at FROM _migrations").fetchall()
    conn.close()
    assert [row[0] for row in first] == [migration_number(m) for m in MIGRATIONS]

    with TraceStore(db_path) as store:
        assert migrate(store.db) == []  # nothing left to do
    conn = sqlite3.connect(db_path)
    again = conn.execute("SELECT number, name, applied_at FROM _migrations").fetchall()
    conn.close()
    assert again == first  # same rows, same timestamps: nothing ran twice


def test_migration_numbers_are_unique_and_ordered() -> None:
    numbers = [migration_number(m) for m in MIGRATIONS]
    assert numbers == sorted(set(numbers))
    assert numbers[0] == 1


def test_wal_mode_and_connection_pragmas(store: TraceStore, db_path: Path) -> None:
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    # WAL is a property of the file: a plain connection sees it too.
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_busy_timeout_is_settable(db_path: Path) -> None:
    with TraceStore(db_path, busy_timeout=0.25) as store:
        assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 250


def test_a_newer_schema_is_refused(db_path: Path) -> None:
    TraceStore(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO _migrations VALUES (999, 'm999_future', 0)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="migration 999") as info:
        TraceStore(db_path)
    assert "\n" not in str(info.value)


def test_default_path_honours_agent_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.store import default_db_path

    home = tmp_path / "nested" / "home"
    monkeypatch.setenv("AGENT_HOME", str(home))
    assert default_db_path() == home / "traces.db"
    assert home.is_dir()
    with TraceStore() as store:
        assert store.path == home / "traces.db"
    assert (home / "traces.db").exists()


def test_default_path_without_agent_home_uses_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import platformdirs

    from agent.store import default_db_path

    monkeypatch.delenv("AGENT_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    path = default_db_path(create=False)
    assert path == Path(platformdirs.user_data_dir("agent", appauthor=False)) / "traces.db"
    assert path.name == "traces.db"


def test_importing_the_package_is_cheap(child_env: dict[str, str]) -> None:
    code = (
        "import sys, agent.store\n"
        "heavy = [m for m in ('sqlite_utils', 'langchain_core', 'platformdirs') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=child_env, check=True)
    assert out.stdout.strip() == ""


def test_a_store_indexed_on_write_keeps_its_index_through_m003(db_path: Path) -> None:
    """A store made before m003 (every message indexed when written) opens with the mark
    at its last message: nothing indexed twice, nothing missed, later writes searchable."""
    from agent.store import migrations

    before = migrations.MIGRATIONS[:2]
    assert [migration_number(m) for m in before] == [1, 2]
    original = migrations.MIGRATIONS
    migrations.MIGRATIONS = before
    try:
        with TraceStore(db_path) as old:
            old.start_run({"id": "r"})
            old.db.execute("INSERT INTO messages (run_id, seq, type, data, content) "
                           "VALUES ('r', 0, 'ai', '{}', 'quebec romeo')")
            old.db.execute("INSERT INTO messages_fts (rowid, content) "
                           "SELECT id, content FROM messages")
    finally:
        migrations.MIGRATIONS = original
    with TraceStore(db_path) as store:
        assert store.index_messages() == 0
        store.record_messages("r", [("ai", "sierra")], start_seq=1)
        assert [r["id"] for r in store.search("romeo")] == ["r"]
        assert [r["id"] for r in store.search("sierra")] == ["r"]
        store.db.execute(
            "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")


def test_sparse_columns_are_indexed_only_where_set_through_m004(db_path: Path) -> None:
    """A store made before m004 opens with the parent and session indexes holding only the
    rows that have a value, and lookups and deletes (whose foreign-key checks look up
    child steps by parent) still go through them."""
    from agent.store import migrations

    before = migrations.MIGRATIONS[:3]
    assert [migration_number(m) for m in before] == [1, 2, 3]
    original = migrations.MIGRATIONS
    migrations.MIGRATIONS = before
    try:
        with TraceStore(db_path) as old:
            old.start_run({"id": "r1", "session_id": "s"})
            old.start_run({"id": "r2", "parent_id": "r1"})
            old.start_run({"id": "r3"})
            old.record_step({"id": "a", "run_id": "r1", "seq": 1, "kind": "node"})
            old.record_step({"id": "b", "run_id": "r1", "seq": 2, "kind": "node",
                             "parent_id": "a"})
            old.record_step({"id": "c", "run_id": "r3", "seq": 1, "kind": "model"})
    finally:
        migrations.MIGRATIONS = original
    with TraceStore(db_path) as store:
        conn = store.db.conn
        for table, column in migrations.SPARSE_INDEXES:
            name = f"idx_{table}_{column}"
            sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", [name]).fetchone()
            assert sql is not None and f'WHERE "{column}" IS NOT NULL' in sql[0]
            plan = " ".join(str(r[-1]) for r in conn.execute(
                f'EXPLAIN QUERY PLAN SELECT * FROM "{table}" WHERE "{column}" = ?', ["x"]))
            assert f"USING INDEX {name}" in plan, plan
            entries = conn.execute(f'SELECT count(*) FROM "{table}" INDEXED BY "{name}" '
                                   f'WHERE "{column}" IS NOT NULL').fetchone()[0]
            assert entries == 1  # the one row that has a value
        assert [r["id"] for r in store.list_runs(session_id="s")] == ["r1"]
        assert conn.execute("SELECT id FROM steps WHERE parent_id = 'a'").fetchall() == [("b",)]
        store.delete_run("r1")  # its steps go, the child before its parent
        store.delete_run("r3")
        assert conn.execute("SELECT count(*) FROM steps").fetchone()[0] == 0
        # New rows go into the partial indexes as before.
        store.start_run({"id": "r4", "session_id": "s2"})
        assert [r["id"] for r in store.list_runs(session_id="s2")] == ["r4"]
