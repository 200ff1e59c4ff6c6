"""MCP round trip: one call of a trivial tool over stdio, against calling it directly.

What it measures
----------------
The tool is ``echo(text: str) -> str`` of tests/support/mcp_echo_server.py (a real MCP
server built on the official SDK, started once as a subprocess). Each round times ``--n``
sequential calls per variant (variants interleaved, shuffled per round) and keeps the
median latency of one call. Variants, all in one process and one event loop:

  direct           ``echo("hi")``: the same Python function, called in-process        (floor)
  agent_direct     ``Agent(tools=[echo], store=False).execute([...])``: our runtime with the
                   same function as a local tool (validation, a run, a step, the transcript)
  sdk_stdio        ``mcp.Client.call_tool("echo", ...)`` over stdio, from this loop: the SDK's
                   own round trip (JSON-RPC over pipes, the server's dispatch), no agent
  agent_mcp_stdio  ``Agent(tools=tools_from_mcp(...)).execute([...])``: the bridged tool
                   through our runtime: the call crosses to the connection's thread and loop,
                   goes over stdio, and comes back (what a planner's call costs)

Output: one JSON line per variant with the median/min/max over rounds of the per-round
median latency in microseconds, ``ratio_to_floor`` and ``paired_ratio_median`` against
``direct``, and ``ratio_to_agent_direct`` (what MCP adds to a local tool in our runtime);
then ``mcp_overhead_us``: agent_mcp_stdio minus agent_direct, and agent_mcp_stdio minus
sdk_stdio (what our bridge adds to the SDK).

Run:  PYTHONPATH=$PWD /work/venv/bin/python bench/bench_mcp.py [--n 200] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path

BENCH = "mcp"
SERVER = str(Path(__file__).resolve().parents[1] / "tests" / "support" / "mcp_echo_server.py")


def echo(text: str) -> str:
    """Return the text unchanged.

    Args:
        text: any text
    """
    return text


def line(**rec: object) -> None:
    print(json.dumps({"bench": BENCH, **rec}), flush=True)


async def timed(fn, n: int) -> float:
    """Median latency (us) of ``n`` sequential awaits of ``fn()``."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - t0) * 1e6)
    return statistics.median(samples)


async def main(n: int, rounds: int) -> None:
    from mcp import Client, StdioServerParameters

    from agent import Agent
    from agent.plugins.mcp_client import tools_from_mcp

    local = Agent(tools=[echo], store=False)
    bridged_tools = tools_from_mcp("bench", command=sys.executable, args=[SERVER],
                                   connect_timeout=60)
    bridged = Agent(tools=bridged_tools, store=False)
    params = StdioServerParameters(command=sys.executable, args=[SERVER])

    async with Client(params) as client:
        async def direct() -> None:
            assert echo("hi") == "hi"

        async def agent_direct() -> None:
            (r,) = await local.execute([{"name": "echo", "args": {"text": "hi"}}])
            assert r.content == "hi", r.error

        async def sdk_stdio() -> None:
            r = await client.call_tool("echo", {"text": "hi"})
            assert r.structured_content == {"result": "hi"}

        async def agent_mcp_stdio() -> None:
            (r,) = await bridged.execute([{"name": "bench_echo", "args": {"text": "hi"}}])
            assert r.content == {"result": "hi"}, r.error

        variants = {"direct": direct, "agent_direct": agent_direct, "sdk_stdio": sdk_stdio,
                    "agent_mcp_stdio": agent_mcp_stdio}
        for fn in variants.values():  # warm-up: imports, caches, the server's first call
            await timed(fn, max(5, n // 10))
        results: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(rounds):
            order = list(variants)
            random.shuffle(order)
            for name in order:
                results[name].append(await timed(variants[name], n))

    floor = results["direct"]
    base = results["agent_direct"]
    for name, samples in results.items():
        med = statistics.median(samples)
        line(variant=name, unit="us_per_call", median=round(med, 1),
             min=round(min(samples), 1), max=round(max(samples), 1), repeats=rounds, n=n,
             ratio_to_floor=round(med / statistics.median(floor), 1),
             paired_ratio_median=round(statistics.median(
                 s / f for s, f in zip(samples, floor, strict=True)), 1),
             ratio_to_agent_direct=round(med / statistics.median(base), 2))
    mcp = statistics.median(results["agent_mcp_stdio"])
    line(variant="mcp_overhead_us",
         over_agent_direct=round(mcp - statistics.median(base), 1),
         over_sdk_stdio=round(mcp - statistics.median(results["sdk_stdio"]), 1))
    local.close()
    bridged.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=200, help="calls per variant per round")
    p.add_argument("--rounds", type=int, default=7)
    a = p.parse_args()
    asyncio.run(main(a.n, a.rounds))
