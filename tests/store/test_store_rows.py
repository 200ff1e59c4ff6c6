"""The writer's fast row builders store exactly what the general ones do."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    message_to_dict,
)

from agent.store import TraceStore, new_id
from agent.store.redact import REDACTED
from agent.types import Step

MESSAGES: list[BaseMessage] = [
    HumanMessage("héllo ✓ — quoted \"text\"", name="bob"),
    SystemMessage("be brief"),
    AIMessage("", tool_calls=[{"name": "add", "args": {"a": [1, 2.5, None, "ü"]}, "id": "c1"}],
              usage_metadata={"input_tokens": 12, "output_tokens": 3, "total_tokens": 15},
              response_metadata={"model_name": "m", "finish_reason": "tool_calls"}),
    AIMessage([{"type": "text", "text": "part one"}, "part two"], id="m-1"),
    AIMessage("", invalid_tool_calls=[{"name": "add", "args": "{bad", "id": "c2",
                                       "error": "not JSON", "type": "invalid_tool_call"}]),
    AIMessageChunk(content="a chunk", id="chunk-1"),
    ToolMessage("3", tool_call_id="c1", name="add", artifact={"raw": [3]}, status="error"),
]


def test_message_objects_are_stored_as_their_dict_form(store: TraceStore) -> None:
    as_objects, as_dicts = new_id(), new_id()
    store.start_run({"id": as_objects})
    store.start_run({"id": as_dicts})
    store.record_messages(as_objects, MESSAGES)
    store.record_messages(as_dicts, [message_to_dict(m) for m in MESSAGES])

    stored = [store.get_run(run_id)["messages"] for run_id in (as_objects, as_dicts)]
    assert len(stored[0]) == len(MESSAGES)
    for from_object, from_dict in zip(*stored, strict=True):
        assert from_object["data"] == from_dict["data"]
        assert from_object["content"] == from_dict["content"]
        assert from_object["type"] == from_dict["type"]
    # The searchable text holds the content and the calls a message makes.
    assert stored[0][2]["content"] == 'add {"a":[1,2.5,null,"ü"]}'
    assert stored[0][3]["content"] == "part one\npart two"
    # ... and is in the full-text index.
    assert {run["id"] for run in store.search("chunk")} == {as_objects, as_dicts}


def test_a_long_message_object_is_cut_and_one_with_a_secret_redacted(tmp_path: Path) -> None:
    with TraceStore(tmp_path / "t.db", max_content_bytes=100) as store:
        run_id = store.start_run({"id": new_id()})
        store.record_messages(run_id, [
            AIMessage("x" * 1000),
            AIMessage("ok", additional_kwargs={"api_key": "plain-value-1234"}),
        ])
        long, secret = store.get_run(run_id)["messages"]
    assert long["data"]["data"]["content"].endswith("[truncated: 100 of 1000 bytes kept]")
    assert secret["data"]["data"]["additional_kwargs"] == {"api_key": REDACTED}


def _step(run_id: str, **changes: object) -> Step:
    step = Step(new_id(), run_id, 1, "tool_calls", "http", started_at=1.0)
    for key, value in changes.items():
        setattr(step, key, value)
    return step


def test_a_whole_step_record_is_stored_like_the_same_fields_given_one_by_one(
    store: TraceStore,
) -> None:
    run_id = store.start_run({"id": new_id()})
    whole = _step(run_id, status="ok", ended_at=2.0, duration_ms=1000.0, tokens_in=3,
                  data={"calls": 2, "url": "https://x.io/?access_token=abcdef123456"})
    whole.name = "token=abcdef123456 http"
    partial = _step(run_id, seq=2, name=whole.name, data=whole.data)
    store.record_step(whole.record())
    store.record_step({key: value for key, value in partial.record().items()
                       if value is not None})

    rows = {row["id"]: row for row in store.get_run(run_id)["steps"]}
    a, b = rows[whole.id], rows[partial.id]
    assert a["name"] == b["name"] == f"token={REDACTED} http"
    assert a["data"] == b["data"] == {"calls": 2, "url": f"https://x.io/?access_token={REDACTED}"}
    assert (a["status"], a["ended_at"], a["duration_ms"], a["tokens_in"]) == ("ok", 2.0, 1000.0, 3)

    # Written again when it ends (as the object itself, which is what the trace writer
    # hands over): the same row, updated, not a second one.
    whole.status = "error"
    store.record_step(whole)
    steps = store.get_run(run_id)["steps"]
    assert len(steps) == 2
    again = {row["id"]: row for row in steps}[whole.id]
    assert again["status"] == "error"
    assert {k: v for k, v in again.items() if k != "status"} == {
        k: v for k, v in a.items() if k != "status"}


def test_a_step_object_missing_a_column_is_refused_with_the_reason(store: TraceStore) -> None:
    class Partial:
        id, run_id, seq = new_id(), new_id(), 1

    with pytest.raises(TypeError, match="every step column as an attribute"):
        store.record_step(Partial())


def test_a_whole_step_record_without_a_run_is_refused(store: TraceStore) -> None:
    record = _step("").record()
    with pytest.raises(ValueError, match="needs an 'id' and a 'run_id'"):
        store.record_step(record)


def test_stored_json_is_compact_and_writes_what_json_has_no_type_for() -> None:
    import dataclasses
    import json

    from agent.store.redact import dumps

    @dataclasses.dataclass
    class Point:
        x: int

    assert dumps({"a": [1, 2.5, None], "b": "ü\""}) == '{"a":[1,2.5,null],"b":"ü\\""}'
    assert dumps("plain") == '"plain"'
    assert json.loads(dumps({"set": {3}, "point": Point(1), "raw": b"xy", "other": object})) == {
        "set": [3], "point": {"x": 1}, "raw": "xy", "other": str(object)}
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match=r"[Cc]ircular"):
        dumps(cycle)
