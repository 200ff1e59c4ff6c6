"""The dataflow planner's own producer search against real planners on the same problems.

What it measures
----------------
The dataflow planner (``planners/dataflow.py``) finds the calls that produce a goal's missing
inputs with its own search, ``DataflowPlanner._produce``: a greedy backward chaining over the
tools' typed inputs/outputs, at most 3 producers deep, filling each producer from the query.
This script takes the problems that search solves and gives them to real planning libraries:

- **travel**: every top-level ``_produce`` call the planner makes while planning the 75
  queries of ``examples/travel/queries.jsonl`` (the travel domain's 14 tools, built from its
  specs and never called, and the built-in ones), recorded with its arguments;
- **synthetic**: 100 / 1,000 / 16,000 typed tools in layers (sources take a name from the
  query; the others turn a ``kI_id`` into a ``kI+1_id``, some need two inputs, some skip a
  layer), goals whose shortest plan has 2 to 5 calls (producers plus the goal).

Each problem is solved by (1) ``_produce`` itself, replayed on a copy of its arguments; (2) the
same problem as PDDL (a ``(have-...)`` predicate per parameter type, an action per tool: the
inputs the query does not give as preconditions, the outputs as effects, unit costs) solved
by pyperplan's breadth-first search and A* with LM-cut (both optimal); (3) an ASP encoding
(as the paper) minimised by clingo. The STRIPS problem is extracted with the planner's own
rules (``strips_solvers.extract``); its cost is reported as ``extract_ms``, and each
library's encoding, parsing/grounding and search separately.

Checks: same plan length as the optimum (ours may be longer, or find nothing: its depth limit
and no backtracking), and the same tools where clingo proves the optimal plan unique.

Run:  python bench/bench_planner_search.py [--repeats 5] [--sizes 100,1000,16000]
Needs pyperplan and clingo (``pip install pyperplan clingo``); a missing one is skipped.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.evaluation import load_queries
from agent.planners.dataflow import DataflowPlanner
from agent.planners.filling import params_of
from agent.planners.plan import Clause, Plan
from agent.planners.text import stem, words
from agent.planners.values import extract as extract_values
from agent.registry import build_registry
from agent.types import Tool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from strips_solvers import Clingo, Pyperplan, Solution, Strips, extract

QUERIES = Path(__file__).resolve().parents[1] / "examples" / "travel" / "queries.jsonl"
Snapshot = dict[str, Any]


class Probe(DataflowPlanner):
    """The planner, recording each top-level producer search of the plan it keeps."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: Plan | None = None
        self.recorded: list[Snapshot] = []

    def _plan_goal(self, clause: Clause, values: Any, query: str, tools: Any, index: Any,
                   plan: Plan, answers: Any) -> None:
        self.kept = plan  # candidates are tried on copies; the winner is built on this one
        super()._plan_goal(clause, values, query, tools, index, plan, answers)

    def _produce(self, p: Any, clause: Any, values: Any, tools: Any, index: Any, plan: Plan,
                 taken: set[int], depth: int, answers: Any, exclude: set[str],
                 consumer: set[int] | None = None) -> dict[str, str] | None:
        if depth != 1 or plan is not self.kept:
            return super()._produce(p, clause, values, tools, index, plan, taken, depth,
                                    answers, exclude, consumer)
        snap = snapshot(p, clause, values, plan, taken, answers, exclude, consumer)
        self.recorded.append(snap)
        return super()._produce(p, clause, values, tools, index, plan, taken, depth, answers,
                                exclude, consumer)


def snapshot(p: Any, clause: Any, values: Any, plan: Plan, taken: set[int], answers: Any,
             exclude: set[str], consumer: set[int] | None) -> Snapshot:
    snap: Snapshot = copy.deepcopy({
        "p": p, "clause": clause, "values": values, "plan": plan, "taken": set(taken),
        "answers": dict(answers), "exclude": set(exclude), "consumer": set(consumer or ())})
    return snap


def run_ours(planner: DataflowPlanner, snap: Snapshot, tools: dict[str, Tool],
             ) -> tuple[list[str] | None, float]:
    """Replay ``_produce`` on a fresh copy; (the calls of the chain it found, ms)."""
    s = copy.deepcopy({k: v for k, v in snap.items()})
    plan: Plan = s["plan"]
    index = planner.index(tools)
    t0 = time.perf_counter()
    ref = planner._produce(s["p"], s["clause"], s["values"], tools, index, plan, s["taken"], 1,
                           s["answers"], s["exclude"], s["consumer"])
    ms = (time.perf_counter() - t0) * 1e3
    return (None if ref is None else chain(plan, ref, snap["plan"])), ms


def chain(plan: Plan, ref: dict[str, str], before: Plan) -> list[str]:
    """The calls the reference depends on, less those the search started with (its facts)."""
    start = {c.id for c in [*before.goals, *before.calls[before.goal_start:]]}
    by_id = {c.id: c for c in plan.calls}
    out, todo = {}, [ref["$ref"].partition("#")[0]]
    while todo:
        cid = todo.pop()
        if cid in out or cid in start:
            continue
        out[cid] = by_id[cid].name
        todo += [a["$ref"].partition("#")[0] for a in by_id[cid].args.values()
                 if isinstance(a, dict) and "$ref" in a]
    return sorted(out.values())


# Problems ------------------------------------------------------------------------------------
def travel_problems() -> tuple[dict[str, Tool], list[tuple[str, Snapshot]], int]:
    from agent_travel.plugin import tools_from_specs
    from agent_travel.specs import TOOL_SPECS

    tools = dict(build_registry().tools)
    tools.update({t.name: t for t in tools_from_specs("http://127.0.0.1:9", TOOL_SPECS)})
    probe = Probe()
    out = []
    queries = load_queries(QUERIES)
    for q in queries:
        probe.recorded = []
        probe.plan(q["query"], tools)
        out += [(q["id"], s) for s in probe.recorded]
    return tools, out, len(queries)


def _tool(name: str, inputs: list[str], output: str, source: bool) -> Tool:
    props: dict[str, Any] = {c: {"type": "string", "x-type": c, "description": f"a {c}"}
                             for c in inputs}
    if source:
        props = {"label": {"type": "string", "description": "a name to look up"}}
    return Tool(name, f"Step {name}.", {"type": "object", "properties": props,
                                        "required": list(props)}, lambda **_: {},
                output_schema={"type": "object", "properties": {
                    output: {"type": "string", "x-type": output}}})


def synthetic_tools(n: int, rng: random.Random, layers: int = 5) -> dict[str, Tool]:
    """Layered typed tools: sources read the query's name, the rest climb one layer (some
    two, some with a second input)."""
    per = max(4, n // 25)
    concept = [[f"k{layer}x{i}_id" for i in range(per)] for layer in range(layers + 1)]
    tools = {}
    for j in range(n):
        name = f"t{j}"
        if j < n // 5:
            up = 2 if rng.random() < 0.15 else 1
            tools[name] = _tool(name, [], rng.choice(concept[up]), True)
            continue
        k = rng.randint(1, layers - 1)
        inputs = [rng.choice(concept[k])]
        if rng.random() < 0.3:
            inputs.append(rng.choice(concept[rng.randint(1, k)]))
        up = k + 2 if k + 2 <= layers and rng.random() < 0.15 else k + 1
        tools[name] = _tool(name, sorted(set(inputs)), rng.choice(concept[up]), False)
    return tools


def synthetic_problems(tools: dict[str, Tool], rng: random.Random,
                       per_layer: int) -> list[tuple[str, Snapshot]]:
    text = "Find Zorblax"
    values = extract_values(text)
    clause = Clause(text, 0, len(text), values, [stem(w) for w in words(text)])
    per = max(4, len(tools) // 25)
    out = []
    for layer in range(1, 5):
        for i in rng.sample(range(per), min(per, per_layer)):
            c = f"k{layer}x{i}_id"
            goal = Tool("goal", "The goal.", {"type": "object", "properties": {
                c: {"type": "string", "x-type": c}}, "required": [c]}, lambda **_: {})
            out.append((f"L{layer}-{c}", snapshot(params_of(goal)[0], clause, values, Plan(),
                                                  set(), {}, {"goal"}, set())))
    return out


# Measuring -----------------------------------------------------------------------------------
def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median": round(statistics.median(ordered), 3),
            "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 3),
            "max": round(ordered[-1], 3), "samples": len(ordered)}


def solvers(timeout: float) -> list[Any]:
    out: list[Any] = []
    for name, make in (("pyperplan_bfs", lambda: Pyperplan("bfs", timeout)),
                       ("pyperplan_astar_lmcut", lambda: Pyperplan("astar_lmcut", timeout)),
                       ("clingo", lambda: Clingo(timeout))):
        try:
            out.append(make())
        except ImportError as e:
            print(json.dumps({"bench": "planner_search", "variant": name,
                              "skipped": f"{e.name} not installed (pip install pyperplan "
                                         "clingo)"}))
    return out


def measure(suite: str, tools: dict[str, Tool], problems: list[tuple[str, Snapshot]],
            repeats: int, lib_repeats: int, timeout: float, emit: Callable[[dict], None],
            ) -> None:
    planner = DataflowPlanner()
    t0 = time.perf_counter()
    planner.index(tools)
    emit({"suite": suite, "tools": len(tools), "problems": len(problems),
          "index_build_ms": round((time.perf_counter() - t0) * 1e3, 1)})
    libs = solvers(timeout)
    ours_ms: list[float] = []
    extract_ms: list[float] = []
    lib_ms: dict[str, dict[str, list[float]]] = {
        s.name: {"total_ms": [], "search_ms": [], "encode_ms": [], "ground_ms": []}
        for s in libs}
    verdicts: dict[str, dict[str, int]] = {s.name: {} for s in libs}
    paired: dict[str, list[float]] = {s.name: [] for s in libs}  # per problem: theirs/ours
    for pid, snap in problems:
        found: list[str] | None = None
        mine = []
        for _ in range(repeats):
            found, ms = run_ours(planner, snap, tools)
            mine.append(ms)
        ours_ms += mine
        problem: Strips | None = None
        for _ in range(lib_repeats):
            t0 = time.perf_counter()
            problem = extract(planner, snap, tools)
            extract_ms.append((time.perf_counter() - t0) * 1e3)
        assert problem is not None
        sols: dict[str, Solution] = {}
        for s in libs:
            theirs = []
            for r in range(lib_repeats):
                if r and sols[s.name].timed_out:
                    break
                sol = s.solve(problem)
                if r == 0:
                    sols[s.name] = sol  # its plan and optimum count are compared
                    if isinstance(s, Clingo):
                        s.count = False  # count the optimal plans once per problem
                for k in ("encode_ms", "ground_ms", "search_ms"):
                    lib_ms[s.name][k].append(sol.stages[k])
                theirs.append(extract_ms[-1] + sum(sol.stages.values()))
            lib_ms[s.name]["total_ms"] += theirs
            paired[s.name].append(statistics.median(theirs) / statistics.median(mine))
            if isinstance(s, Clingo):
                s.count = True
        optima = next((x.optimal_count for x in sols.values() if x.optimal_count), None)
        for s in libs:
            v = verdict(found, sols[s.name], optima)
            verdicts[s.name][v] = verdicts[s.name].get(v, 0) + 1
            if v not in ("same", "same_length", "both_none"):
                emit({"suite": suite, "problem": pid, "solver": s.name, "verdict": v,
                      "ours": found, "theirs": sols[s.name].tools,
                      "actions": len(problem.actions)})
    ours = stats(ours_ms)
    emit({"suite": suite, "variant": "ours_produce", "unit": "ms_per_problem", **ours})
    emit({"suite": suite, "variant": "extract_strips", "unit": "ms_per_problem",
          **stats(extract_ms)})
    for s in libs:
        row = {k: stats(v)["median"] for k, v in lib_ms[s.name].items() if v}
        tot = stats(lib_ms[s.name]["total_ms"])
        emit({"suite": suite, "variant": s.name, "unit": "ms_per_problem",
              "median_total": tot["median"], "p90_total": tot["p90"],
              "median_stages": row,
              "ratio_total_to_ours": round(tot["median"] / ours["median"], 1),
              "paired_ratio_median": round(statistics.median(paired[s.name]), 1),
              "ratio_search_to_ours": round(row["search_ms"] / ours["median"], 2),
              "timeouts": verdicts[s.name].get("timeout", 0),
              "verdicts": verdicts[s.name]})


def verdict(ours: list[str] | None, sol: Solution, optima: int | None) -> str:
    """same (tools too: clingo proved the optimum unique), same_length, other_tools, longer,
    shorter (ours below the optimum: the extraction misses a rule), ours_none, theirs_none,
    both_none, timeout."""
    if sol.timed_out:
        return "timeout"
    theirs = sol.tools
    if ours is None or theirs is None:
        return "both_none" if ours is theirs else ("ours_none" if ours is None
                                                  else "theirs_none")
    if len(ours) > len(theirs):
        return "longer"
    if len(ours) < len(theirs):
        return "shorter"
    if optima == 1:
        return "same" if sorted(ours) == sorted(theirs) else "other_tools"
    return "same_length"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="per problem, up to 1,000 tools")
    parser.add_argument("--sizes", default="100,1000,16000")
    parser.add_argument("--per-layer", type=int, default=5,
                        help="synthetic goals per chain length")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per library solve")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    def emit(row: dict) -> None:
        print(json.dumps({"bench": "planner_search", **row}), flush=True)

    tools, problems, n_queries = travel_problems()
    emit({"suite": "travel", "queries": n_queries,
          "queries_with_search": len({q for q, _ in problems})})
    measure("travel", tools, problems, args.repeats, args.repeats, args.timeout, emit)
    for n in (int(s) for s in args.sizes.split(",") if s):
        rng = random.Random(args.seed + n)
        tools = synthetic_tools(n, rng)
        reps = args.repeats if n <= 1000 else 1
        measure(f"synthetic_{n}", tools, synthetic_problems(tools, rng, args.per_layer),
                reps, reps, args.timeout, emit)


if __name__ == "__main__":
    main()
