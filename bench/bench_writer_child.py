"""What the trace writer process costs a step, apart from the loop that feeds it.

What it measures
----------------
``bench_agent_loop.py``'s traced loop (its scripted ``FastModel``, the ``echo`` tool, the
react planner) is the writer process's customer; there, a sample lasts as long as the child's
work, and the two busy processes slow each other, so a change to the child is lost in the
wall time's swings. Here the frames that loop sends its writer process are recorded once
(runs of 10 and of 200 steps), then written again and again, interleaved round by round in
one process:

  child_write   ``agent.store.child.write`` (the child's own loop: a transaction committed
                every 50 ms, frames written three at a time with one ``apply()``, as the
                bench's child mostly finds them waiting) into a fresh store
  sqlite_rows   the floor: the rows that wrote, read back, inserted into a fresh store of
                the same schema with ``executemany`` in one transaction (no decoding, no row
                building, no secret pre-check): what SQLite alone costs for them

Per size: median us/step of each, the paired ratio of ``child_write`` to ``sqlite_rows``,
and the child's CPU us/step (``time.process_time``). Neither copies its WAL into the database
file (the child leaves that to a thread of its own, beside it). Every round checks that the
child stored every step.

Run:  PYTHONPATH=$PWD python bench/bench_writer_child.py [--rounds 7] [--runs 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = "writer_child"
HERE = Path(__file__).resolve().parent
#: Frames written with one ``apply()``: what the bench's child mostly finds waiting.
GROUP = 3
TABLES = ("steps", "tool_calls", "messages")


def line(**rec: Any) -> None:
    print(json.dumps({"bench": BENCH, **rec}), flush=True)


async def record_frames(steps: int, runs: int, folder: Path) -> list[bytes]:
    """The frames the loop sends its writer process for ``runs`` runs of ``steps`` steps."""
    sys.path.insert(0, str(HERE))
    import bench_agent_loop as loop

    from agent import Agent
    from agent.planners.react import ReactPlanner
    from agent.writer_process import WriterProcess

    frames: list[bytes] = []
    send = WriterProcess.send

    def keep(self: WriterProcess, blob: bytes) -> int:
        if blob:
            frames.append(blob)
        return send(self, blob)

    WriterProcess.send = keep  # type: ignore[method-assign]
    try:
        agent = Agent(tools=[loop.echo], planner=ReactPlanner(), max_steps=10_000,
                      store=folder / f"recorded-{steps}.db", trace_writer="process")
        script = loop.replies(steps)
        deadline = time.perf_counter() + 30
        while True:  # the writer process starts beside the first runs
            agent._model = loop.FastModel(script)
            await agent.run("count")
            await agent.aflush()
            if agent._trace.active_writer == "process":
                break
            assert time.perf_counter() < deadline, "the writer process did not start"
        frames.clear()
        for _ in range(runs):
            agent._model = loop.FastModel(script)
            run = await agent.run("count")
            assert run.status == "ok" and len(run.results) == steps, (run.status, run.error)
        await agent.aflush()
        agent.close()
    finally:
        WriterProcess.send = send  # type: ignore[method-assign]
    return frames


class Waiting:
    """``agent.store.child.Frames`` over frames in memory: ``GROUP`` of them come at once."""

    def __init__(self, blobs: list[bytes]) -> None:
        self.items = list(enumerate(blobs, 1))
        self.at = 0
        self.closed = False

    def next(self, timeout: float | None) -> tuple[int, bytes] | None:
        if self.at >= len(self.items):
            self.closed = True
            return None
        self.at += 1
        return self.items[self.at - 1]

    def waiting(self, limit: int) -> list[tuple[int, bytes]]:
        group = self.items[self.at:self.at + GROUP - 1]
        self.at += len(group)
        return group


def child_write(blobs: list[bytes], warm: list[bytes], path: Path) -> tuple[float, float]:
    """Seconds (wall, CPU) ``child.write`` takes over ``blobs``, after ``warm``."""
    from agent.store import child
    from agent.store.core import TraceStore

    store = TraceStore(path)
    store.db.conn.execute("PRAGMA temp_store = MEMORY")  # as the child sets them
    store.db.conn.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        child.write(store, Waiting(warm), lambda _: None)  # type: ignore[arg-type]
        wall, cpu = time.perf_counter(), time.process_time()
        child.write(store, Waiting(blobs), lambda _: None)  # type: ignore[arg-type]
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        store.close()


def sqlite_rows(rows: dict[str, tuple[str, list[tuple[Any, ...]]]], path: Path) -> float:
    """Seconds to insert ``rows`` (per table: its INSERT and its rows) in one transaction."""
    from agent.store.core import TraceStore

    TraceStore(path).close()  # the schema, every index
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        start = time.perf_counter()
        conn.execute("BEGIN")
        for sql, values in rows.values():
            conn.executemany(sql, values)
        conn.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        conn.close()


def stored_rows(path: Path) -> dict[str, tuple[str, list[tuple[Any, ...]]]]:
    """The runs, steps, tool calls and messages a store holds, as INSERTs and their rows."""
    conn = sqlite3.connect(path)
    try:
        out = {}
        for table in ("runs", "tools", "run_tools", *TABLES):
            cursor = conn.execute(f"SELECT * FROM {table} ORDER BY rowid")
            names = [d[0] for d in cursor.description]
            marks = ", ".join("?" for _ in names)
            out[table] = (f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})",
                          cursor.fetchall())
        return out
    finally:
        conn.close()


def count_steps(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM steps").fetchone()[0])
    finally:
        conn.close()


async def main(rounds: int, runs: int) -> None:
    sys.path.insert(0, str(HERE))
    import bench_agent_loop as loop

    loop.source_tree()
    tmp = tempfile.TemporaryDirectory(prefix="bench-writer-child-")
    folder = Path(tmp.name)
    sizes = {10: runs, 200: max(2, runs // 20)}
    data = {}
    for steps, n in sizes.items():
        frames = await record_frames(steps, n, folder)
        warm, timed = frames[:len(frames) // 10], frames[len(frames) // 10:]
        probe, whole = folder / f"probe-{steps}.db", folder / f"whole-{steps}.db"
        child_write(timed, [], probe)
        child_write(timed, warm, whole)
        step_rows = count_steps(probe)  # a model and a tool step a step, and the answer's
        data[steps] = (warm, timed, stored_rows(probe), step_rows, count_steps(whole))
        line(variant="frames", steps=steps, frames=len(timed),
             bytes_per_frame=round(statistics.mean(map(len, timed))), step_rows=step_rows)
    results: dict[tuple[str, int], list[tuple[float, float]]] = {}
    n = 0
    for _ in range(rounds):
        for steps in sizes:
            warm, timed, rows, step_rows, every_step = data[steps]
            agent_steps = step_rows * steps / (2 * steps + 1)  # the loop's steps, not rows
            for variant in random.sample(("child_write", "sqlite_rows"), 2):
                n += 1
                path = folder / f"{variant}-{n}.db"
                if variant == "child_write":
                    wall, cpu = child_write(timed, warm, path)
                    assert count_steps(path) == every_step, "the child lost steps"
                else:
                    wall, cpu = sqlite_rows(rows, path), 0.0
                results.setdefault((variant, steps), []).append(
                    (wall / agent_steps * 1e6, cpu / agent_steps * 1e6))
                path.unlink()
    for steps in sizes:
        child, floor = results[("child_write", steps)], results[("sqlite_rows", steps)]
        line(variant="sqlite_rows", steps=steps, unit="us_per_step",
             median=round(statistics.median(w for w, _ in floor), 1), repeats=len(floor))
        line(variant="child_write", steps=steps, unit="us_per_step",
             median=round(statistics.median(w for w, _ in child), 1),
             cpu=round(statistics.median(c for _, c in child), 1), repeats=len(child),
             paired_ratio_median=round(statistics.median(
                 c[0] / f[0] for c, f in zip(child, floor, strict=True)), 2))
    tmp.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--runs", type=int, default=400, help="runs of 10 steps recorded")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.runs))
