"""Crashed runs are marked on the next open; concurrent writer processes lose nothing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agent.store import TraceStore, new_id
from agent.store.migrations import MIGRATIONS

CRASH = textwrap.dedent("""
    import os, sys
    from agent.store import TraceStore
    store = TraceStore(sys.argv[1])
    store.start_run({"id": sys.argv[2], "query": "doomed"})
    store.record_step({"id": sys.argv[2] + "-s0", "run_id": sys.argv[2], "seq": 0,
                       "kind": "model", "started_at": 1.0, "ended_at": 2.0})
    print(os.getpid(), flush=True)
    os._exit(3)  # no close, no finish_run: like a kill -9 or a power cut in the process
""")


def test_run_of_a_dead_process_is_marked_interrupted(
    db_path: Path, child_env: dict[str, str]
) -> None:
    run_id = new_id()
    proc = subprocess.run([sys.executable, "-c", CRASH, str(db_path), run_id],
                          env=child_env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    pid = int(proc.stdout)

    with TraceStore(db_path) as store:
        assert store.interrupted_runs == [run_id]
        run = store.get_run(run_id)
    assert run["status"] == "interrupted"
    assert run["error"] == f"process {pid} exited before the run finished"
    assert run["ended_at"] is not None and run["ended_at"] >= run["started_at"]
    assert run["steps"][0]["kind"] == "model"  # what was written before the crash is kept

    with TraceStore(db_path) as store:  # marking happens once
        assert store.interrupted_runs == []


def test_runs_of_live_processes_and_other_hosts_stay_running(db_path: Path) -> None:
    mine, remote, dead_remote = new_id(), new_id(), new_id()
    with TraceStore(db_path) as store:
        store.start_run({"id": mine})  # pid = this (live) process
        store.start_run({"id": remote, "host": "another-host", "pid": 999_999_999})
        store.start_run({"id": dead_remote, "host": socket.gethostname() + "-not",
                         "pid": os.getpid()})
    with TraceStore(db_path) as store:
        assert store.interrupted_runs == []
        assert {r["id"]: r["status"] for r in store.list_runs()} == {
            mine: "running", remote: "running", dead_remote: "running"}


WRITER = textwrap.dedent("""
    import sys, time
    from agent.store import TraceStore
    path, tag, n, start_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    store = TraceStore(path, busy_timeout=30)
    while time.time() < start_at:  # both processes start writing at the same instant
        time.sleep(0.001)
    for r in range(n):
        run_id = f"{tag}-{r:05d}"
        store.start_run({"id": run_id, "query": f"q {r}"})
        step = run_id + "-s"
        store.record_step({"id": step, "run_id": run_id, "seq": 0, "kind": "tool_calls"})
        store.record_tool_calls([
            {"id": f"{run_id}-c{i}", "run_id": run_id, "step_id": step, "seq": i,
             "tool_name": "t", "args": {"i": i}, "content": "ok", "status": "success"}
            for i in range(3)
        ])
        store.finish_run(run_id, answer="done")
    store.close()
""")


def test_two_processes_writing_at_once_lose_no_rows(
    db_path: Path, child_env: dict[str, str]
) -> None:
    TraceStore(db_path).close()  # create the schema first; both writers then race
    n = 300
    start_at = time.time() + 2.0
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(db_path), tag, str(n),
                          str(start_at)], env=child_env, stderr=subprocess.PIPE, text=True)
        for tag in ("a", "b")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err

    with TraceStore(db_path) as store:
        count = {t: store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("runs", "steps", "tool_calls")}
        statuses = {r[0] for r in store.db.execute("SELECT DISTINCT status FROM runs")}
        per_writer = dict(store.db.execute(
            "SELECT substr(id, 1, 1), count(*) FROM runs GROUP BY 1").fetchall())
    assert count == {"runs": 2 * n, "steps": 2 * n, "tool_calls": 6 * n}
    assert statuses == {"ok"}
    assert per_writer == {"a": n, "b": n}


def test_fresh_file_opened_by_two_processes_at_once_migrates_once(
    db_path: Path, child_env: dict[str, str]
) -> None:
    code = textwrap.dedent("""
        import sys, time
        start_at = float(sys.argv[2])
        from agent.store import TraceStore
        while time.time() < start_at:
            time.sleep(0.001)
        TraceStore(sys.argv[1]).close()
    """)
    start_at = time.time() + 1.5
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db_path), str(start_at)],
                              env=child_env, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with TraceStore(db_path) as store:
        assert store.db.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(MIGRATIONS)


KILLED_MID_RUN = textwrap.dedent("""
    import asyncio, sys
    from agent import Agent, tool
    from agent.testing.scripted import call, scripted

    @tool
    async def look(n: int) -> str:
        \"\"\"Look something up.

        Args:
            n: which
        \"\"\"
        if n == 2:  # the second call: tell the parent, then hang until killed
            await asyncio.sleep(0.5)  # the writer commits what came before
            print("hanging", flush=True)
            await asyncio.sleep(120)
        return f"result {n}"

    class TwoSteps:
        name = "two-steps"

        async def run(self, task, env):
            for _ in range(2):
                reply = await env.call_model([("human", task.query)])
                await env.call_tools([{"name": c["name"], "args": c["args"], "id": c["id"]}
                                      for c in reply.tool_calls])

    agent = Agent(tools=[look], planner=TwoSteps(), store=sys.argv[1],
                  model=scripted(call("look", {"n": 1}, "a"), call("look", {"n": 2}, "b")))
    asyncio.run(agent.run("look twice"))
""")


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_a_killed_run_keeps_its_transcript_up_to_the_step_in_flight(
    db_path: Path, child_env: dict[str, str], writer: str
) -> None:
    """Killed with the writer thread, or with the writer process (which outlives it)."""
    child = subprocess.Popen([sys.executable, "-c", KILLED_MID_RUN, str(db_path)],
                             env={**child_env, "AGENT_TRACE_WRITER": writer},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "hanging", child.stderr.read() if child.stderr else ""
        child.kill()  # SIGKILL: no atexit, no flush
    finally:
        child.wait(timeout=60)
    with TraceStore(db_path) as store:
        [run] = store.list_runs()
        run = store.get_run(run["id"])
    assert run["status"] == "interrupted"
    messages = [(m["type"], m["data"]["data"].get("content") or
                 [c["args"] for c in m["data"]["data"].get("tool_calls") or ()])
                for m in run["messages"]]
    # the query, the first call and its result, and the second call, which was in flight
    assert messages == [("human", "look twice"), ("ai", [{"n": 1}]), ("tool", "result 1"),
                        ("ai", [{"n": 2}])]
    model_steps = [s for s in run["steps"] if s["kind"] == "model"]
    assert [s["data"]["message"] for s in model_steps] == [1, 3]
    [done, in_flight] = [s for s in run["steps"] if s["kind"] == "tool_calls"]
    assert done["status"] == "ok" and in_flight["status"] == "running"
