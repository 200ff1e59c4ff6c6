"""A run written step by step reads back whole, by full id or unique prefix."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage, messages_from_dict

from agent.store import StoreError, TraceStore, args_hash, new_id, tool_hash

RecordRun = Callable[..., str]


def test_new_id_is_unique_hex_and_time_ordered() -> None:
    ids = [new_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    later = (time.sleep(0.001), new_id())[1]
    assert max(ids) < later
    assert ids[0] < ids[-1]


def test_run_round_trips(store: TraceStore) -> None:
    run_id = new_id()
    tools = [
        {"name": "get_weather", "description": "Weather for a city",
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
         "plugin": "weather"},
        {"name": "add", "description": "Add numbers", "parameters": {"type": "object"},
         "plugin": "math"},
    ]
    started = time.time()
    store.start_run({"id": run_id, "query": "weather in Paris?", "planner": "react",
                     "model": "scripted", "session_id": "s1", "started_at": started,
                     "metadata": {"temperature": 0}}, tools=tools)
    root, child = new_id(), new_id()
    store.record_step({"id": root, "run_id": run_id, "seq": 0, "kind": "model",
                       "status": "ok", "started_at": started, "data": {"prompt": "p"}})
    store.record_step({"id": child, "run_id": run_id, "parent_id": root, "seq": 1,
                       "kind": "tool_calls", "status": "running", "started_at": started + 1})
    calls = [
        {"id": new_id(), "run_id": run_id, "step_id": child, "call_id": "call_1", "seq": 0,
         "tool_name": "get_weather", "tool_hash": tool_hash(**{k: tools[0][k] for k in
                                                               ("name", "description",
                                                                "parameters")}),
         "args": {"city": "Paris"}, "status": "success", "content": {"temp_c": 21},
         "started_at": started + 1, "duration_ms": 12.5, "attempts": 1},
        {"id": new_id(), "run_id": run_id, "step_id": child, "call_id": "call_2", "seq": 1,
         "tool_name": "add", "args": {"a": 1, "b": 2}, "status": "error", "content": None,
         "error": "boom", "attempts": 2},
    ]
    store.record_tool_calls(calls)
    # The step ends: only the changed columns are written, the rest is kept.
    store.record_step({"id": child, "run_id": run_id, "status": "ok", "ended_at": started + 2})
    messages = [
        HumanMessage("weather in Paris?"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"},
                                   "id": "call_1"}]),
        ToolMessage('{"temp_c": 21}', tool_call_id="call_1"),
        AIMessage("It is 21 C in Paris."),
    ]
    store.record_messages(run_id, messages)
    store.finish_run(run_id, answer="It is 21 C in Paris.", tokens_in=10, tokens_out=5)
    store.set_label(run_id, "split", "train")

    run = store.get_run(run_id[:8])
    assert run["id"] == run_id
    assert run["status"] == "ok"
    assert run["answer"] == "It is 21 C in Paris."
    assert run["metadata"] == {"temperature": 0}
    assert (run["tokens_in"], run["tokens_out"]) == (10, 5)
    assert run["ended_at"] >= started and run["duration_ms"] >= 0
    assert isinstance(run["pid"], int) and run["host"]

    assert [s["id"] for s in run["steps"]] == [root, child]
    assert run["steps"][1]["parent_id"] == root
    assert run["steps"][1]["kind"] == "tool_calls"  # kept by the partial update
    assert run["steps"][1]["status"] == "ok"
    assert run["steps"][0]["data"] == {"prompt": "p"}

    first, second = run["tool_calls"]
    assert first["args"] == {"city": "Paris"} and first["content"] == {"temp_c": 21}
    assert first["args_hash"] == args_hash({"city": "Paris"})
    assert first["truncated"] == 0 and first["duration_ms"] == 12.5
    assert second["status"] == "error" and second["error"] == "boom"
    assert second["content"] is None and second["attempts"] == 2

    assert [m["seq"] for m in run["messages"]] == [0, 1, 2, 3]
    assert [m["type"] for m in run["messages"]] == ["human", "ai", "tool", "ai"]
    restored = messages_from_dict([m["data"] for m in run["messages"]])
    assert restored[1].tool_calls[0]["args"] == {"city": "Paris"}
    assert restored[2].tool_call_id == "call_1"
    assert restored[3].content == "It is 21 C in Paris."

    assert run["labels"] == [{"key": "split", "value": "train"}]
    assert [t["name"] for t in run["tools"]] == ["add", "get_weather"]
    assert run["tools"][1]["parameters"]["properties"]["city"] == {"type": "string"}

    assert [c["call_id"] for c in store.iter_tool_calls(run_id)] == ["call_1", "call_2"]


def test_list_runs_newest_first_with_counts_and_filters(
    store: TraceStore, record_run: RecordRun
) -> None:
    old = record_run(store, calls=3, started_at=1000.0, session_id="a")
    new = record_run(store, calls=1, started_at=2000.0, session_id="b")
    failed = new_id()
    store.start_run({"id": failed, "query": "x", "started_at": 1500.0, "session_id": "a"})
    store.finish_run(failed, error="planner crashed")

    runs = store.list_runs()
    assert [r["id"] for r in runs] == [new, failed, old]
    assert [r["tool_call_count"] for r in runs] == [1, 0, 3]
    assert runs[1]["status"] == "error"
    assert [r["id"] for r in store.list_runs(status="error")] == [failed]
    assert [r["id"] for r in store.list_runs(session_id="a")] == [failed, old]
    assert len(store.list_runs(limit=1)) == 1


def test_tools_are_deduplicated_across_runs(
    store: TraceStore, record_run: RecordRun
) -> None:
    a, b = record_run(store), record_run(store)
    assert store.db.execute("SELECT count(*) FROM tools").fetchone()[0] == 1
    assert store.db.execute("SELECT count(*) FROM run_tools").fetchone()[0] == 2
    assert store.get_run(a)["tools"] == store.get_run(b)["tools"]


def test_tool_hash_changes_with_description_or_schema() -> None:
    base = tool_hash("f", "d", {"type": "object"})
    assert base == tool_hash("f", "d", {"type": "object"})
    assert base != tool_hash("f", "other", {"type": "object"})
    assert base != tool_hash("f", "d", {"type": "string"})
    # Key order of the schema does not matter: the JSON is canonical.
    assert tool_hash("f", "d", {"a": 1, "b": 2}) == tool_hash("f", "d", {"b": 2, "a": 1})


def test_a_tool_offered_again_is_one_row_and_a_changed_one_is_another(
    store: TraceStore,
) -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    tool = {"name": "f", "description": "d", "parameters": schema, "plugin": "p"}
    for i in range(3):  # the same tool object, run after run (its row is built once)
        store.start_run({"id": f"run{i}"}, [dict(tool)])
    same_text = {**tool, "parameters": {"type": "object", "properties": {"q": {"type":
                                                                              "string"}}}}
    store.start_run({"id": "run3"}, [same_text])  # an equal schema in another object
    store.start_run({"id": "run4"}, [{**tool, "parameters": {"type": "object"}}])
    store.start_run({"id": "run5"}, [{**tool, "description": "changed"}])
    hashes = [r[0] for r in store.db.execute(
        "SELECT tool_hash FROM run_tools ORDER BY run_id")]
    assert hashes[0] == hashes[1] == hashes[2] == hashes[3]
    assert len({hashes[0], hashes[4], hashes[5]}) == 3
    assert hashes[0] == tool_hash("f", "d", schema)
    assert store.db.execute("SELECT count(*) FROM tools").fetchone()[0] == 3


def test_messages_are_upserted_by_seq(
    store: TraceStore, record_run: RecordRun
) -> None:
    run_id = record_run(store)
    store.record_messages(run_id, [AIMessage("revised answer")], start_seq=1)
    store.record_messages(run_id, [("human", "thanks"), {"role": "assistant", "content": "ok"}],
                          start_seq=2)
    messages = store.get_run(run_id)["messages"]
    assert [m["content"] for m in messages] == [
        "what is the weather in Paris?", "revised answer", "thanks", "ok"
    ]
    assert store.search("revised")[0]["id"] == run_id
    assert store.search("sunny") == []  # the replaced text left the full-text index too


def test_start_run_again_updates_the_run(
    store: TraceStore, record_run: RecordRun
) -> None:
    run_id = record_run(store)
    store.start_run({"id": run_id, "status": "running"})  # resumed
    run = store.get_run(run_id)
    assert run["status"] == "running"
    assert run["query"] == "what is the weather in Paris?"
    assert run["tool_calls"]  # children survive


def test_finish_run_defaults(store: TraceStore) -> None:
    run_id = new_id()
    store.start_run({"id": run_id, "started_at": time.time() - 1})
    store.finish_run(run_id, error="boom")
    run = store.get_run(run_id)
    assert run["status"] == "error" and run["error"] == "boom"
    assert 900 < run["duration_ms"] < 60_000


def test_store_can_be_used_from_another_thread(
    store: TraceStore, record_run: RecordRun
) -> None:
    errors: list[BaseException] = []
    ids: list[str] = []

    def work() -> None:
        try:
            ids.append(record_run(store))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert errors == []
    assert store.get_run(ids[0])["status"] == "ok"


def test_close_is_idempotent_and_a_closed_store_says_so(db_path: Path) -> None:
    store = TraceStore(db_path)
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.list_runs()


def test_an_in_memory_store_works() -> None:
    with TraceStore(":memory:") as store:
        store.start_run({"id": "abcd"})
        assert store.get_run("abcd")["status"] == "running"
