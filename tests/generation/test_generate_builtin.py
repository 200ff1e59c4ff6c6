"""Generation over the built-in tools alone: their templates and parameter examples give a
varied dataset, offline, and the file and SQL tools run in the sandbox the plugins populate."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from agent.generation.job import GenerateOptions, generate
from agent.generation.quality import normalize
from agent.generation.worker import SANDBOX_PREFIX, make_setup, registry_for, sandbox_for
from agent.store import TraceStore
from agent.tools.samples import SHOP_DB, TEXT_FILES

BUILTIN = ["agent.tools.*"]
SAMPLED = {"calculate", "convert_units", "current_time", "convert_time", "date_difference",
           "add_to_date", "day_of_week", "list_files", "read_file", "search_files",
           "sqlite_query", "sqlite_schema"}


def test_builtin_tools_give_a_varied_validated_dataset(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    decoy = tmp_path / "user-files"  # the user's own files root: generation must not read it
    (decoy / "docs").mkdir(parents=True)
    (decoy / "docs" / "notes.txt").write_text("private notes\n")
    monkeypatch.setenv("AGENT_FILES_ROOT", str(decoy))
    n = 150
    with TraceStore(tmp_path / "t.db") as store:
        report = generate(GenerateOptions(n=n, seed=7, tools=BUILTIN, job="b"), store)
        runs = [store.get_run(r["id"]) for r in store.labelled_runs("job", "b")]
    registry = registry_for(make_setup())

    assert report.complete and len(runs) == n
    assert report.attempts < 2 * n, report.as_dict()  # few failures, few duplicates
    assert len({normalize(r["query"]) for r in runs}) == n
    assert set(report.skipped_tools) == {"http_get", "http_post"}
    assert "'url'" in report.skipped_tools["http_get"]
    assert "side effects" in report.skipped_tools["http_post"]
    per_tool = {name: row["examples"] for name, row in report.tools.items()}
    assert set(per_tool) == SAMPLED
    assert all(count >= 3 for count in per_tool.values()), per_tool
    for run in runs:
        assert run["status"] == "ok" and run["tool_calls"]
        for call in run["tool_calls"]:
            assert call["status"] == "success", call
            assert registry.tools[call["tool_name"]].is_valid(call["args"]), call
    calls = [c for r in runs for c in r["tool_calls"]]
    for call in calls:  # the sample workspace was read, not the user's files root
        if call["tool_name"] == "read_file" and "max_bytes" not in call["args"]:
            assert call["content"]["content"] == TEXT_FILES[call["args"]["path"]]
    queried = [c for c in calls if c["tool_name"] == "sqlite_query"]
    assert queried and all(c["args"]["database"] == SHOP_DB for c in queried)
    # a chain ran: search_files found the file that read_file then opened
    chains = [r["tool_calls"] for r in runs
              if [c["tool_name"] for c in r["tool_calls"]] == ["search_files", "read_file"]]
    assert chains
    for search, read in chains:
        assert read["args"]["path"] == search["content"]["matches"][0]["path"]


def test_the_sandbox_is_made_once_per_setup_and_populated_by_the_plugins() -> None:
    setup = make_setup(env={"AGENT_TEST_SANDBOX": "1"})
    settings = sandbox_for(setup)
    root = Path(settings["files_root"])
    assert root.is_dir() and root != Path(os.getcwd())
    assert (root / SHOP_DB).is_file()
    assert {p for p in TEXT_FILES if (root / p).is_file()} == set(TEXT_FILES)
    assert sandbox_for(setup) == settings  # cached: the same root for every example
    settings["files_root"] = "elsewhere"  # a caller's copy, not the cache
    assert sandbox_for(setup)["files_root"] == str(root)


def test_a_killed_workers_sandbox_is_removed_by_the_next_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # its pid is free once reaped
    dead.wait()
    stale = tmp_path / f"{SANDBOX_PREFIX}{dead.pid}-abc"
    live = tmp_path / f"{SANDBOX_PREFIX}{os.getpid()}-abc"
    other = tmp_path / f"{SANDBOX_PREFIX}notapid"
    for path in (stale, live, other):
        (path / "docs").mkdir(parents=True)
    root = Path(sandbox_for(make_setup(env={"AGENT_TEST_SANDBOX": "2"}))["files_root"])
    assert root.parent == tmp_path and root.name.startswith(f"{SANDBOX_PREFIX}{os.getpid()}-")
    assert not stale.exists() and live.exists() and other.exists()
