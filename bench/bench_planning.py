"""Planning latency of the dataflow planner on the travel queries (tools not executed).

What it measures
----------------
For each query of ``examples/travel/queries.jsonl``, the wall time of
``DataflowPlanner.plan(query, tools)``: splitting into goals, choosing tools, filling
arguments, searching producers. The tools are the travel domain's 14 (built from its specs,
never called) plus the 14 built-in ones, so the planner chooses among 28. The floor is the
cost of reading the query's values alone (``extract``), which any planner that reads a query
pays. Rounds interleave the two; the first plan of each round builds the tool index (cached
afterwards), reported separately as ``index_build_ms``.

Goal (issue 3): median under 20 ms per query on this 2-core machine.

Run:  python bench/bench_planning.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from agent.evaluation import load_queries
from agent.planners.dataflow import DataflowPlanner
from agent.planners.values import extract
from agent.registry import build_registry
from agent_travel.plugin import tools_from_specs
from agent_travel.specs import TOOL_SPECS

QUERIES = Path(__file__).resolve().parents[1] / "examples" / "travel" / "queries.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    queries = [q["query"] for q in load_queries(QUERIES)]
    tools = dict(build_registry().tools)
    tools.update({t.name: t for t in tools_from_specs("http://127.0.0.1:9", TOOL_SPECS)})
    print(json.dumps({"bench": "planning", "queries": len(queries), "tools": len(tools)}))
    plan_ms: list[float] = []
    floor_ms: list[float] = []
    builds: list[float] = []
    for _ in range(args.rounds):
        planner = DataflowPlanner()
        t0 = time.perf_counter()
        planner.index(tools)
        builds.append((time.perf_counter() - t0) * 1000)
        for q in queries:
            t0 = time.perf_counter()
            extract(q)
            floor_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            planner.plan(q, tools)
            plan_ms.append((time.perf_counter() - t0) * 1000)
    for variant, samples in (("floor_extract", floor_ms), ("dataflow_plan", plan_ms)):
        ordered = sorted(samples)
        print(json.dumps({
            "bench": "planning", "variant": variant, "unit": "ms_per_query",
            "median": round(statistics.median(samples), 3),
            "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
            "max": round(ordered[-1], 3), "repeats": len(samples),
            "ratio_to_floor": round(statistics.median(samples) / statistics.median(floor_ms), 2),
        }))
    print(json.dumps({"bench": "planning", "variant": "index_build_ms",
                      "median": round(statistics.median(builds), 3)}))
    median = statistics.median(plan_ms)
    print(json.dumps({"bench": "planning", "variant": "dataflow_plan",
                      "goal": "median under 20 ms per query", "median": round(median, 3),
                      "met": median < 20}))


if __name__ == "__main__":
    main()
