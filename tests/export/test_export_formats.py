"""Every built-in format from a store made by real runs: shapes, contents, loadability."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from agent.export import build_filter, export_runs, parse_split
from agent.export.openai import OPENAI_RECORD_SCHEMA
from agent.plugin_manager import load_plugins
from agent.registry import build_registry
from agent.store import TraceStore


def exporter(fmt: str):
    return build_registry(load_plugins(entry_points=False)).exporter(fmt)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def by_query(records: list[dict], key=lambda r: r["messages"][0]["content"]) -> dict:
    return {key(r): r for r in records}


def check_tool_links(messages: list[dict]) -> None:
    """Every tool message answers a call of an earlier assistant message, in order."""
    pending: list[str] = []
    for m in messages:
        if m["role"] == "assistant" and "tool_calls" in m:
            assert not pending, "calls left unanswered before the next assistant turn"
            pending = [c["id"] for c in m["tool_calls"]]
        elif m["role"] == "tool":
            assert pending and m["tool_call_id"] == pending.pop(0)
    assert not pending


def test_openai_records_have_the_fine_tuning_shape(store: TraceStore, recorded, tmp_path):
    out = tmp_path / "train.jsonl"
    result = export_runs(store, exporter("openai"), build_filter(), out)
    records = lines(out)
    assert result.total == len(records) == len(recorded.ok)  # needs_input left out
    for record in records:
        jsonschema.validate(record, OPENAI_RECORD_SCHEMA)
        check_tool_links(record["messages"])
        assert record["messages"][0]["role"] == "user"
        assert record["messages"][-1]["role"] == "assistant"
        for m in record["messages"]:
            for c in m.get("tool_calls", ()):
                assert isinstance(json.loads(c["function"]["arguments"]), dict)
    records = by_query(records)

    single = records["what is 2+3?"]["messages"]
    assert [m["role"] for m in single] == ["user", "assistant", "tool", "assistant"]
    assert single[1]["tool_calls"] == [{"id": "c1", "type": "function", "function": {
        "name": "calculate", "arguments": '{"expression": "2+3"}'}}]
    assert json.loads(single[2]["content"]) == {"expression": "2+3", "result": 5}
    assert single[3] == {"role": "assistant", "content": "It is 5."}  # said once, not twice

    parallel = records["what are 6*7 and 2**10?"]["messages"]
    assert [m["role"] for m in parallel] == ["user", "assistant", "tool", "tool", "assistant"]
    assert parallel[1]["content"] == "Two sums."
    assert [json.loads(m["content"])["result"] for m in parallel[2:4]] == [42, 1024]

    # The tool's error reaches the data exactly as the run recorded it.
    failing = records["what is 2+?"]["messages"]
    run = store.get_run(recorded.runs["failing"])
    recorded_tool = next(m["data"]["data"] for m in run["messages"] if m["type"] == "tool")
    assert recorded_tool["status"] == "error"
    assert failing[2] == {"role": "tool", "tool_call_id": "e1",
                          "content": recorded_tool["content"]}

    # The dataflow planner's calls come out in the same shape.
    flow = records["how many miles is 42.195 km"]
    assert flow["messages"][1]["tool_calls"][0]["function"]["name"] == "convert_units"
    assert {t["function"]["name"] for t in flow["tools"]} == {"calculate", "convert_units"}

    # `tools` are the specs offered to the run, as recorded.
    spec = records["what is 2+3?"]["tools"]
    assert [t["function"]["name"] for t in spec] == ["calculate"]
    assert spec[0]["function"]["parameters"]["required"] == ["expression"]


def test_sharegpt_is_toolbench_style(store: TraceStore, tmp_path):
    out = tmp_path / "sharegpt.jsonl"
    export_runs(store, exporter("sharegpt"), build_filter(), out)
    records = {r["query"]: r for r in lines(out)}
    conv = records["what are 6*7 and 2**10?"]["conversations"]
    assert [t["from"] for t in conv] == ["system", "user", "assistant", "function",
                                         "assistant", "function", "assistant"]
    system = conv[0]["value"]
    functions = json.loads(system[system.index("["):])
    assert [f["name"] for f in functions] == ["calculate", "Finish"]
    assert conv[2]["value"] == ('\nThought: Two sums.\nAction: calculate\n'
                                'Action Input: {"expression": "6*7"}')
    assert conv[4]["value"].endswith('Action: calculate\nAction Input: {"expression": "2**10"}')
    assert json.loads(json.loads(conv[3]["value"])["response"])["result"] == 42
    finish = conv[-1]["value"]
    assert "Action: Finish" in finish
    assert json.loads(finish.split("Action Input: ", 1)[1]) == {
        "return_type": "give_answer", "final_answer": "42 and 1024."}

    failing = records["what is 2+?"]["conversations"]
    observation = json.loads(failing[3]["value"])
    assert observation["error"].startswith("Error:") and observation["response"] == ""


def test_a_run_without_an_answer_gives_up_in_sharegpt(store: TraceStore, recorded, tmp_path):
    out = tmp_path / "s.jsonl"
    export_runs(store, exporter("sharegpt"), build_filter(status=["needs_input"]), out)
    [record] = lines(out)
    assert record["id"] == recorded.runs["needs_input"]
    last = record["conversations"][-1]["value"]
    assert json.loads(last.split("Action Input: ", 1)[1]) == {
        "return_type": "give_up_and_restart"}


def test_parquet_file_loads_with_datasets(store: TraceStore, recorded, tmp_path, hf_offline):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "runs.parquet"
    export_runs(store, exporter("parquet"), build_filter(), out)
    ds = datasets.load_dataset("parquet", data_files=str(out), split="train")
    assert len(ds) == len(recorded.ok)
    assert set(ds["id"]) == set(recorded.ok)
    row = next(r for r in ds if r["id"] == recorded.runs["parallel"])
    roles = [m["role"] for m in row["messages"]]
    assert roles == ["user", "assistant", "tool", "tool", "assistant"]
    call = row["messages"][1]["tool_calls"][0]
    assert call["function"] == {"name": "calculate", "arguments": '{"expression": "6*7"}'}
    assert row["messages"][2]["name"] == "calculate" and row["messages"][2]["status"] == "success"
    assert row["tools_called"] == ["calculate", "calculate"]
    assert json.loads(row["tools"])[0]["function"]["name"] == "calculate"
    assert row["source"] == "agent" and row["status"] == "ok" and row["planner"] == "react"
    labelled = next(r for r in ds if r["id"] == recorded.runs["single"])
    assert json.loads(labelled["labels"]) == {"quality": "good"}


def test_hf_directory_loads_by_split_name(store: TraceStore, recorded, tmp_path, hf_offline):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "ds"
    spec = parse_split("train=0.5,test=0.5", seed=3)
    result = export_runs(store, exporter("hf"), build_filter(status=["any"]), out, spec)
    written = {name for name, n in result.counts.items() if n}
    assert (out / "README.md").read_text().startswith("---\nconfigs:")
    for name in written:
        assert result.paths[name].parent == out / "data" and result.paths[name].is_file()
        assert result.paths[name].name.startswith(f"{name}-00000-of-00001-")
    assert not list(out.rglob("*.partial"))
    ds = datasets.load_dataset(str(out))
    assert set(ds) == written
    assert {name: len(ds[name]) for name in ds} == {n: result.counts[n] for n in written}
    assert sum(len(ds[name]) for name in ds) == len(recorded.ok) + 1  # + needs_input
    for name in ds:
        for row in ds[name]:
            assert spec.assign({"query": row["query"]}) == name


def test_hf_without_split_is_one_train_split(store: TraceStore, recorded, tmp_path, hf_offline):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "ds"
    export_runs(store, exporter("hf"), build_filter(), out)
    ds = datasets.load_dataset(str(out))
    assert list(ds) == ["train"] and len(ds["train"]) == len(recorded.ok)
    # Exporting again into the same directory replaces the data; nothing stale is loaded
    # (datasets caches by the card's file names, so each export names its files anew).
    result = export_runs(store, exporter("hf"), build_filter(limit=2), out)
    assert sorted((out / "data").iterdir()) == [result.paths["train"]]
    ds = datasets.load_dataset(str(out))
    assert len(ds["train"]) == 2


def test_jsonl_split_writes_one_file_per_split(store: TraceStore, recorded, tmp_path):
    out = tmp_path / "splits"
    spec = parse_split("train=0.6,test=0.4", seed=1)
    result = export_runs(store, exporter("openai"), build_filter(), out, spec)
    files = {p.name for p in out.iterdir()}
    assert files == {f"{name}.jsonl" for name, n in result.counts.items() if n}
    total = sum(len(lines(out / f)) for f in files)
    assert total == result.total == len(recorded.ok)
