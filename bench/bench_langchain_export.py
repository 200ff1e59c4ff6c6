"""What going through our runtime costs a LangChain caller (``to_langchain_tools``).

One trivial async tool, ``echo(query: str, limit: int)``, called ``--n`` times one after the
other per round; variants interleaved round by round in a shuffled order:

  lc_native     langchain-core ``StructuredTool.from_function(coroutine=echo)``, ``ainvoke``:
                LangChain's own tool (pydantic validation, callbacks), no runtime of ours.
                                                                                     (floor)
  lc_exported   ``to_langchain_tools([echo])[0].ainvoke``: the same LangChain entry point,
                then our executor (JSON Schema validation, approval check, timeout, result).
  lc_agent      ``to_langchain_tools(Agent([echo], store=False))``: each call is a run of
                that agent (run record, step, transcript), untraced.
  executor      ``Executor.execute([call])`` directly: our runtime without LangChain.

Goal: the exported tool within 2x of LangChain's native tool per call (paired median).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from typing import Any

BENCH = "langchain_export"


def line(**rec: object) -> None:
    print(json.dumps({"bench": BENCH, **rec}), flush=True)


async def echo(query: str, limit: int = 3) -> dict[str, Any]:
    """Return the arguments.

    Args:
        query: any text
        limit: any number
    """
    return {"query": query, "limit": limit}


async def main(rounds: int, n: int) -> None:
    from langchain_core.tools import StructuredTool

    from agent import Agent
    from agent.executor import Executor
    from agent.plugins.langchain import to_langchain_tools

    native = StructuredTool.from_function(coroutine=echo)
    [exported] = to_langchain_tools([echo])
    agent = Agent([echo], store=False)
    [via_agent] = to_langchain_tools(agent)
    executor = Executor(agent.tools, timeout=60.0)
    args = {"query": "paris", "limit": 2}

    async def run_executor(a: dict[str, Any]) -> Any:
        return (await executor.execute([{"name": "echo", "args": a}]))[0].content

    variants = {"lc_native": native.ainvoke, "lc_exported": exported.ainvoke,
                "lc_agent": via_agent.ainvoke, "executor": run_executor}
    for fn in variants.values():  # warm-up and a sanity check
        assert await fn(dict(args)) == args
    samples: dict[str, list[float]] = {k: [] for k in variants}
    rng = random.Random(0)
    for _ in range(rounds):
        order = list(variants)
        rng.shuffle(order)
        for name in order:
            fn = variants[name]
            t0 = time.perf_counter()
            for _ in range(n):
                await fn(dict(args))
            samples[name].append((time.perf_counter() - t0) * 1e6 / n)
    floor = samples["lc_native"]
    paired = {}
    for name, values in samples.items():
        paired[name] = statistics.median(v / f for v, f in zip(values, floor, strict=True))
        line(variant=name, unit="us_per_call", median=round(statistics.median(values), 1),
             min=round(min(values), 1), max=round(max(values), 1), repeats=len(values),
             ratio_to_floor=round(statistics.median(values) / statistics.median(floor), 3),
             paired_ratio_median=round(paired[name], 3))
    line(variant="lc_exported", goal="within 2x of LangChain's native tool",
         paired_ratio_median=round(paired["lc_exported"], 3), met=paired["lc_exported"] < 2.0)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=9, help="rounds (default 9)")
    ap.add_argument("--n", type=int, default=300, help="calls per variant per round")
    a = ap.parse_args()
    asyncio.run(main(a.rounds, a.n))
