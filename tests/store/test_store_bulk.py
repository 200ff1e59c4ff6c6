"""A whole batch's rows built together (agent.store.bulk) are the rows built one by one."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage, message_to_dict

from agent.environment import ToolCallRow
from agent.store import TraceStore, new_id
from agent.store.batch import Batch
from agent.store.bulk import BulkRows
from agent.store.redact import REDACTED
from agent.store.rows import message_row, step_values, tool_call_row
from agent.types import Step, ToolBatch, ToolResult

LIMIT = 200


def _turn(run_id: str, i: int, content: Any = None, error: str | None = None,
          ) -> tuple[Step, Step, ToolCallRow, list[Any]]:
    """What one react turn hands the writer: two steps, a call, its messages."""
    model = Step(new_id(), run_id, 2 * i, "model", "m", started_at=1.0, tokens_in=3,
                 data={"message": 2 * i, "tools": ["echo"]})
    tools = Step(new_id(), run_id, 2 * i + 1, "tool_calls", "echo", status="ok",
                 started_at=2.0, ended_at=2.5, duration_ms=500.0, data={"calls": 1})
    status = "error" if error else "success"
    result = ToolResult(f"c{i}", "echo", status, content=content, error=error,
                        args={"text": f"ü {i}", "n": [i, 2.5]}, started_at=2.1)
    reply = AIMessage("", tool_calls=[{"name": "echo", "args": result.args, "id": f"c{i}"}])
    batch = ToolBatch([{"name": "echo", "args": result.args, "id": f"c{i}"}], [result],
                      with_calls=False)
    return model, tools, ToolCallRow(result, tools, i), [reply, *batch]


def _queued(items: list[tuple[Step, Step, ToolCallRow, list[Any]]]) -> dict[str, list[Any]]:
    """The rows BulkRows queues for these turns: (columns, values) per row, by table."""
    bulk = BulkRows(LIMIT)
    seq = 0
    for model, tools, call, messages in items:
        bulk.add_step(model)
        bulk.add_step(tools)
        bulk.add_tool_calls(call)
        bulk.add_messages(model.run_id, messages, seq)
        seq += len(messages)
    batch = Batch(sqlite3.connect(":memory:"), ":memory:")
    bulk.queue(batch)
    return {table: [(cols, row) for _, cols, rows in queue for row in rows]
            for table, queue in batch._queues.items() if queue}


def _one_by_one(items: list[tuple[Step, Step, ToolCallRow, list[Any]]]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {"steps": [], "tool_calls": [], "messages": []}
    seq = 0
    for model, tools, call, messages in items:
        for step in (model, tools):
            out["steps"].append(step_values(step))
        (row,) = [tool_call_row(r, LIMIT) for r in call]
        out["tool_calls"].append((tuple(row), tuple(row.values())))
        for m in messages:
            row = message_row(model.run_id, seq, m, LIMIT)
            out["messages"].append((tuple(row), tuple(row.values())))
            seq += 1
    return out


def _compare(items: list[tuple[Step, Step, ToolCallRow, list[Any]]]) -> dict[str, list[Any]]:
    bulk, single = _queued(items), _one_by_one(items)
    assert [row for _, row in bulk["steps"]] == single["steps"]
    assert bulk["tool_calls"] == single["tool_calls"]
    assert bulk["messages"] == single["messages"]
    return bulk


def test_a_batch_without_secrets_gives_the_rows_built_one_by_one() -> None:
    run_id = new_id()
    items = [_turn(run_id, i, content={"echo": f"ü {i}", "input_tokens": 3}) for i in range(5)]
    items.append(_turn(run_id, 5, error="ValueError: bad"))
    # Looks like a key's start ("sk-") to the quick check, is none: rows stay as they are.
    items.append(_turn(run_id, 7, content="the task-list of disk-usage"))
    items.append(_turn(run_id, 6, content="y" * 300))  # cut: over LIMIT bytes
    bulk = _compare(items)
    cut = dict(zip(*bulk["tool_calls"][7], strict=True))
    assert cut["truncated"] == 1 and "[truncated:" in cut["content"]
    assert all(dict(zip(*row, strict=True))["truncated"] == 0
               for row in bulk["tool_calls"][:7])


def test_one_secret_anywhere_in_the_batch_is_redacted_and_the_rest_kept() -> None:
    run_id = new_id()
    for secret_at in ("content", "error", "args", "step", "step name"):
        items = [_turn(run_id, i, content=f"fine {i}") for i in range(4)]
        _, tools, call, _ = items[2]
        if secret_at == "content":
            call.result.content = {"api_key": "plain-value-1234"}
        elif secret_at == "error":
            call.result.status, call.result.error = "error", "sent Bearer abcdefgh12345678"
        elif secret_at == "args":
            call.result.args = {"password": "hunter2-hunter2"}
        elif secret_at == "step":
            tools.data = {"url": "https://x.io/?token=abcdef123456"}
        else:  # a step without data: its name is still checked
            tools.name, tools.data = "GET ?token=abcdef123456", None
        bulk = _compare(items)
        stored = " ".join(str(row) for rows in bulk.values() for row in rows)
        assert REDACTED in stored, secret_at
        for secret in ("plain-value-1234", "abcdefgh12345678", "hunter2-hunter2",
                       "abcdef123456"):
            assert secret not in stored, (secret_at, secret)
        assert "fine 3" in stored


def test_token_counts_in_one_row_do_not_hide_a_token_word_in_another() -> None:
    """The check over the joined texts counts "token" against "_tokens": the counts of
    several rows add up, so a lone "token" in one row still takes the careful way."""
    run_id = new_id()
    items = [_turn(run_id, 0, content={"input_tokens": 1}), _turn(run_id, 1, content="token x")]
    bulk = _compare(items)
    assert [row for _, row in bulk["messages"]] == [
        tuple(message_row(run_id, i, m, LIMIT).values())
        for i, m in enumerate(items[0][3] + items[1][3])]


def test_mixed_shapes_in_one_apply_are_stored_like_separate_writes(tmp_path: Path) -> None:
    """Dict steps, dict tool-call rows and message dicts beside objects: one transaction
    stores what one write per op stores."""
    stores = [TraceStore(tmp_path / f"{name}.db") for name in ("batched", "single")]
    run_id = new_id()
    model, tools, call, messages = _turn(run_id, 0, content=[1, 2])
    ops: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("start_run", ({"id": run_id, "query": "q"},), {}),
        ("record_step", (model,), {}),
        ("record_step", (tools.record(),), {}),
        ("record_tool_calls", (call,), {}),
        ("record_tool_calls", ([{"id": "x-1", "run_id": run_id, "status": "success",
                                 "args": {"b": 1, "a": 2}, "content": "z"}],), {}),
        ("record_messages", (run_id, [HumanMessage("hi"), *messages]), {}),
        ("record_messages", (run_id, [message_to_dict(ToolMessage("t", tool_call_id="c"))]),
         {"start_seq": 3}),
        ("record_step", ({"id": model.id, "run_id": run_id, "status": "ok"},), {}),
        ("finish_run", (run_id,), {"answer": "done"}),
    ]
    stores[0].apply(ops)
    for name, args, kwargs in ops:
        getattr(stores[1], name)(*args, **kwargs)
    batched, single = (s.get_run(run_id) for s in stores)
    for key in ("steps", "tool_calls", "messages"):
        assert batched[key] == single[key], key
    assert len(batched["messages"]) == 4 and batched["messages"][0]["content"] == "hi"
    assert {s["id"]: s["status"] for s in batched["steps"]}[model.id] == "ok"
    assert batched["status"] == "ok" and batched["answer"] == "done"
    for s in stores:
        s.close()


def _running_and_ended(run_id: str, seq: int) -> tuple[Step, Step]:
    """A model step as the writer may take it twice: in flight, then ended (same id)."""
    step_id = new_id()
    return (Step(step_id, run_id, seq, "model", "m", started_at=1.0),
            Step(step_id, run_id, seq, "model", "m", status="ok", started_at=1.0,
                 ended_at=2.0, duration_ms=1000.0, tokens_in=3))


def test_a_step_taken_before_it_ended_is_upserted_when_it_comes_again(tmp_path: Path) -> None:
    """Its second row goes straight to the upsert: the INSERT of the new rows beside it no
    longer fails on it and has to be redone as an upsert."""
    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run({"id": new_id(), "query": "q"})
        running, ended = _running_and_ended(run_id, 1)
        other = Step(new_id(), run_id, 2, "tool_calls", "echo", status="ok", started_at=2.0,
                     ended_at=2.5)
        store.apply([("record_step", (running,), {})])
        statements: list[str] = []
        store.db.conn.set_trace_callback(statements.append)
        store.apply([("record_step", (ended,), {}), ("record_step", (other,), {})])
        store.db.conn.set_trace_callback(None)
        steps = [s for s in statements if s.startswith('INSERT INTO "steps"')]
        assert len(steps) == 2 and sum("ON CONFLICT" in s for s in steps) == 1
        rows = {s["id"]: s for s in store.get_run(run_id)["steps"]}
        assert rows[ended.id]["status"] == "ok" and rows[ended.id]["tokens_in"] == 3
        assert rows[other.id]["status"] == "ok"
        assert not store._unfinished  # it ended: forgotten


def test_a_step_in_flight_and_ended_in_one_apply_keeps_its_last_row(tmp_path: Path) -> None:
    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run({"id": new_id(), "query": "q"})
        running, ended = _running_and_ended(run_id, 1)
        store.apply([("record_step", (running,), {}), ("record_step", (ended,), {})])
        (row,) = store.get_run(run_id)["steps"]
        assert (row["status"], row["ended_at"]) == ("ok", 2.0)


def test_a_wrong_hint_still_stores_the_row(tmp_path: Path, monkeypatch: Any) -> None:
    """An id the hint keeps that was never stored (its transaction rolled back) is upserted,
    which inserts it; past ``MAX_UNFINISHED`` the hint forgets them all."""
    from agent.store import bulk

    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run({"id": new_id(), "query": "q"})
        _, ended = _running_and_ended(run_id, 1)
        store._unfinished.add(ended.id)
        store.apply([("record_step", (ended,), {})])
        assert [s["id"] for s in store.get_run(run_id)["steps"]] == [ended.id]
        monkeypatch.setattr(bulk, "MAX_UNFINISHED", 3)
        in_flight = [_running_and_ended(run_id, seq)[0] for seq in range(2, 7)]
        store.apply([("record_step", (step,), {}) for step in in_flight])
        assert len(store._unfinished) <= 3
        assert len(store.get_run(run_id)["steps"]) == 6
