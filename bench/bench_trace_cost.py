"""Where a traced react step's time goes: the loop, the recorder on the loop's thread, the writer.

What it measures
----------------
``bench_agent_loop.py``'s loop (its scripted ``FastModel`` and ``echo`` tool, the react
planner) in three variants, interleaved round by round in one process:

  untraced       ``Agent(..., store=False)``
  recorder_only  traced to a SQLite file, but the store's ``apply`` writes nothing: what
                 queuing the records costs the loop (and the collections they cause)
  traced         traced, each sample ending with ``aflush()`` as in ``bench_agent_loop.py``

All traced variants use the writer thread (``trace_writer="thread"``): the split below is of
that path; the writer process works in another process (``bench_agent_loop.py`` compares
the two).

A sample is 20 runs of 10 steps, or one run of 200. Per variant and size: median wall
us/step, the loop thread's CPU us/step (``time.thread_time`` before the flush), how long the
closing ``aflush()`` waited (``flush_wait``, us per step of the sample: the writer's work left
when the loop was done) and the median of the paired ratio to ``untraced``; then a ``split``
line: the recorder's share (recorder_only - untraced) and the writer's (traced -
recorder_only), in us/step and as shares of ``traced``, and ``writer_after_loop``: the share
of the writer's time spent after the loop ended, that is, not beside it.

Run:  PYTHONPATH=$PWD python bench/bench_trace_cost.py [--rounds 12]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = "trace_cost"
HERE = Path(__file__).resolve().parent
VARIANTS = ("untraced", "recorder_only", "traced")
SIZES = ((10, 20), (200, 1))  # (steps a run, runs a sample)


def line(**rec: Any) -> None:
    print(json.dumps({"bench": BENCH, **rec}), flush=True)


async def main(rounds: int) -> None:
    sys.path.insert(0, str(HERE))
    import bench_agent_loop as loop

    loop.source_tree()
    from agent import Agent
    from agent.planners.react import ReactPlanner
    from agent.store.core import TraceStore

    tmp = tempfile.TemporaryDirectory(prefix="bench-trace-cost-")
    # The writer thread: its split (loop / recorder / writer) is what this script maps; the
    # writer process ("auto" hands it a trace this busy) writes out of this process's sight.
    traced = Agent(tools=[loop.echo], planner=ReactPlanner(), max_steps=10_000,
                   store=Path(tmp.name) / "trace.db", trace_writer="thread")
    untraced = Agent(tools=[loop.echo], planner=ReactPlanner(), max_steps=10_000, store=False)
    scripts = {k: loop.replies(k) for k, _ in SIZES}
    real_apply = TraceStore.apply

    async def sample(variant: str, k: int, runs: int) -> tuple[float, float, float]:
        agent = untraced if variant == "untraced" else traced
        # On the class: the recorder's thread calls it through the store it was given.
        TraceStore.apply = (lambda self, ops: None) if variant == "recorder_only" \
            else real_apply  # type: ignore[method-assign]
        gc.collect()
        start, cpu = time.perf_counter(), time.thread_time()
        for _ in range(runs):
            agent._model = loop.FastModel(scripts[k])
            run = await agent.run("count")
            assert run.status == "ok" and len(run.results) == k, (run.status, run.error)
        loop_cpu = time.thread_time() - cpu
        flush = time.perf_counter()
        await agent.aflush()
        end = time.perf_counter()
        steps = k * runs
        return ((end - start) / steps * 1e6, loop_cpu / steps * 1e6,
                (end - flush) / steps * 1e6)

    for k, runs in SIZES:  # warm-up: imports, caches, the store's first pages
        for variant in VARIANTS:
            await sample(variant, k, runs)
    results: dict[tuple[str, int], list[tuple[float, float, float]]] = {
        (v, k): [] for v in VARIANTS for k, _ in SIZES}
    for _ in range(rounds):
        for k, runs in SIZES:
            for variant in random.sample(VARIANTS, len(VARIANTS)):
                results[(variant, k)].append(await sample(variant, k, runs))
    TraceStore.apply = real_apply  # type: ignore[method-assign]
    for k, _ in SIZES:
        base = results[("untraced", k)]
        medians, waits = {}, {}
        for variant in VARIANTS:
            samples = results[(variant, k)]
            medians[variant] = statistics.median(w for w, _, _ in samples)
            waits[variant] = statistics.median(f for _, _, f in samples)
            line(variant=variant, steps=k, unit="us_per_step",
                 median=round(medians[variant], 1),
                 loop_thread_cpu=round(statistics.median(c for _, c, _ in samples), 1),
                 flush_wait=round(waits[variant], 1),
                 paired_ratio_to_untraced=round(statistics.median(
                     s[0] / b[0] for s, b in zip(samples, base, strict=True)), 3),
                 repeats=len(samples))
        total = medians["traced"]
        recorder = medians["recorder_only"] - medians["untraced"]
        writer = medians["traced"] - medians["recorder_only"]
        line(variant="split", steps=k, unit="us_per_step", loop=round(medians["untraced"], 1),
             recorder=round(recorder, 1), writer=round(writer, 1),
             shares={"loop": round(medians["untraced"] / total, 2),
                     "recorder": round(recorder / total, 2),
                     "writer": round(writer / total, 2)},
             writer_after_loop=round(min(1.0, waits["traced"] / writer), 2) if writer > 0
             else None)
    traced.close()
    tmp.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    asyncio.run(main(args.rounds))
