"""Export of 10,000 and 100,000 runs: time, and peak memory that stays flat in the run count.

Each size gets a store synthesised in the real schema (the store's migrations, then bulk
inserts; the messages' full-text index, which an export never reads, is left empty): runs
offering one of 40 sets of 5 of 20 tools, 1-3 calls each, a tenth of them status error
(left out by the default filter). Every measurement runs in a fresh subprocess, warmed up
by exporting one run first (so lazy imports are not counted), so peaks do not mix: CPU and
wall time and peak RSS (`ru_maxrss`) of `export_runs` per format, and in another
subprocess the peak of Python allocations during the export (`tracemalloc`; Arrow's own
buffers show only in the RSS). CPU seconds are the headline: the machine is shared, and
wall time there measures the neighbours.

Baselines measured in the same run:
- `floor`: the bare SQL read of every matching run's messages (sqlite3, no decoding): the
  time an export cannot beat. `ratio_to_floor` = export CPU time / floor CPU time.
- `idle`: peak RSS of a subprocess that loads everything and exports one run:
  `rss_over_idle_mb` is what exporting them all adds.
- the first size of the same format: `peak_ratio_to_first_size` (1.0 = flat while the run
  count grows 10x); the `goal` line says whether the largest size stays within 1.5x.

Run: PYTHONPATH=$PWD /work/venv/bin/python bench/bench_export.py [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = 20
FORMATS = ("openai", "parquet")

CHILD = r"""
import json, os, resource, sys, time, tracemalloc
from pathlib import Path
db, fmt, out, mode = sys.argv[1:5]
from agent.export import build_filter, export_runs
from agent.registry import exporter_registry
from agent.store import TraceStore
exporter = exporter_registry().exporter(fmt)
store = TraceStore(db)
run_filter = build_filter()
if mode != "floor":  # warm up: load what an export loads lazily (pyarrow, pandas, ...)
    export_runs(store, exporter, build_filter(limit=1), Path(out + ".warm"))
if mode == "idle":  # everything loaded, nothing exported
    result = {"runs": 0}
elif mode == "floor":
    t, c = time.perf_counter(), time.process_time()
    n = 0
    for (data,) in store.db.conn.execute(
            "SELECT messages.data FROM runs JOIN messages ON messages.run_id = runs.id "
            "WHERE runs.status = 'ok' ORDER BY runs.id, messages.seq"):
        n += len(data)
    result = {"seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - c}
else:
    if mode == "tracemalloc":  # after imports: the peak is what the export holds
        tracemalloc.start()
    t, c = time.perf_counter(), time.process_time()
    done = export_runs(store, exporter, run_filter, Path(out))
    result = {"seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - c,
              "runs": done.total, "out_mb": os.path.getsize(out) / 2**20}
    if mode == "tracemalloc":
        result["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


def synthesize(path: Path, n: int, seed: int = 0) -> float:
    """`n` runs in the store's schema, inserted in bulk; returns the seconds it took."""
    sys.path.insert(0, str(ROOT))
    from agent.store import TraceStore

    t0 = time.perf_counter()
    TraceStore(path).close()  # the real schema, through the migrations
    rng = random.Random(seed)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    tools = []
    for i in range(TOOLS):
        params = {"type": "object", "required": ["city"], "properties": {
            "city": {"type": "string", "description": "a city name"},
            "days": {"type": "integer", "description": "how many days ahead"}}}
        tools.append((f"{i:064x}", f"tool_{i}",
                      f"Tool number {i}: looks things up for a city.", json.dumps(params),
                      "bench"))
    # The full-text index of messages is not read by an export: its triggers are set aside
    # during the bulk insert (it would take most of the time) and put back after.
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                            "AND tbl_name = 'messages'").fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO tools (hash, name, description, parameters, plugin) "
                     "VALUES (?, ?, ?, ?, ?)", tools)
    conn.execute("COMMIT")
    start = time.time() - n
    # Like agents in use: each configuration offers the same tools to every run it makes.
    toolsets = [rng.sample(range(TOOLS), 5) for _ in range(40)]
    for base in range(0, n, 5000):
        runs, links, messages, calls = [], [], [], []
        for i in range(base, min(n, base + 5000)):
            run_id = f"{i:016x}{'b' * 16}"
            query = f"what is the weather in city {rng.randrange(n // 2)} tomorrow?"
            status = "error" if i % 10 == 9 else "ok"
            runs.append((run_id, query, status, "react", "bench", "bench-model",
                         start + i, 1200.0, 10, 5))
            offered = toolsets[i % len(toolsets)]
            links += [(run_id, tools[t][0]) for t in offered]
            used = offered[: rng.randint(1, 3)]
            tool_calls = [{"name": f"tool_{t}", "args": {"city": f"c{i}", "days": k},
                           "id": f"call_{k}", "type": "tool_call"} for k, t in enumerate(used)]
            seq = [{"type": "human", "data": {"content": query, "type": "human"}},
                   {"type": "ai", "data": {"content": "", "type": "ai",
                                           "tool_calls": tool_calls}}]
            for k, t in enumerate(used):
                result = json.dumps({"city": f"c{i}", "temp_c": rng.randint(-10, 35),
                                     "summary": "partly cloudy with a light breeze"})
                seq.append({"type": "tool", "data": {
                    "content": result, "tool_call_id": f"call_{k}", "name": f"tool_{t}",
                    "status": "success", "type": "tool"}})
                calls.append((f"{run_id}-{k}", run_id, f"call_{k}", k, f"tool_{t}",
                              json.dumps(tool_calls[k]["args"]), "success", result, 0))
            seq.append({"type": "ai", "data": {"content": f"It will be mild in c{i}.",
                                               "type": "ai"}})
            messages += [(run_id, s, m["type"], json.dumps(m), m["data"]["content"])
                         for s, m in enumerate(seq)]
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO runs (id, query, status, planner, source, model, "
                         "started_at, duration_ms, tokens_in, tokens_out) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", runs)
        conn.executemany("INSERT INTO run_tools (run_id, tool_hash) VALUES (?, ?)", links)
        conn.executemany("INSERT INTO messages (run_id, seq, type, data, content) "
                         "VALUES (?, ?, ?, ?, ?)", messages)
        conn.executemany("INSERT INTO tool_calls (id, run_id, call_id, seq, tool_name, args, "
                         "status, content, truncated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         calls)
        conn.execute("COMMIT")
    for _, sql in triggers:
        conn.execute(sql)
    conn.close()
    return time.perf_counter() - t0


def child(db: Path, fmt: str, out: Path, mode: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    done = subprocess.run([sys.executable, "-c", CHILD, str(db), fmt, str(out), mode],
                          capture_output=True, text=True, env=env, cwd=str(out.parent))
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def emit(**fields: object) -> None:
    print(json.dumps({"bench": "export", **fields}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000", help="run counts (comma-separated)")
    ap.add_argument("--rounds", type=int, default=1, help="timed exports per size and format")
    ap.add_argument("--formats", default=",".join(FORMATS))
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    formats = args.formats.split(",")
    first: dict[str, dict] = {}
    largest: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        for n in sizes:
            db = Path(tmp) / f"runs-{n}.db"
            seconds = synthesize(db, n)
            emit(variant="synthesize", runs=n, seconds=round(seconds, 2),
                 db_mb=round(db.stat().st_size / 2**20, 1))
            idle = {fmt: child(db, fmt, Path(tmp) / f"idle.{fmt}", "idle") for fmt in formats}
            samples: dict[str, list[dict]] = {v: [] for v in ("floor", *formats)}
            for _ in range(args.rounds):
                order = ["floor", *formats]
                random.shuffle(order)
                for variant in order:
                    out = Path(tmp) / f"out-{n}.{variant}"
                    r = child(db, variant if variant != "floor" else "openai", out,
                              "floor" if variant == "floor" else "time")
                    if "error" in r:
                        emit(variant=variant, runs=n, error=r["error"])
                    else:
                        samples[variant].append(r)
            if not samples["floor"]:
                continue
            floor_cpu = statistics.median(r["cpu_seconds"] for r in samples["floor"])
            emit(variant="floor", runs=n, unit="cpu_seconds", median=round(floor_cpu, 3),
                 wall_median=round(statistics.median(r["seconds"] for r in samples["floor"]),
                                   3), repeats=len(samples["floor"]))
            for fmt in formats:
                if not samples[fmt]:
                    continue
                traced = child(db, fmt, Path(tmp) / f"traced-{n}.{fmt}", "tracemalloc")
                cpu = [r["cpu_seconds"] for r in samples[fmt]]
                exported = samples[fmt][-1]["runs"]
                peak_rss = max(r["maxrss_mb"] for r in samples[fmt])
                line = {
                    "variant": fmt, "runs": n, "exported": exported, "unit": "cpu_seconds",
                    "median": round(statistics.median(cpu), 3), "min": round(min(cpu), 3),
                    "max": round(max(cpu), 3), "repeats": len(cpu),
                    "wall_median": round(statistics.median(r["seconds"] for r in samples[fmt]),
                                         3),
                    "runs_per_cpu_s": round(exported / statistics.median(cpu)),
                    "ratio_to_floor": round(statistics.median(cpu) / floor_cpu, 2),
                    "maxrss_mb": round(peak_rss, 1),
                    "idle_maxrss_mb": round(idle[fmt].get("maxrss_mb", 0.0), 1),
                    "rss_over_idle_mb": round(peak_rss - idle[fmt].get("maxrss_mb", 0.0), 1),
                    "tracemalloc_peak_mb": round(traced.get("tracemalloc_peak_mb", -1), 2),
                    "out_mb": round(samples[fmt][-1]["out_mb"], 1),
                }
                base = first.setdefault(fmt, line)
                if base is not line:
                    line["peak_ratio_to_first_size"] = _ratios(line, base)
                largest[fmt] = line
                emit(**line)
    for fmt, line in largest.items():
        base = first[fmt]
        if line is base:
            continue
        ratios = _ratios(line, base)
        emit(variant=fmt, goal=f"peak memory flat in the number of runs: {line['runs']:,} "
             f"runs within 1.5x of {base['runs']:,} (RSS over idle and tracemalloc)",
             runs_ratio=line["runs"] / base["runs"], **ratios,
             met=all(r <= 1.5 for r in ratios.values()))


def _ratios(line: dict, first: dict) -> dict[str, float]:
    """Peak memory of `line` over that of `first` (RSS floored at 1 MB: allocator noise)."""
    return {"rss_over_idle_ratio": round(max(line["rss_over_idle_mb"], 1.0)
                                         / max(first["rss_over_idle_mb"], 1.0), 2),
            "tracemalloc_ratio": round(line["tracemalloc_peak_mb"]
                                       / max(first["tracemalloc_peak_mb"], 0.01), 2)}

if __name__ == "__main__":
    main()
