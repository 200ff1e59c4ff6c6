"""apply(): many write ops, one transaction, same result as running them one by one."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agent.store import RunNotFoundError, TraceStore

Op = tuple[str, tuple[Any, ...], dict[str, Any]]


def _statements(store: TraceStore) -> list[str]:
    seen: list[str] = []
    store.db.conn.set_trace_callback(seen.append)
    return seen


def _run_ops(run_id: str, steps: int = 3) -> list[Op]:
    ops: list[Op] = [("start_run", ({"id": run_id, "query": f"q {run_id}"},),
                      {})]
    for s in range(steps):
        step = {"id": f"{run_id}-s{s}", "run_id": run_id, "seq": s, "kind": "tool_calls",
                "status": "running"}
        ops.append(("record_step", (step,), {}))
        ops.append(("record_tool_calls", ([{
            "id": f"{run_id}-c{s}", "run_id": run_id, "step_id": step["id"], "seq": s,
            "tool_name": "t", "args": {"s": s}, "content": [s], "status": "success"}],), {}))
        ops.append(("record_step", ({"id": step["id"], "run_id": run_id, "status": "ok"},),
                    {}))
    ops.append(("record_messages", (run_id, [("human", f"q {run_id}")]), {}))
    ops.append(("finish_run", (run_id,), {"answer": "done", "ended_at": 5.0}))
    ops.append(("set_label", (run_id, "k", "v"), {}))
    return ops


def test_apply_commits_once(store: TraceStore) -> None:
    ops = [op for r in range(20) for op in _run_ops(f"run{r:02d}")]
    statements = _statements(store)
    store.apply(ops)
    assert statements.count("BEGIN IMMEDIATE") == 1
    assert statements.count("COMMIT") == 1
    assert store.db.execute("SELECT count(*) FROM tool_calls").fetchone()[0] == 60
    run = store.get_run("run07")
    assert run["status"] == "ok" and run["answer"] == "done"
    assert [s["status"] for s in run["steps"]] == ["ok", "ok", "ok"]
    assert run["labels"] == [{"key": "k", "value": "v"}]


def test_single_op_commits_once_too(store: TraceStore) -> None:
    store.start_run({"id": "r"})
    statements = _statements(store)
    store.record_tool_calls([{"id": f"c{i}", "run_id": "r", "seq": i} for i in range(5)])
    assert statements.count("BEGIN IMMEDIATE") == 1 and statements.count("COMMIT") == 1


def test_a_failing_op_rolls_back_the_whole_batch(store: TraceStore) -> None:
    store.start_run({"id": "before"})
    ops = [*_run_ops("r1"), ("finish_run", ("no-such-run",), {}), *_run_ops("r2")]
    with pytest.raises(RunNotFoundError):
        store.apply(ops)
    assert [r["id"] for r in store.list_runs()] == ["before"]
    for table in ("steps", "tool_calls", "messages", "labels", "run_tools"):
        assert store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    assert not store.db.conn.in_transaction
    store.apply(_run_ops("r3"))  # the store works afterwards
    assert store.get_run("r3")["status"] == "ok"


def test_a_bad_row_in_a_batch_rolls_back_too(store: TraceStore) -> None:
    with pytest.raises(ValueError):
        store.apply([*_run_ops("r1"), ("record_step", ({"id": "x"},), {})])
    assert store.list_runs() == []


def test_apply_refuses_other_methods(store: TraceStore) -> None:
    with pytest.raises(ValueError, match="cannot run 'close'"):
        store.apply([("close", (), {})])
    assert store.list_runs() == []


def _dump(store: TraceStore) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for table, order in (("runs", "id"), ("steps", "id"), ("tool_calls", "id"),
                         ("messages", "run_id, seq"), ("labels", "run_id, key"),
                         ("run_tools", "run_id, tool_hash"), ("tools", "hash")):
        rows = store.db.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
        out[table] = [tuple(v for v in row) for row in rows]
    return out


def _random_ops(rng: random.Random) -> list[Op]:
    """Interleaved writes to a few runs, with repeated partial upserts of the same ids."""
    ops: list[Op] = []
    runs = [f"run{i}" for i in range(4)]
    for run_id in runs:
        ops.append(("start_run", ({"id": run_id, "started_at": 1.0, "pid": 1, "host": "h"},),
                    {}))
    for i in range(300):
        run_id = rng.choice(runs)
        step_id = f"{run_id}-s{rng.randrange(5)}"
        kind = rng.randrange(6)
        if kind == 0:
            ops.append(("record_step", ({"id": step_id, "run_id": run_id, "seq": i,
                                         "kind": "tool_calls", "status": "running"},), {}))
        elif kind == 1:
            ops.append(("record_step", ({"id": step_id, "run_id": run_id,
                                         "status": rng.choice(["ok", "error"]),
                                         "ended_at": float(i)},), {}))
        elif kind == 2:
            ops.append(("record_tool_calls", ([{
                "id": f"{run_id}-c{rng.randrange(8)}", "run_id": run_id, "seq": i,
                "tool_name": "t", "args": {"i": i}, "content": {"n": i}}],), {}))
        elif kind == 3:
            ops.append(("record_messages", (run_id, [("ai", f"m{i}")]),
                        {"start_seq": rng.randrange(4)}))
        elif kind == 4:
            ops.append(("finish_run", (run_id,), {"status": rng.choice(["ok", "error"]),
                                                  "ended_at": float(i)}))
        else:
            ops.append(("start_run", ({"id": run_id, "status": "running", "query": f"q{i}",
                                       "started_at": float(i)},), {}))
    return ops


@pytest.mark.parametrize("seed", range(5))
def test_batched_result_equals_one_by_one(tmp_path: Path, seed: int) -> None:
    ops = _random_ops(random.Random(seed))
    with TraceStore(tmp_path / "batched.db") as batched:
        batched.apply(ops)
        expected_shape = _dump(batched)
    with TraceStore(tmp_path / "single.db") as single:
        for name, args, kwargs in ops:
            getattr(single, name)(*args, **kwargs)
        assert _dump(single) == expected_shape


def test_a_message_written_twice_after_a_conflict_keeps_the_index_whole(
        store: TraceStore) -> None:
    """A batch that updates a stored message and writes new ones, one of them twice: the
    retry as an upsert must not update a row the index has not seen yet (FTS5 would call
    the file damaged). Enough rows that they go to SQLite many per statement."""
    store.start_run({"id": "r"})
    store.record_messages("r", [("human", "stored alpha")])
    news = [("ai", f"new{i} gamma") for i in range(1, 70)]
    store.apply([
        ("record_messages", ("r", [("human", "stored beta")]), {}),
        ("record_messages", ("r", news), {"start_seq": 1}),
        ("record_messages", ("r", [("ai", "again delta")]), {"start_seq": 1}),
    ])
    assert store.index_messages() == 70
    store.db.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
    contents = [r[0] for r in store.db.execute("SELECT content FROM messages ORDER BY seq")]
    assert contents == ["stored beta", "again delta"] + [text for _, text in news[1:]]
    for word, hits in (("alpha", 0), ("beta", 1), ("gamma", 68), ("delta", 1)):
        found = store.db.execute(
            "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?", [word]).fetchone()
        assert found[0] == hits, word


def test_many_rows_fit_a_low_parameter_limit(store: TraceStore) -> None:
    """Rows go many to a statement, but never past the build's parameter limit (999 before
    SQLite 3.32)."""
    store.db.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 100)
    ops = _run_ops("low", steps=70)
    store.apply(ops)
    assert store.db.execute("SELECT count(*) FROM steps").fetchone()[0] == 70
    assert store.db.execute("SELECT count(*) FROM tool_calls").fetchone()[0] == 70
