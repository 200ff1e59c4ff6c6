"""Parallel fan-out: one plan of K independent calls that each ``await asyncio.sleep(0.05)``.

What it measures
----------------
Wall time (ms) of one plan of K (default 100 and 1000) independent calls of
``slow_echo(query, limit)``, an ``async def`` that sleeps 50 ms and returns its arguments. All
calls can overlap, so the physical floor is ~50 ms plus the cost of starting K coroutines.
The plan is built before timing. Variants, interleaved per round in shuffled order in one
process and one event loop:

  gather_plain            ``asyncio.gather(*(slow_echo(**args) ...))``               (floor)
  agent_traced            ``Agent(tools=[slow_echo], store=<temp SQLite file>, timeout=None)
                          .execute(plan)``, including the final flush that waits until the run,
                          its step, the K tool-call rows and the transcript are committed.
                          One Agent serves all rounds (the file grows by K rows per round).
  agent_traced_timeout60  the same with the default per-call ``timeout=60.0``
  agent                   ``Agent(..., store=False, timeout=None).execute(plan)`` (no tracing)
  toolnode_direct         LangGraph ``ToolNode.ainvoke`` with ONE AIMessage holding the K tool
                          calls (bare ``Runtime()`` given via the private config key
                          ``__pregel_runtime``), the same shape as the peer script's variant

LangGraph is imported only for toolnode_direct; without it that variant prints
``{"variant": "toolnode_direct", "skipped": "langgraph not installed"}``. If the trace store
is missing or refuses writes, each traced variant prints an ``error`` line instead of a
measurement (and the goal is then checked on the untraced ``agent``, marked as such).

Goals (checked on ``paired_ratio_median``, i.e. per-round agent/gather, the robust number):
  K=100:  agent_traced within 5% of gather_plain   (ratio <= 1.05)
  K=1000: agent_traced within 1.3x of gather_plain (ratio <= 1.30)

Output: one JSON line per (K, variant): wall ms median/min/max, ``ratio_to_floor``,
``paired_ratio_median``, ``overhead_ms`` (median - 50 ms) and ``overhead_per_call_us``; then one
``goal`` line per K.

Run:  PYTHONPATH=/work/main /work/benchvenv/bin/python bench/bench_fanout.py
      [--ks 100,1000] [--rounds 15]
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

BENCH = "fanout"
SLEEP = 0.05
GOALS = {100: 1.05, 1000: 1.30}


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


async def slow_echo(query: str, limit: int) -> dict:
    """Sleep 50 ms then echo the arguments back.

    Args:
        query: a string
        limit: an integer
    """
    await asyncio.sleep(SLEEP)
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


async def open_traced(path: str, **kwargs):
    """A traced Agent that has proven it can write a run, or (None, error message)."""
    from agent import Agent

    try:
        agent = Agent(tools=[slow_echo], store=path, **kwargs)
        out = await agent.execute([{"name": "slow_echo", "args": {"query": "x", "limit": 1}}])
        errs = trace_errors(agent)
        if errs:
            raise RuntimeError(errs[0])
        if not out[0].ok:
            raise RuntimeError(f"sanity call failed: {out[0].error}")
        return agent, None
    except Exception as exc:
        return None, f"tracing unavailable: {type(exc).__name__}: {exc}"


def make_variants(k: int, traced: dict, untraced, peer):
    """The timed callables for plan size ``k`` and a sanity check of each one's output."""
    args_list = [{"query": f"q{i}", "limit": i} for i in range(k)]
    calls = [{"name": "slow_echo", "args": a} for a in args_list]
    expected_last = dict(args_list[-1])

    async def gather_plain():
        return await asyncio.gather(*(slow_echo(**a) for a in args_list))

    def agent_check(out):
        return all(r.ok for r in out) and out[-1].content == expected_last

    def runner(agent):
        async def run():
            return await agent.execute(calls)

        return run

    variants = {"gather_plain": gather_plain}
    checks = {"gather_plain": lambda out: out[-1] == expected_last}
    for name, agent in traced.items():
        variants[name] = runner(agent)
        checks[name] = agent_check
    variants["agent"] = runner(untraced)
    checks["agent"] = agent_check
    if peer is not None:
        from langchain_core.messages import AIMessage

        tool_node, tn_config = peer
        ai_msg = AIMessage(content="", tool_calls=[
            {"name": "slow_echo", "args": a, "id": f"call_{i}", "type": "tool_call"}
            for i, a in enumerate(args_list)
        ])
        last_json = json.dumps(expected_last)

        async def toolnode_direct():
            return (await tool_node.ainvoke({"messages": [ai_msg]}, tn_config))["messages"]

        variants["toolnode_direct"] = toolnode_direct
        checks["toolnode_direct"] = lambda out: (
            out[-1].content == last_json and out[-1].status == "success"
        )
    return variants, checks


async def main(ks: list[int], rounds: int, warmup: int) -> None:
    from agent import Agent

    tmpdir = tempfile.TemporaryDirectory(prefix="bench-fanout-")
    dbs = {"agent_traced": os.path.join(tmpdir.name, "trace.db"),
           "agent_traced_timeout60": os.path.join(tmpdir.name, "trace60.db")}
    traced = {}
    for name, kwargs in (("agent_traced", {"timeout": None}), ("agent_traced_timeout60", {})):
        agent, err = await open_traced(dbs[name], **kwargs)
        if agent is None:
            line(variant=name, error=err)
        else:
            traced[name] = agent
    untraced = Agent(tools=[slow_echo], store=False, timeout=None)

    peer = None
    try:
        from langchain_core.tools import StructuredTool
        from langgraph.prebuilt import ToolNode
        from langgraph.runtime import Runtime
    except ImportError:
        line(variant="toolnode_direct", skipped="langgraph not installed")
    else:
        lc_tool = StructuredTool.from_function(coroutine=slow_echo, name="slow_echo")
        peer = (ToolNode([lc_tool]), {"configurable": {"__pregel_runtime": Runtime()}})

    rows_written = {name: 1 for name in traced}  # the sanity call
    for k in ks:
        variants, checks = make_variants(k, traced, untraced, peer)
        for name, fn in variants.items():  # sanity, and the first warm-up
            out = await fn()
            if len(out) != k or not checks[name](out):
                raise SystemExit(f"{name} (k={k}): sanity check failed")
        for _ in range(warmup - 1):
            for fn in variants.values():
                await fn()
        for name in traced:
            rows_written[name] += k * max(warmup, 1)

        samples: dict[str, list[float]] = {name: [] for name in variants}
        rng = random.Random(k)
        for _ in range(rounds):
            order = list(variants)
            rng.shuffle(order)
            for name in order:
                gc.collect()
                t0 = time.perf_counter()
                await variants[name]()
                samples[name].append((time.perf_counter() - t0) * 1e3)
        for name in traced:
            rows_written[name] += k * rounds

        floor = samples["gather_plain"]
        recs = {}
        for name in variants:
            med = statistics.median(samples[name])
            extra = {"k": k, "overhead_ms": round(med - SLEEP * 1e3, 3),
                     "overhead_per_call_us": round((med - SLEEP * 1e3) / k * 1e3, 2)}
            if name in traced:
                agent = traced[name]
                await agent.aflush()
                errs = trace_errors(agent)
                rows = count_rows(dbs[name], "tool_calls")
                if errs or rows != rows_written[name]:
                    line(variant=name, k=k, error=(errs[0] if errs else
                                                   f"trace has {rows} tool_calls rows, expected "
                                                   f"{rows_written[name]}"),
                         failed_writes=len(errs), unverified_median_ms=round(med, 3))
                    continue
                extra["trace_rows"] = rows
            recs[name] = summarize(BENCH, name, samples[name], "ms_wall", floor_samples=floor,
                                   **extra)
        goal = GOALS.get(k)
        if goal is not None:
            name = "agent_traced" if "agent_traced" in recs else "agent"
            r = recs[name]["paired_ratio_median"]
            line(variant=name, k=k, goal=f"within {goal:g}x of asyncio.gather (wall)",
                 paired_ratio_median=r, met=r <= goal,
                 **({} if name == "agent_traced" else {"note": "tracing unavailable: untraced"}))

    for agent in traced.values():
        agent.close()
    tmpdir.cleanup()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ks", default="100,1000", help="comma-separated plan sizes")
    p.add_argument("--n", type=int, default=None, help="a single plan size (overrides --ks)")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--warmup", type=int, default=1)
    ns = p.parse_args()
    ks = [ns.n] if ns.n else [int(x) for x in ns.ks.split(",")]
    print(json.dumps({"bench": BENCH, "python": sys.version.split()[0], "ks": ks,
                      "rounds": ns.rounds}), flush=True)
    asyncio.run(main(ks, ns.rounds, ns.warmup))
