"""Records sent to the writer process as bytes (agent.store.wire) are stored as the very
rows the records themselves give."""

from __future__ import annotations

import datetime
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage, message_to_dict

from agent.environment import ToolCallRow
from agent.store import TraceStore, new_id
from agent.store.wire import EncodedMessage, decode, encode
from agent.types import Step, ToolBatch, ToolResult

TABLES = ("runs", "steps", "tool_calls", "messages", "tools", "run_tools", "labels")


class Answer(str):
    """A ``str`` subclass, like langchain-core's ``AIMessage.text``: marshal refuses it."""


class Custom(AIMessage):
    """A message class of the caller's own: sent as its JSON, as langchain-core's are."""


class Opaque:
    """Neither marshal nor JSON knows it: stored as its ``str()``."""

    def __str__(self) -> str:
        return "<opaque thing>"


def _rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in TABLES}
    finally:
        conn.close()


def _records(run_id: str) -> list[Any]:
    """What a traced run hands its writer: ops, step objects, tool-call row objects."""
    model = Step(new_id(), run_id, 0, "model", "m", started_at=1.0, tokens_in=3,
                 data={"message": 1, "tools": ["echo"]})
    tools = Step(new_id(), run_id, 1, "tool_calls", "echo", parent_id=model.id, status="ok",
                 started_at=2.0, ended_at=2.5, duration_ms=500.0,
                 data={"when": datetime.date(2026, 11, 29), "odd": Opaque()})
    ok = ToolResult("c1", "echo", "success", args={"text": "ü", "n": [1, 2.5]},
                    content={"echo": "ü", "at": datetime.datetime(2026, 11, 29, 12, 0)},
                    started_at=2.1)
    secret = ToolResult("c2", "echo", "error", args={"password": "hunter2-hunter2"},
                        error="sent Bearer abcdefgh12345678", started_at=2.2)
    reply = AIMessage("", tool_calls=[{"name": "echo", "args": ok.args, "id": "c1"}],
                      usage_metadata={"input_tokens": 3, "output_tokens": 1,
                                      "total_tokens": 4})
    batch = ToolBatch([{"name": "echo", "args": ok.args, "id": "c1"}], [ok, secret],
                      with_calls=False)
    when = ToolResult("c4", "clock", "success", content=datetime.datetime(2026, 11, 29, 8))
    sent_whole = ToolBatch([{"name": "echo", "args": ok.args, "id": "c1", "extra": 1},
                            {"name": "clock", "args": {}, "id": "c4"}], [ok, secret, when],
                           with_calls=True)
    return [
        ("start_run", ({"id": run_id, "query": "echo ü", "status": "running",
                        "started_at": 1.0},
                       [{"name": "echo", "description": "Echo.", "parameters": {
                           "type": "object", "properties": {"text": {"type": "string"}}}}]),
         {}),
        ("record_messages", (run_id, [{"type": "human", "data": {"content": "echo ü",
                                                                  "type": "human"}}]),
         {"start_seq": 0}),
        model, tools,
        ToolCallRow(ok, tools, 0), ToolCallRow(secret, tools, 1),
        ("record_messages", (run_id, [reply, *batch], 1), {}),
        ("record_messages", (run_id, [HumanMessage("token=abcdef123456"),
                                      ToolMessage("x" * 500, tool_call_id="c3")], 4), {}),
        ("record_messages", (run_id, sent_whole, 6), {}),  # as the runtime sends a batch
        ("record_messages", (run_id, [
            AIMessage("at", response_metadata={"at": datetime.datetime(2026, 11, 29)}),
            Custom("mine", id="m-1")], 10), {}),
        ("record_tool_calls", ([{"id": "x-1", "run_id": run_id, "status": "success",
                                 "args": {"b": 1, "a": 2}, "content": "z"}],), {}),
        ("set_label", (run_id, "split", "train"), {}),
        ("finish_run", (run_id,), {"status": "ok", "answer": Answer("done"),
                                   "ended_at": 3.0, "tokens_in": 3}),
    ]


def _ops(records: list[Any]) -> list[Any]:
    from agent.recorder import as_op

    return [as_op(r) for r in records]


def test_records_sent_as_bytes_are_stored_as_the_records_themselves(tmp_path: Path) -> None:
    run_id = new_id()
    records = _records(run_id)
    with TraceStore(tmp_path / "direct.db", max_content_bytes=200) as store:
        store.apply(_ops(records))
    blob = encode(_ops(records))
    assert isinstance(blob, bytes)
    with TraceStore(tmp_path / "wire.db", max_content_bytes=200) as store:
        store.apply(decode(blob))
    direct, wire = _rows(tmp_path / "direct.db"), _rows(tmp_path / "wire.db")
    assert wire == direct
    stored = repr(wire)
    for secret in ("hunter2-hunter2", "abcdefgh12345678", "abcdef123456"):
        assert secret not in stored
    assert "<opaque thing>" in stored and "2026-11-29" in stored
    assert len(wire["steps"]) == 2 and len(wire["tool_calls"]) == 3
    assert len(wire["messages"]) == 12 and wire["labels"][0][1:] == ("split", "train")


def test_records_marshal_carries_as_they_are_need_no_conversion() -> None:
    """The common shapes go through marshal whole: steps and calls as plain tuples."""
    run_id = new_id()
    step = Step(new_id(), run_id, 0, "model", "m", data={"tools": ["echo"]})
    ops = decode(encode(_ops([step])))
    ((name, (values,), _),) = ops
    assert name == "record_step"
    assert values.values == (step.id, run_id, None, 0, "model", "m", "running", 0.0, None,
                             None, 0, 0, {"tools": ["echo"]})
    assert values.data == {"tools": ["echo"]} and values.kind == "model"


def test_langchain_messages_are_sent_as_the_json_text_the_store_keeps() -> None:
    """The loop serialises a message once; the child stores that text as it is (it no longer
    rebuilds the message from its fields and serialises it again)."""
    run_id = new_id()
    reply = AIMessage("", tool_calls=[{"name": "echo", "args": {"n": 1}, "id": "c1"}],
                      usage_metadata={"input_tokens": 3, "output_tokens": 1, "total_tokens": 4})
    asked = ToolMessage("42", tool_call_id="c1", name="echo")
    ((name, (rid, messages, seq), _),) = decode(encode(
        [("record_messages", (run_id, [reply, asked], 3), {})]))
    assert (name, rid, seq) == ("record_messages", run_id, 3)
    assert [type(m) for m in messages] == [EncodedMessage, EncodedMessage]
    assert [json.loads(m.data_json) for m in messages] == [
        message_to_dict(reply)["data"], message_to_dict(asked)["data"]]
    assert messages[0].tool_calls == reply.tool_calls and messages[1].content == "42"


def test_a_blob_of_something_else_is_refused() -> None:
    with pytest.raises(ValueError, match="not a trace records blob"):
        decode(b"\x80\x04not ours")


def test_nested_values_marshal_refuses_are_made_plain_and_others_sent_as_they_are() -> None:
    from agent.store.wire import _shallow

    kwargs = {"status": "ok", "metadata": {"why": Answer("x"), "n": [1, Answer("y")]}}
    ((name, args, sent),) = decode(encode([("finish_run", ("r1",), kwargs)]))
    assert (name, args, sent) == ("finish_run", ("r1",), kwargs)
    assert type(sent["metadata"]["why"]) is str and type(sent["metadata"]["n"][1]) is str
    plain = {"status": "ok", "metadata": {"planner_options": {"max_tools": 40}}}
    assert _shallow(plain) is plain  # marshal takes it: not copied
