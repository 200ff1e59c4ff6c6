"""The trace writer process (agent.writer_process, agent.store.child): a real child process
writing a real SQLite file; killed, refused, stopped, it loses nothing."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import agent.recorder as recorder_module
import agent.writer_choice as writer_choice_module
from agent import Agent
from agent.errors import UsageError
from agent.store.child import HEADER, Frames
from agent.store.wire import encode

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the writer process is POSIX-only")


async def echo(text: str) -> dict[str, Any]:
    """Echo the text back.

    Args:
        text: anything
    """
    return {"echo": text}


def _agent(path: Path, writer: str) -> Agent:
    return Agent(tools=[echo], store=path, trace_writer=writer)


async def _run_calls(agent: Agent, n: int) -> list[str]:
    ids = []
    for i in range(n):
        run = await agent.run_plan([{"name": "echo", "args": {"text": f"call {i}"}}],
                                   query=f"echo {i}")
        assert run.status == "ok"
        ids.append(run.id)
    return ids


def _count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


async def _ready(agent: Agent, seconds: float = 20.0) -> Any:
    """The recorder, once its writer process has taken over."""
    recorder = agent._recorder()
    deadline = time.monotonic() + seconds
    while recorder.active_writer != "process":
        assert time.monotonic() < deadline, "the writer process did not start"
        await asyncio.sleep(0.02)
    return recorder


async def _busy_until_process(agent: Agent, seconds: float = 20.0) -> None:
    """Runs, 50 between flushes, until ``auto`` has handed the trace to a writer process."""
    deadline = time.monotonic() + seconds
    while agent._recorder().active_writer != "process":
        assert time.monotonic() < deadline, "auto never started the writer process"
        await _run_calls(agent, 50)
        await agent.aflush()


async def test_a_writer_process_stores_every_run(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    agent = _agent(path, "process")
    recorder = await _ready(agent)
    child = recorder._process.proc
    ids = await _run_calls(agent, 30)
    await agent.aflush()
    assert _count(path, "runs") == 30 and _count(path, "tool_calls") == 30
    run = agent.store.get_run(ids[-1])
    assert run["status"] == "ok" and run["tool_calls"][0]["content"] == {"echo": "call 29"}
    assert child.poll() is None  # a real process of its own, still there
    agent.close()
    assert child.wait(10) == 0 and recorder.errors == []


async def test_a_run_waits_for_a_writer_process_that_has_fallen_far_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs made faster than they are written would pile up in memory without end."""
    path = tmp_path / "t.db"
    agent = _agent(path, "process")
    recorder = await _ready(agent)
    limit = 3000  # bytes: a few runs' records
    monkeypatch.setattr(recorder_module, "MAX_BEHIND_BYTES", limit)
    for _ in range(40):
        await _run_calls(agent, 1)
        assert recorder._process.unconfirmed_bytes <= limit  # never further behind
    agent.close()
    assert _count(path, "runs") == 40 and recorder.errors == []


async def test_a_run_waits_for_a_writer_thread_that_has_fallen_far_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.db"
    agent = _agent(path, "thread")
    recorder = agent._recorder()
    monkeypatch.setattr(recorder_module, "MAX_BEHIND_RECORDS", 2)
    for _ in range(30):
        await _run_calls(agent, 1)  # each queues ~8 records
        assert len(recorder._pending) <= 2
    agent.close()
    assert _count(path, "runs") == 30 and _count(path, "tool_calls") == 30


async def test_a_killed_writer_process_loses_nothing(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "t.db"
    agent = _agent(path, "process")
    recorder = await _ready(agent)
    child = recorder._process.proc
    os.kill(child.pid, signal.SIGSTOP)  # it takes the frames and commits none
    await _run_calls(agent, 20)
    recorder._send()  # everything is in the pipe (or its backlog), nothing confirmed
    os.kill(child.pid, signal.SIGKILL)
    with caplog.at_level(logging.WARNING, logger="agent.trace"):
        await agent.aflush()
    assert _count(path, "runs") == 20 and _count(path, "tool_calls") == 20
    assert recorder.active_writer == "thread" and recorder.writer == "thread"
    assert "the trace writer process ended" in caplog.text
    await _run_calls(agent, 2)  # and the runs after it are written here
    await agent.aflush()
    assert _count(path, "runs") == 22 and recorder.errors == []
    agent.close()


@pytest.mark.parametrize("writer", ["process", "thread"])
async def test_a_record_the_store_refuses_is_reported_and_the_others_kept(
        tmp_path: Path, writer: str) -> None:
    path = tmp_path / "t.db"
    agent = _agent(path, writer)
    recorder = await _ready(agent) if writer == "process" else agent._recorder()
    await _run_calls(agent, 2)
    recorder.put("set_label", "no-such-run", "split", "train")  # in the third run's batch
    await _run_calls(agent, 2)
    await agent.aflush()
    assert _count(path, "runs") == 4 and _count(path, "tool_calls") == 4
    assert len(recorder.errors) == 1, recorder.errors
    assert recorder.errors[0].startswith("trace write failed")
    assert "set_label: RunNotFoundError: no run 'no-such-run'" in recorder.errors[0]
    agent.close()


@pytest.fixture
def eager_auto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Agent:
    """An ``auto`` agent whose writer process is worth starting after 50 records a second."""
    monkeypatch.setattr(writer_choice_module, "PROCESS_AFTER", 50)
    return _agent(tmp_path / "t.db", "auto")


async def test_auto_hands_a_busy_trace_to_a_writer_process(
        tmp_path: Path, eager_auto: Agent) -> None:
    path, agent = tmp_path / "t.db", eager_auto
    await _run_calls(agent, 2)
    await agent.aflush()
    assert agent._recorder().active_writer == "thread"  # a few records: no process
    await _busy_until_process(agent)
    await _run_calls(agent, 5)
    await agent.aflush()
    total = _count(path, "runs")
    assert total >= 57 and _count(path, "tool_calls") == total
    agent.close()


async def test_auto_keeps_the_thread_for_a_caller_that_waits_for_every_commit(
        tmp_path: Path, eager_auto: Agent) -> None:
    """A flush after every run would wait for a round trip to the child each time."""
    path, agent = tmp_path / "t.db", eager_auto
    recorder = agent._recorder()
    for _ in range(60):  # many records, but a flush after each run
        await _run_calls(agent, 1)
        await agent.aflush()
    assert recorder._starting is None and recorder.active_writer == "thread"
    await _busy_until_process(agent)  # now runs without waiting: it starts
    child = recorder._process.proc
    for _ in range(40):  # waiting for each commit again: back to the thread
        await _run_calls(agent, 1)
        await agent.aflush()
    assert recorder.active_writer == "thread" and child.wait(10) == 0
    await _run_calls(agent, 60)  # busy again: the caller is known now, no new child
    await agent.aflush()
    assert recorder._starting is None and recorder.writer == "thread"
    assert _count(path, "runs") == _count(path, "tool_calls") >= 160
    assert recorder.errors == []
    agent.close()


def test_the_writer_is_chosen_by_argument_or_by_the_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.config import load_config

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AGENT_TRACE_WRITER", "thread")
    assert _agent(tmp_path / "a.db", None)._trace_writer == "auto"  # Agent() reads no config
    assert _agent(tmp_path / "a.db", "process")._trace_writer == "process"
    config = load_config()
    assert config.settings["trace_writer"].source == "$AGENT_TRACE_WRITER"
    assert Agent.from_config(config, store=False)._trace_writer == "thread"
    monkeypatch.delenv("AGENT_TRACE_WRITER")
    (tmp_path / "agent.toml").write_text('trace_writer = "process"\n')
    assert Agent.from_config(store=False)._trace_writer == "process"
    with pytest.raises(UsageError, match="unknown trace writer 'fork': use one of auto, "
                                         "thread, process"):
        _agent(tmp_path / "a.db", "fork")


async def test_an_in_memory_store_keeps_the_writer_thread(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="agent.trace"):
        agent = _agent(Path(":memory:"), "process")
        await _run_calls(agent, 1)
    assert agent._recorder().writer == "thread"
    assert "no trace writer process here (an in-memory store)" in caplog.text
    agent.close()


def test_the_cli_with_a_writer_process_keeps_its_run(tmp_path: Path) -> None:
    env = {**os.environ, "AGENT_HOME": str(tmp_path), "AGENT_TRACE_WRITER": "process"}
    done = subprocess.run([sys.executable, "-m", "agent.cli", "run", "what is 15% of 240"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "36" in done.stdout
    listed = subprocess.run([sys.executable, "-m", "agent.cli", "traces", "list"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert "what is 15% of 240" in listed.stdout and "ok" in listed.stdout


def test_frames_are_read_whole_however_the_pipe_cuts_them() -> None:
    read, write = os.pipe()
    frames = Frames(read)
    blob = encode([("finish_run", ("r1",), {"status": "ok"})])
    data = HEADER.pack(7, len(blob)) + blob + HEADER.pack(8, 0)
    os.write(write, data[:5])
    assert frames.next(0.01) is None  # half a header: not a frame yet
    os.write(write, data[5:20])
    assert frames.next(0.01) is None
    os.write(write, data[20:])
    assert frames.next(None) == (7, blob)
    assert frames.next(0) == (8, b"")  # "commit now"
    os.close(write)
    assert frames.next(None) is None and frames.closed
    os.close(read)


def test_the_frames_already_come_are_taken_together_up_to_a_commit() -> None:
    read, write = os.pipe()
    frames = Frames(read)
    blobs = [encode([("finish_run", (f"r{i}",), {"status": "ok"})]) for i in range(4)]
    os.write(write, b"".join(HEADER.pack(i, len(b)) + b for i, b in enumerate(blobs[:3], 1))
             + HEADER.pack(4, 0) + HEADER.pack(5, len(blobs[3])) + blobs[3])
    assert frames.next(None) == (1, blobs[0])
    assert frames.waiting(len(blobs[1])) == [(2, blobs[1])]  # the limit: at least one
    assert frames.waiting(1 << 20) == [(3, blobs[2]), (4, b"")]  # none after "commit now"
    assert frames.waiting(1 << 20) == [(5, blobs[3])]
    assert frames.waiting(1 << 20) == []  # nothing more has come: no waiting for it
    os.close(write)
    assert frames.next(None) is None and frames.closed
    os.close(read)


def test_waiting_frames_are_written_with_one_apply_and_a_refused_one_alone(
        tmp_path: Path) -> None:
    """A child behind its loop writes the frames waiting for it together; when the store
    refuses a record of one of them, the others are kept and only that record is reported."""
    from agent.store import TraceStore, new_id
    from agent.store.child import write

    runs = [new_id() for _ in range(3)]
    ops = [[("start_run", ({"id": run, "query": f"q{i}"},), {}),
            ("finish_run", (run,), {"status": "ok"})] for i, run in enumerate(runs)]
    ops[1].append(("set_label", ("no-such-run", "split", "train"), {}))
    data = b"".join(HEADER.pack(i, len(b)) + b
                    for i, b in enumerate((encode(o) for o in ops), 1))
    (tmp_path / "frames").write_bytes(data)
    store = TraceStore(tmp_path / "t.db")
    applied: list[int] = []
    apply = store.apply
    store.apply = lambda batch: (applied.append(len(batch)), apply(batch))[1]  # type: ignore
    said: list[str] = []
    fd = os.open(tmp_path / "frames", os.O_RDONLY)
    try:
        write(store, Frames(fd), said.append)
    finally:
        os.close(fd)
    store.close()
    # one apply of all three frames (refused), then one per frame, the second's (refused)
    # followed by one per record
    assert applied == [7, 2, 3, 1, 1, 1, 2]
    assert said[0] == "err 2 set_label: RunNotFoundError: no run 'no-such-run' in " \
        f"{tmp_path / 't.db'}: see `agent traces list`"
    assert said[1:] == ["ok 3"]
    assert _count(tmp_path / "t.db", "runs") == 3


def test_input_that_ends_inside_a_frame_is_an_error() -> None:
    read, write = os.pipe()
    os.write(write, HEADER.pack(1, 100) + b"short")
    os.close(write)
    with pytest.raises(EOFError, match="ended inside a frame"):
        Frames(read).next(None)
    os.close(read)


async def test_a_forked_copy_of_the_program_does_not_write_into_the_parents_pipe(
        tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    agent = _agent(path, "process")
    recorder = await _ready(agent)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the copy: its recorder forgot the writer process
        ok = recorder._process is None and recorder.writer == "thread"
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.waitpid(pid, 0)
    os.close(read)
    assert recorder.active_writer == "process"  # the parent keeps it
    await _run_calls(agent, 3)
    await agent.aflush()
    assert _count(path, "runs") == 3
    agent.close()


def test_the_child_commits_what_it_got_when_its_caller_dies_without_a_word(
        tmp_path: Path) -> None:
    """End of input with no commit asked for, and nobody left to read its replies: what
    came is committed all the same."""
    from agent.store import new_id

    path = tmp_path / "t.db"
    child = subprocess.Popen([sys.executable, "-m", "agent.store.child", str(path)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    child.stdout.close()  # its replies now go nowhere (EPIPE)
    run_id = new_id()
    for seq, ops in enumerate([
            [("start_run", ({"id": run_id, "query": "q"},), {})],
            [("finish_run", (run_id,), {"status": "ok", "answer": "done"})]], 1):
        blob = encode(ops)
        child.stdin.write(HEADER.pack(seq, len(blob)) + blob)
    child.stdin.close()
    assert child.wait(30) == 0
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT status, answer FROM runs").fetchall() == [("ok", "done")]
    finally:
        conn.close()


async def test_a_relative_store_path_still_names_its_file_after_a_chdir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "here").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    agent = _agent(Path("t.db"), "auto")
    await _run_calls(agent, 1)
    await agent.aflush()
    monkeypatch.chdir(tmp_path / "elsewhere")  # before the writer process starts
    recorder = agent._recorder()
    recorder.writer = "process"
    recorder._start_process()
    await _ready(agent)
    await _run_calls(agent, 3)
    await agent.aflush()
    assert _count(tmp_path / "here" / "t.db", "runs") == 4
    assert not (tmp_path / "elsewhere" / "t.db").exists()
    agent.close()
