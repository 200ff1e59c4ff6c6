"""Benchmark the trace store's write paths against a raw sqlite3 floor.

Prints one JSON line per path. Each writes `--rows` tool-call rows as runs of 10 steps,
one tool call per step (so rows/10 runs, each with a runs row and 10 steps rows):

- bulk:     TraceStore.apply(), one transaction per 100 runs (a background writer's path)
- per_step: one transaction per step (record_step + its tool call), WAL synchronous=NORMAL
- raw:      sqlite3 executemany of the same rows (JSON-encoded) in one transaction, same
            schema and indexes, WAL; the floor the store is compared with
- raw_preencoded: as raw, but rows built before the clock starts (pure SQLite cost)

Usage: python bench/bench_store.py [--rows 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.store import TraceStore

STEPS_PER_RUN = 10
RUNS_PER_BATCH = 100
CITIES = ["Paris", "Tokyo", "Lima", "Oslo", "Cairo", "Austin", "Perth", "Quito"]


def make_runs(n_rows: int) -> list[dict[str, Any]]:
    """Realistic small runs: a query, 10 steps, one tool call each with small args/result."""
    runs = []
    t0 = 1_700_000_000.0
    for r in range(n_rows // STEPS_PER_RUN):
        run_id = f"{r:016x}{'a' * 16}"
        steps = []
        for s in range(STEPS_PER_RUN):
            city = CITIES[(r + s) % len(CITIES)]
            step_id = f"{r:016x}{s:08x}{'b' * 8}"
            started = t0 + r + s * 0.01
            steps.append(
                {
                    "step": {
                        "id": step_id, "run_id": run_id, "seq": s, "kind": "tool_calls",
                        "name": "get_weather", "status": "ok", "started_at": started,
                        "ended_at": started + 0.005, "duration_ms": 5.0,
                    },
                    "call": {
                        "id": f"{r:016x}{s:08x}{'c' * 8}", "run_id": run_id,
                        "step_id": step_id, "call_id": f"call_{r}_{s}", "seq": s,
                        "tool_name": "get_weather", "status": "success",
                        "args": {"city": city, "units": "metric", "days": 1 + s % 5},
                        "content": {
                            "city": city, "temperature_c": 10 + (r * 7 + s) % 25,
                            "conditions": "partly cloudy with a light breeze from the west",
                            "humidity": 0.4 + s / 100, "forecast": [12, 14, 15],
                        },
                        "started_at": started, "duration_ms": 4.2, "attempts": 1,
                    },
                }
            )
        runs.append(
            {
                "run": {
                    "id": run_id, "query": f"what is the weather in {CITIES[r % 8]}?",
                    "planner": "dataflow", "model": "scripted", "source": "bench",
                    "started_at": t0 + r, "pid": 1, "host": "bench",
                },
                "steps": steps,
                "finish": {"answer": "It is partly cloudy.", "ended_at": t0 + r + 0.2},
            }
        )
    return runs


def bulk(path: Path, runs: list[dict[str, Any]]) -> None:
    with TraceStore(path) as store:
        for i in range(0, len(runs), RUNS_PER_BATCH):
            ops: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
            for run in runs[i : i + RUNS_PER_BATCH]:
                ops.append(("start_run", (run["run"],), {}))
                for step in run["steps"]:
                    ops.append(("record_step", (step["step"],), {}))
                    ops.append(("record_tool_calls", ([step["call"]],), {}))
                ops.append(("finish_run", (run["run"]["id"],), run["finish"]))
            store.apply(ops)


def per_step(path: Path, runs: list[dict[str, Any]]) -> None:
    with TraceStore(path) as store:
        for run in runs:
            store.start_run(run["run"])
            for step in run["steps"]:
                store.apply(
                    [
                        ("record_step", (step["step"],), {}),
                        ("record_tool_calls", ([step["call"]],), {}),
                    ]
                )
            store.finish_run(run["run"]["id"], **run["finish"])


RUN_COLS = ("id", "query", "planner", "model", "source", "started_at", "pid", "host", "status",
            "answer", "ended_at")
STEP_COLS = ("id", "run_id", "seq", "kind", "name", "status", "started_at", "ended_at",
             "duration_ms")
CALL_COLS = ("id", "run_id", "step_id", "call_id", "seq", "tool_name", "status", "args",
             "content", "started_at", "duration_ms", "attempts")


def _insert(table: str, cols: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


def raw_rows(runs: list[dict[str, Any]]) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    run_rows, step_rows, call_rows = [], [], []
    for run in runs:
        r = {**run["run"], **run["finish"], "status": "ok"}
        run_rows.append(tuple(r.get(c) for c in RUN_COLS))
        for step in run["steps"]:
            step_rows.append(tuple(step["step"].get(c) for c in STEP_COLS))
            call = step["call"]
            call_rows.append(
                tuple(
                    json.dumps(call[c]) if c in ("args", "content")
                    else call.get(c)
                    for c in CALL_COLS
                )
            )
    yield _insert("runs", RUN_COLS), run_rows
    yield _insert("steps", STEP_COLS), step_rows
    yield _insert("tool_calls", CALL_COLS), call_rows


def _raw_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def raw(path: Path, runs: list[dict[str, Any]]) -> None:
    conn = _raw_connect(path)
    conn.execute("BEGIN IMMEDIATE")
    for sql, rows in raw_rows(runs):
        conn.executemany(sql, rows)
    conn.execute("COMMIT")
    conn.close()


def timed_raw_preencoded(path: Path, runs: list[dict[str, Any]]) -> tuple[float, float]:
    conn = _raw_connect(path)
    batches = list(raw_rows(runs))
    start, cpu = time.perf_counter(), time.process_time()
    conn.execute("BEGIN IMMEDIATE")
    for sql, rows in batches:
        conn.executemany(sql, rows)
    conn.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    conn.close()
    return elapsed, cpu


PATHS: dict[str, Callable[[Path, list[dict[str, Any]]], None] | None] = {
    "raw": raw,
    "raw_preencoded": None,
    "bulk": bulk,
    "per_step": per_step,
}


def run_once(name: str, runs: list[dict[str, Any]]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and final file size of one path on a fresh file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "traces.db"
        TraceStore(path).close()  # same schema and indexes for all; creating it is not timed
        fn = PATHS[name]
        if fn is None:
            elapsed, cpu = timed_raw_preencoded(path, runs)
        else:
            start, cpu0 = time.perf_counter(), time.process_time()
            fn(path, runs)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
        return elapsed, cpu, os.path.getsize(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default=",".join(PATHS), help="comma-separated paths")
    args = parser.parse_args()
    names = ["raw", *(n for n in args.only.split(",") if n != "raw")]
    runs = make_runs(args.rows)
    rows = len(runs) * STEPS_PER_RUN
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    sizes: dict[str, list[int]] = {n: [] for n in names}
    # Paths alternate inside each round, so load from other processes on the machine
    # hits them alike; ratios are taken per round, then the median of those. CPU time is
    # reported too: on a shared machine it is the steadier figure.
    for _ in range(args.rounds):
        for name in names:
            elapsed, used, size = run_once(name, runs)
            wall[name].append(elapsed)
            cpu[name].append(used)
            sizes[name].append(size)
    for name in names:
        seconds = statistics.median(wall[name])
        print(json.dumps({
            "path": name, "rows": rows, "runs": len(runs), "rounds": args.rounds,
            "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds),
            "cpu_seconds": round(statistics.median(cpu[name]), 3),
            "bytes_per_row": round(statistics.median(sizes[name]) / rows, 1),
            "ratio_to_raw": _ratio(wall["raw"], wall[name]),
            "cpu_ratio_to_raw": _ratio(cpu["raw"], cpu[name]),
        }), flush=True)


def _ratio(raw: list[float], path: list[float]) -> float:
    """Median over rounds of (raw time / path time) = path rows/s relative to raw."""
    return round(statistics.median(r / p for r, p in zip(raw, path, strict=True)), 3)


if __name__ == "__main__":
    main()
