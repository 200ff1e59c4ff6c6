"""Filters, seeded splits, plugin exporters, the streaming scan and the nothing-matches error."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from agent.errors import ExporterNotFoundError, UsageError
from agent.export import (
    ExportError,
    NothingToExportError,
    build_filter,
    dataset_stats,
    export_runs,
    parse_split,
)
from agent.export.jsonl import JsonlSink
from agent.hookspecs import hookimpl
from agent.plugin_manager import load_plugins
from agent.registry import build_registry
from agent.store import TraceStore, new_id


def exporter(fmt: str, *extra: object):
    return build_registry(load_plugins(entry_points=False, extra=extra)).exporter(fmt)


def ids(store: TraceStore, **flags: Any) -> set[str]:
    return {run["id"] for run in store.scan(build_filter(**flags))}


def test_filters_select_by_status_source_label_tool_and_date(store: TraceStore, recorded):
    assert ids(store) == set(recorded.ok)
    assert ids(store, status=["needs_input"]) == {recorded.runs["needs_input"]}
    assert ids(store, status=["any"]) == {*recorded.ok, recorded.runs["needs_input"]}
    assert ids(store, status=["ok,needs_input"]) == ids(store, status=["any"])
    assert ids(store, source=["synthetic"]) == set(recorded.generated)
    # the `source` label (what `agent generate` sets) wins over the runs.source column
    assert ids(store, source=["agent"]) == set(recorded.ok) - set(recorded.generated)
    assert ids(store, label=["quality=good"]) == {recorded.runs["single"],
                                                  recorded.generated[0]}
    assert ids(store, label=["quality"]) == {recorded.runs["single"], *recorded.generated[:2]}
    assert ids(store, label=["quality=good"], source=["agent"]) == {recorded.runs["single"]}
    assert ids(store, tool=["convert_units"]) == {recorded.runs["dataflow"]}
    assert ids(store, tool=["convert_units", "nope"]) == {recorded.runs["dataflow"]}
    assert ids(store, since="1d") == set(recorded.ok)
    assert ids(store, until="2000-01-01") == set()
    assert ids(store, since="2000-01-01T00:00:00Z", limit=2) == set(sorted(recorded.ok)[:2])


@pytest.mark.parametrize(("flags", "message"), [
    ({"status": ["finished"]}, "unknown --status 'finished'"),
    ({"since": "last tuesday"}, "bad --since 'last tuesday'"),
    ({"label": ["=x"]}, "bad --label '=x'"),
    ({"limit": 0}, "bad --limit 0"),
    ({"since": "2026-02-01", "until": "2026-01-01"}, "is not before --until"),
])
def test_bad_filter_flags_are_usage_errors(flags, message):
    with pytest.raises(UsageError, match=message):
        build_filter(**flags)


@pytest.mark.parametrize(("spec", "message"), [
    ("train=0.9,test=0.2", "add up to 1.1, not 1"),
    ("train=0.9", "add up to 0.9"),
    ("train", "NAME=FRACTION"),
    ("train=abc,test=0.5", "give a number"),
    ("train=0,test=1", r"must be in \(0, 1\]"),
    ("train=0.5,train=0.5", "named twice"),
    ("my-split=0.5,test=0.5", "use letters, digits and _"),
])
def test_bad_split_specs_are_usage_errors(spec, message):
    with pytest.raises(UsageError, match=message):
        parse_split(spec)


def test_unknown_format_names_the_available_ones():
    with pytest.raises(ExporterNotFoundError, match=r"unknown export format 'csv' \(available: "
                       r"hf, openai, parquet, sharegpt\)"):
        exporter("csv")


def test_nothing_matches_raises_and_writes_nothing(store: TraceStore, tmp_path: Path):
    out = tmp_path / "out.jsonl"
    with pytest.raises(NothingToExportError, match=r"no runs match status=ok, tool=nope .* "
                       r"\(8 runs in all\)"):
        export_runs(store, exporter("openai"), build_filter(tool=["nope"]), out)
    assert [p.name for p in tmp_path.iterdir()] == ["agent-home"]  # no file, no .partial


@pytest.fixture
def many(tmp_path: Path) -> TraceStore:
    """300 runs over 100 distinct queries (three spellings each) and 4 tool sets."""
    store = TraceStore(tmp_path / "many.db")
    tool_sets = [["a"], ["b"], ["a", "b"], ["c"]]
    ops = []
    for i in range(300):
        q = i % 100
        query = [f"Query number {q}", f"query  number {q}", f"QUERY NUMBER {q} "][i // 100]
        run_id = new_id()
        tools = tool_sets[i % 4]
        messages = [{"type": "human", "data": {"content": query, "type": "human"}},
                    {"type": "ai", "data": {"content": "", "type": "ai", "tool_calls": [
                        {"name": t, "args": {"i": i}, "id": f"{t}{i}"} for t in tools]}},
                    *({"type": "tool", "data": {"content": "1", "tool_call_id": f"{t}{i}",
                                                "type": "tool"}} for t in tools),
                    {"type": "ai", "data": {"content": "done", "type": "ai"}}]
        ops += [("start_run", ({"id": run_id, "query": query, "status": "ok",
                                "started_at": time.time()},), {}),
                ("record_messages", (run_id, messages), {})]
    store.apply(ops)
    yield store
    store.close()


def _splits(store: TraceStore, spec) -> dict[str, str]:
    return {run["id"]: spec.assign(run) for run in store.scan(build_filter())}


def test_splits_are_seeded_deterministic_and_keep_a_query_in_one_split(many: TraceStore):
    spec = parse_split("train=0.8,test=0.2", seed=7)
    first = _splits(many, spec)
    assert first == _splits(many, parse_split("train=0.8,test=0.2", seed=7))
    assert first != _splits(many, parse_split("train=0.8,test=0.2", seed=8))
    by_query: dict[str, set[str]] = {}
    for run in many.scan(build_filter()):
        key = " ".join(run["query"].lower().split())
        by_query.setdefault(key, set()).add(first[run["id"]])
    assert len(by_query) == 100  # the three spellings of a query are one query
    assert all(len(splits) == 1 for splits in by_query.values())
    train = sum(1 for s in first.values() if s == "train")
    assert 0.65 < train / 300 < 0.95  # fractions hold in expectation over 100 keys


def test_split_by_tool_keeps_a_tool_set_in_one_split(many: TraceStore):
    spec = parse_split("train=0.5,test=0.5", by="tool", seed=1)
    seen: dict[str, set[str]] = {}
    for run in many.scan(build_filter()):
        seen.setdefault(spec.key(run), set()).add(spec.assign(run))
    assert set(seen) == {"a", "b", "a,b", "c"}
    assert all(len(splits) == 1 for splits in seen.values())


def test_export_split_files_match_assignment(many: TraceStore, tmp_path: Path):
    spec = parse_split("train=0.7,dev=0.1,test=0.2", seed=2)
    expected = _splits(many, spec)
    result = export_runs(many, exporter("parquet"), build_filter(), tmp_path / "pq", spec)
    assert result.total == 300
    assert result.counts == {name: sum(1 for s in expected.values() if s == name)
                             for name in ("train", "dev", "test")}
    import pyarrow.parquet as pq

    for name in ("train", "dev", "test"):
        table = pq.read_table(tmp_path / "pq" / f"{name}.parquet")
        assert sorted(table.column("id").to_pylist()) == sorted(
            i for i, s in expected.items() if s == name)


def test_scan_chunks_do_not_change_what_is_read(many: TraceStore):
    whole = list(many.scan(build_filter(), chunk_size=500))
    small = list(many.scan(build_filter(), chunk_size=7))
    assert [r["id"] for r in whole] == sorted(r["id"] for r in whole)
    assert small == whole
    assert all(len(r["messages"]) >= 4 for r in whole)


class Failing:
    """A plugin exporter that fails on the third run."""

    suffix = ".txt"
    stdout = False
    directory = False

    def __init__(self) -> None:
        self.seen = 0

    def record(self, run: dict[str, Any]) -> dict[str, Any]:
        self.seen += 1
        if self.seen == 3:
            raise RuntimeError("disk on fire")
        return {"q": run["query"]}

    def open(self, path: Path | None) -> JsonlSink:
        return JsonlSink(path)

    def split_path(self, directory: Path, split: str) -> Path:
        return directory / f"{split}.txt"


class FailingPlugin:
    @hookimpl
    def register_exporters(self, register):
        register("failing", Failing, "fails on purpose")


def test_plugin_exporter_is_used_and_a_failure_leaves_no_file(many: TraceStore, tmp_path: Path):
    fmt = exporter("failing", FailingPlugin())
    assert isinstance(fmt, Failing)
    out = tmp_path / "out.txt"
    with pytest.raises(RuntimeError, match="disk on fire"):
        export_runs(many, fmt, build_filter(), out)
    assert not out.exists() and not (tmp_path / "out.txt.partial").exists()
    good = Failing()
    good.seen = -10**6
    export_runs(many, good, build_filter(limit=5), out)
    assert [json.loads(line)["q"] for line in out.read_text().splitlines()] == [
        r["query"] for r in many.scan(build_filter(limit=5))]


def test_stats_count_examples_tools_sources_and_lengths(store: TraceStore, recorded):
    stats = dataset_stats(store.scan(build_filter()))
    assert stats["examples"] == len(recorded.ok)
    assert stats["by_source"] == {"agent": 4, "synthetic": 3}
    assert stats["by_planner"]["react"] == 3
    assert stats["tools"]["calculate"] == {"examples": 6, "calls": 7}
    assert stats["tools"]["convert_units"] == {"examples": 1, "calls": 1}
    assert stats["calls_histogram"] == {"1": 6, "2": 1}
    calls = stats["per_example"]["calls"]
    assert (calls["min"], calls["median"], calls["max"]) == (1, 1, 2)
    assert stats["per_example"]["messages"]["max"] == 5
    assert stats["per_example"]["chars"]["min"] > len("add 1 and 2")


def test_an_unwritable_output_is_one_line(store: TraceStore, tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ExportError, match=r"cannot write to .*file.* choose another -o"):
        export_runs(store, exporter("openai"), build_filter(), blocker / "out.jsonl")
    assert blocker.read_text() == "not a directory"
