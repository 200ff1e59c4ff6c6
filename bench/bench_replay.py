"""Benchmark cached replay against recording, in the same process and round.

Each round records ``--n`` runs into a fresh temporary trace store (one ``Agent``, the
dataflow planner on the built-in tools, queries cycling through a fixed list; with
``--react`` also scripted-model ReAct runs), then replays every one of them cached with one
``Replayer`` (each replay reads its run from the store, re-plans, is served the recorded
results, writes a new run and compares transcripts). Prints JSON lines:

- record:        runs/s while recording (the floor: the original recording rate)
- replay_cached: runs/s of cached replay; ``paired_ratio_median`` = replay / record per round
- identical:     how many replays reproduced their transcript (must be all)

Usage: python bench/bench_replay.py [--n 1000] [--rounds 3] [--react]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent import Agent
from agent.registry import build_registry
from agent.replay import Replayer
from agent.store import TraceStore

QUERIES = [
    "what is 15% of 240",
    "how many miles is 42.195 km",
    "what is 2 + 2 and how many feet is 3 meters",
    "convert 100 degF to degC",
    "what is (17 * 23) - 4",
    "how many days are between 2024-01-01 and 2024-03-01",
    "convert 5 km to miles",
    "what is 3 to the power of 7",
]


def react_script(n: int) -> list[Any]:
    """One scripted conversation per ReAct run, back to back: one model serves them all."""
    from agent.testing.scripted import call, say

    items: list[Any] = []
    for i in range(n):
        expression = f"{i % 97} * 3"
        items += [call("calculate", {"expression": expression}, f"c{i}"),
                  say(f"{expression} is {(i % 97) * 3}")]
    return items


async def record(store: TraceStore, registry: Any, n: int, react: bool) -> tuple[list[str], float]:
    from agent.planners.react import ReactPlanner
    from agent.testing.scripted import scripted

    ids: list[str] = []
    dataflow = Agent(store=store, registry=registry)
    llm = Agent(["calculate"], store=store, registry=registry, planner=ReactPlanner(),
                model=scripted(*react_script(n)))
    t0 = time.perf_counter()
    for i in range(n):
        if react and i % 2:
            run = await llm.run(f"what is {i % 97} times 3")
        else:
            run = await dataflow.run(QUERIES[i % len(QUERIES)])
        ids.append(run.id)
    await dataflow.aflush()
    await llm.aflush()
    elapsed = time.perf_counter() - t0
    dataflow.close()
    llm.close()
    return ids, n / elapsed


async def replay(store: TraceStore, registry: Any, ids: list[str]) -> tuple[float, int]:
    identical = 0
    t0 = time.perf_counter()
    async with Replayer(store, registry=registry) as replayer:
        for run_id in ids:
            result = await replayer.replay(run_id, "cached")
            identical += bool(result.identical)
    elapsed = time.perf_counter() - t0
    return len(ids) / elapsed, identical


def line(variant: str, values: list[float], **extra: Any) -> None:
    print(json.dumps({"bench": "replay", "variant": variant, "unit": "runs_per_s",
                      "median": round(statistics.median(values), 1),
                      "min": round(min(values), 1), "max": round(max(values), 1),
                      "repeats": len(values), **extra}), flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="runs per round (default 1000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--react", action="store_true",
                        help="every other run is a scripted-model ReAct run")
    args = parser.parse_args()
    registry = build_registry()
    rec_rates: list[float] = []
    rep_rates: list[float] = []
    identical: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            with TraceStore(Path(tmp) / f"round{r}.db") as store:
                ids, rec_rate = await record(store, registry, args.n, args.react)
                rep_rate, same = await replay(store, registry, ids)
            rec_rates.append(rec_rate)
            rep_rates.append(rep_rate)
            identical.append(same)
    ratios = [b / a for a, b in zip(rec_rates, rep_rates, strict=True)]
    mix = "dataflow+react" if args.react else "dataflow"
    line("record", rec_rates, n=args.n, planners=mix)
    line("replay_cached", rep_rates, n=args.n, planners=mix,
         ratio_to_floor=round(statistics.median(rep_rates) / statistics.median(rec_rates), 2),
         paired_ratio_median=round(statistics.median(ratios), 2))
    print(json.dumps({"bench": "replay", "variant": "identical", "n": args.n,
                      "per_round": identical, "all": all(i == args.n for i in identical)}))
    goal = statistics.median(ratios)
    print(json.dumps({"bench": "replay", "variant": "replay_cached",
                      "goal": "cached replay at least 0.5x the recording rate",
                      "paired_ratio_median": round(goal, 2), "met": goal >= 0.5}))


if __name__ == "__main__":
    asyncio.run(main())
