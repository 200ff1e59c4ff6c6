"""Validated dispatch: one plan of N (default 10,000) independent calls of a trivial async tool.

What it measures
----------------
The tool is ``echo(query: str, limit: int)``, an ``async def`` that returns its arguments. The
plan (``[{"name": "echo", "args": {...}}, ...]``, N calls, no references between them) is
built before timing; the timed region is one whole dispatch of the plan, reported as
microseconds per call. All variants run in one process and one event loop, interleaved round
by round in a shuffled order, so machine noise hits every variant alike:

  floor                one ``asyncio`` Task per call, each validating its args with a cached
                       jsonschema ``Draft202012Validator`` (built once, from the very schema the
                       agent derived for ``echo``) and awaiting ``echo(**args)``; all gathered.
                       The physical floor for validated, concurrent dispatch.       (floor)
  ref_tasks_novalidate the same without validation: what N Tasks + gather cost alone
  agent                ``Agent(tools=[echo], store=False, timeout=None).execute(plan)``
                       (normalises the plan, orders it, one Task per call, validates, returns
                       ``ToolResult``s in call order, builds the run's transcript)
  agent_timeout60      the same with the default ``timeout=60.0`` (per-call ``asyncio.timeout``)
  agent_traced         ``Agent(..., store=<temp SQLite file>)``: the same run, traced (one run,
                       one step, N tool-call rows, the transcript), including the final flush
                       that waits for the trace to be committed. One Agent serves all rounds,
                       so the file grows by N rows per round, as a long-lived process's would.
                       If the trace store is missing or refuses writes, this variant prints an
                       ``error`` line instead of a measurement.
  executor_bare        ``agent.executor.Executor(agent.tools).execute(plan)``: the executor
                       alone, without runs, steps or transcript
  toolnode_direct      LangGraph ``ToolNode.ainvoke({"messages": [AIMessage(tool_calls=<all N>)]})``
                       with a bare ``Runtime()`` passed through the private config key
                       ``__pregel_runtime`` (ToolNode refuses to run outside a graph without one).
                       This is the fair equivalent of one plan: ONE model turn carrying N
                       independent tool calls, which ToolNode runs concurrently (``gather``),
                       validating each call's args with the tool's pydantic model and returning N
                       ``ToolMessage``s. (The peer script instead sends N one-call messages
                       sequentially; that measures per-invocation graph overhead, not a plan.)
  toolnode_graph       (only with ``--toolnode-graph``) the same AIMessage through a compiled
                       one-node ``StateGraph(MessagesState)`` START -> ToolNode -> END,
                       i.e. ToolNode as used in practice (measured ~10% slower than toolnode_direct)

ToolNode takes ~0.6-0.9 ms per call (~8 s per 10,000-call round on a 2-core machine), so the
peer variants run in the first ``--peer-rounds`` rounds only (default 2; still interleaved with
the others in shuffled order, and their paired ratio uses the floor of the same rounds); the
sanity run serves as their warm-up.

LangGraph is imported only for the toolnode_* variants; without it they print
``{"variant": ..., "skipped": "langgraph not installed"}``.

Output: one JSON line per variant: us/call median/min/max over rounds, ``ratio_to_floor``
(median / floor median), ``paired_ratio_median`` (median over rounds of variant/floor measured
in the same round: the robust number on a noisy machine), ``overhead_us_per_call``; then a
``goal`` line: agent within 2x of the floor (paired ratio).

Run:  PYTHONPATH=/work/main /work/benchvenv/bin/python bench/bench_dispatch.py
      [--n 10000] [--rounds 8]
      [--peer-rounds 2] [--toolnode-graph] [--only agent,agent_traced]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time

BENCH = "dispatch"
GOAL_RATIO = 2.0


def summarize(bench, variant, samples, unit, floor_samples=None, **extra):
    rec = {
        "bench": bench,
        "variant": variant,
        "unit": unit,
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "repeats": len(samples),
    }
    if floor_samples is not None:
        rec["ratio_to_floor"] = rec["median"] / statistics.median(floor_samples)
        rec["paired_ratio_median"] = statistics.median(
            s / f for s, f in zip(samples, floor_samples, strict=True)
        )
    rec.update(extra)
    for k in ("median", "min", "max", "ratio_to_floor", "paired_ratio_median"):
        if k in rec:
            rec[k] = round(rec[k], 3)
    print(json.dumps(rec), flush=True)
    return rec


def line(**rec):
    print(json.dumps({"bench": BENCH, **rec}), flush=True)


async def echo(query: str, limit: int) -> dict:
    """Echo the arguments back.

    Args:
        query: a string
        limit: an integer
    """
    return {"query": query, "limit": limit}


def trace_errors(agent) -> list[str]:
    """Write failures the agent's background trace writer swallowed (it never raises)."""
    rec = getattr(agent, "_trace", None)
    return list(getattr(rec, "errors", None) or [])


def count_rows(path: str, table: str) -> int | None:
    try:
        con = sqlite3.connect(path)
        try:
            return con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return None


async def main(n: int, rounds: int, warmup: int, only: set[str] | None, peer_rounds: int,
               with_graph: bool) -> None:
    from jsonschema import Draft202012Validator

    from agent import Agent
    from agent.executor import Executor

    calls = [{"name": "echo", "args": {"query": f"q{i}", "limit": i}} for i in range(n)]
    args_list = [c["args"] for c in calls]
    expected_last = dict(args_list[-1])

    agent = Agent(tools=[echo], store=False, timeout=None)
    agent60 = Agent(tools=[echo], store=False)
    executor = Executor(agent.tools)
    schema = agent.tools["echo"].parameters
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)

    async def one(a):
        validator.validate(a)
        return await echo(**a)

    async def floor():
        create = asyncio.get_running_loop().create_task
        return await asyncio.gather(*[create(one(a)) for a in args_list])

    async def ref_tasks_novalidate():
        create = asyncio.get_running_loop().create_task
        return await asyncio.gather(*[create(echo(**a)) for a in args_list])

    async def run_agent():
        return await agent.execute(calls)

    async def run_agent60():
        return await agent60.execute(calls)

    async def run_executor():
        return await executor.execute(calls)

    variants = {
        "floor": floor,
        "ref_tasks_novalidate": ref_tasks_novalidate,
        "agent": run_agent,
        "agent_timeout60": run_agent60,
        "executor_bare": run_executor,
    }
    checks = {
        "floor": lambda out: out[-1] == expected_last,
        "ref_tasks_novalidate": lambda out: out[-1] == expected_last,
    }
    for name in ("agent", "agent_timeout60", "executor_bare"):
        checks[name] = lambda out: (all(r.ok for r in out) and out[-1].content == expected_last)

    # Traced variant: any failure to set up the store is reported, not raised.
    tmpdir = tempfile.TemporaryDirectory(prefix="bench-dispatch-")
    db_path = os.path.join(tmpdir.name, "trace.db")
    traced = None
    try:
        traced = Agent(tools=[echo], store=db_path, timeout=None)
        out = await traced.execute(calls[:3])
        errs = trace_errors(traced)
        if errs:
            raise RuntimeError(errs[0])
        if not all(r.ok for r in out):
            raise RuntimeError(f"traced sanity run failed: {out[0].error}")
    except Exception as exc:  # store not written yet, schema mismatch, ...
        line(variant="agent_traced", error=f"tracing unavailable: {type(exc).__name__}: {exc}")
        traced = None
    if traced is not None:
        async def run_traced():
            return await traced.execute(calls)

        variants["agent_traced"] = run_traced
        checks["agent_traced"] = checks["agent"]

    # Peer variants: LangGraph is imported here and only here.
    try:
        from langchain_core.messages import AIMessage
        from langchain_core.tools import StructuredTool
        from langgraph.graph import END, START, MessagesState, StateGraph
        from langgraph.prebuilt import ToolNode
        from langgraph.runtime import Runtime
    except ImportError:
        for v in ("toolnode_direct", "toolnode_graph")[: 1 + with_graph]:
            line(variant=v, skipped="langgraph not installed")
    else:
        lc_tool = StructuredTool.from_function(coroutine=echo, name="echo")
        ai_msg = AIMessage(content="", tool_calls=[
            {"name": "echo", "args": a, "id": f"call_{i}", "type": "tool_call"}
            for i, a in enumerate(args_list)
        ])
        tool_node = ToolNode([lc_tool])
        tn_config = {"configurable": {"__pregel_runtime": Runtime()}}
        g = StateGraph(MessagesState)
        g.add_node("tools", ToolNode([lc_tool]))
        g.add_edge(START, "tools")
        g.add_edge("tools", END)
        graph = g.compile()

        async def toolnode_direct():
            return (await tool_node.ainvoke({"messages": [ai_msg]}, tn_config))["messages"]

        async def toolnode_graph():
            return (await graph.ainvoke({"messages": [ai_msg]}))["messages"][1:]

        variants["toolnode_direct"] = toolnode_direct
        if with_graph:
            variants["toolnode_graph"] = toolnode_graph
        last_json = json.dumps(expected_last)
        checks["toolnode_direct"] = checks["toolnode_graph"] = lambda out: (
            len(out) == n and out[-1].content == last_json and out[-1].status == "success"
        )

    if only:
        variants = {k: v for k, v in variants.items() if k in only or k == "floor"}

    # Sanity: every variant really ran every call and returned the input.
    for name, fn in variants.items():
        out = await fn()
        if len(out) != n or not checks[name](out):
            raise SystemExit(f"{name}: sanity check failed")
    peers = {k for k in variants if k.startswith("toolnode")}
    for _ in range(warmup):
        for name, fn in variants.items():
            if name not in peers:
                await fn()

    samples: dict[str, list[float]] = {k: [] for k in variants}
    rng = random.Random(0)
    for r in range(rounds):
        order = [k for k in variants if k not in peers or r < peer_rounds]
        rng.shuffle(order)
        for name in order:
            gc.collect()
            t0 = time.perf_counter()
            await variants[name]()
            dt = time.perf_counter() - t0
            samples[name].append(dt / n * 1e6)

    floor_s = samples["floor"]
    fm = statistics.median(floor_s)
    recs = {}
    for name in variants:
        if not samples[name]:
            continue
        extra = {"n": n, "overhead_us_per_call": round(statistics.median(samples[name]) - fm, 3)}
        if name == "agent_traced":
            errs = trace_errors(traced)
            await traced.aflush()
            rows = count_rows(db_path, "tool_calls")
            expected_rows = 3 + n * (1 + warmup + rounds)
            if errs or rows != expected_rows:
                line(variant=name, error=(errs[0] if errs else
                                          f"trace has {rows} tool_calls rows, expected "
                                          f"{expected_rows}"),
                     failed_writes=len(errs), unverified_median_us_per_call=round(
                         statistics.median(samples[name]), 3))
                continue
            extra.update(trace_rows=rows, db_bytes=os.path.getsize(db_path))
        recs[name] = summarize(BENCH, name, samples[name], "us_per_call",
                               floor_samples=floor_s[: len(samples[name])], **extra)
    for name in ("agent", "agent_traced"):
        if name in recs:
            r = recs[name]["paired_ratio_median"]
            line(variant=name, goal=f"within {GOAL_RATIO:g}x of the floor (us/call)",
                 paired_ratio_median=r, met=r <= GOAL_RATIO)
    if traced is not None:
        traced.close()
    tmpdir.cleanup()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000, help="calls in the plan")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--warmup", type=int, default=0,
                   help="extra warm-up passes (the sanity pass already warms every variant)")
    p.add_argument("--peer-rounds", type=int, default=2,
                   help="rounds that include the (slow) LangGraph variants")
    p.add_argument("--toolnode-graph", action="store_true",
                   help="also run ToolNode inside a compiled StateGraph")
    p.add_argument("--only", default="", help="comma-separated variants (floor always runs)")
    ns = p.parse_args()
    print(json.dumps({"bench": BENCH, "python": sys.version.split()[0], "n": ns.n,
                      "rounds": ns.rounds}), flush=True)
    asyncio.run(main(ns.n, ns.rounds, ns.warmup, set(filter(None, ns.only.split(","))),
                     ns.peer_rounds, ns.toolnode_graph))
