"""Oversized tool output is cut in the store, with a marker and a flag."""

from __future__ import annotations

import json
from pathlib import Path

from agent.store import TraceStore, new_id
from agent.store.encode import truncate_text


def _call(run_id: str, content: object) -> dict[str, object]:
    return {"id": new_id(), "run_id": run_id, "seq": 0, "tool_name": "dump",
            "status": "success", "args": {}, "content": content}


def test_large_content_is_truncated_with_marker(tmp_path: Path) -> None:
    with TraceStore(tmp_path / "t.db", max_content_bytes=1000) as store:
        run_id = store.start_run({"id": new_id()})
        store.record_tool_calls([_call(run_id, "x" * 5000)])
        stored = store.db.execute("SELECT content, truncated FROM tool_calls").fetchone()
        call = next(store.iter_tool_calls(run_id))
    text, flag = stored
    encoded_size = len(json.dumps("x" * 5000).encode())
    assert flag == 1 and call["truncated"] == 1
    assert text.endswith(f"…[truncated: 1000 of {encoded_size} bytes kept]")
    assert text.startswith('"xxx')
    assert len(text.encode()) < 1100
    assert call["content"] == text  # no longer JSON: returned as the stored text


def test_small_content_is_kept_whole(tmp_path: Path) -> None:
    with TraceStore(tmp_path / "t.db", max_content_bytes=1000) as store:
        run_id = store.start_run({"id": new_id()})
        store.record_tool_calls([_call(run_id, {"rows": list(range(50))})])
        call = next(store.iter_tool_calls(run_id))
    assert call["truncated"] == 0
    assert call["content"] == {"rows": list(range(50))}


def test_truncation_never_splits_a_character() -> None:
    text, cut = truncate_text("é" * 100, 51)  # 2 bytes each: 51 falls inside one
    assert cut
    kept = text.split("…[truncated")[0]
    assert kept == "é" * 25
    assert text.endswith("[truncated: 50 of 200 bytes kept]")
    assert truncate_text("é" * 10, 20) == ("é" * 10, False)


def test_long_message_content_is_truncated_too(tmp_path: Path) -> None:
    with TraceStore(tmp_path / "t.db", max_content_bytes=100) as store:
        run_id = store.start_run({"id": new_id()})
        store.record_messages(run_id, [{"type": "tool", "data": {
            "type": "tool", "content": "y" * 1000, "tool_call_id": "c1"}}])
        message = store.get_run(run_id)["messages"][0]
    assert message["data"]["data"]["content"].endswith("[truncated: 100 of 1000 bytes kept]")
    assert len(message["content"]) < 200
