"""Agent loop cost per step in CPU instructions (valgrind/callgrind): a figure noise cannot move.

Why: on the shared 2-core machine ``bench_agent_loop.py``'s wall times of one variant swing
1.5-2x between runs, so a 10-20% change in the loop or the trace writer is invisible there.
An instruction count is the same from run to run; it is no wall time (it ignores cache
misses, the cost of the writer thread handing over the GIL, I/O, and, since the garbage
collector is off in the measured process, collections), so read it beside
``bench_agent_loop.py``, never instead of it.

What it measures
----------------
The same loop as ``bench_agent_loop.py`` (its scripted ``FastModel`` and ``echo`` tool): runs
of ``--steps`` ReAct steps, in a child process under ``valgrind --tool=callgrind``, once with
``--base`` runs and once with ``--extra`` runs more; instructions per step are the difference
divided by the extra steps, so start-up and imports cancel out. The extra runs cover at least
400 steps (2 runs of 200, 40 of 10): the trace store checkpoints its WAL every ~25 runs of 10
steps, and two extra short runs would count a whole checkpoint or none. Variants:

  floor_validated       the peer script's floor (``bench_agent_loop.floor_validated_run``),
                        the loop the issue's "about 23 us/step" is of
  handwritten           the hand-written validated loop (jsonschema validator, ToolMessage)
  agent_react_untraced  ``Agent(..., store=False)`` with the react planner
  agent_react           the same traced to a SQLite file, ``aflush()`` after every run, so the
                        trace writer thread's instructions are counted too (the writer
                        thread always: the writer process is out of callgrind's sight)

Output: one JSON line per variant with ``instructions_per_step``, ``ratio_to_handwritten``
and ``ratio_to_floor_validated``; a ``skipped`` line when valgrind is not installed. About 4
minutes with the defaults (``--jobs 2`` runs two valgrinds at once).

Run:  PYTHONPATH=$PWD python bench/bench_loop_instructions.py   (from the repository root;
      the project's venv or the peer one, no langgraph needed)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

BENCH = "loop_instructions"
HERE = Path(__file__).resolve().parent
VARIANTS = ("floor_validated", "handwritten", "agent_react_untraced", "agent_react")


def line(**rec: Any) -> None:
    print(json.dumps({"bench": BENCH, **rec}), flush=True)


async def child(variant: str, runs: int, steps: int, db: str) -> None:
    """What valgrind runs: ``runs`` runs of ``variant``, nothing printed."""
    sys.path.insert(0, str(HERE))
    import bench_agent_loop as loop

    loop.source_tree()
    from jsonschema import Draft202012Validator
    from langchain_core.messages import HumanMessage, ToolMessage

    from agent import Agent
    from agent.planners.react import ReactPlanner

    script = loop.replies(steps)
    gc.collect()
    gc.disable()  # a collection lands in one run and not another: counts without them
    # The writer thread, always: callgrind counts this process, and the writer process
    # ("auto" starts one for a trace this busy) trades instructions for a second core.
    agent = Agent(tools=[loop.echo], planner=ReactPlanner(), max_steps=10_000,
                  store=db if variant == "agent_react" else False, trace_writer="thread")
    validator = Draft202012Validator(agent.tools["echo"].parameters)
    spec = agent.tools["echo"].spec()
    floor = Draft202012Validator(loop.ECHO_SCHEMA)
    for _ in range(runs):
        model = loop.FastModel(script)
        if variant == "floor_validated":
            await loop.floor_validated_run(steps, floor)
        elif variant == "handwritten":
            messages: list[Any] = [HumanMessage("count")]
            bound = model.bind_tools([spec])
            while True:
                reply = await bound.ainvoke(messages)
                messages.append(reply)
                if not reply.tool_calls:
                    break
                for tc in reply.tool_calls:
                    validator.validate(tc["args"])
                    out = await loop.echo(**tc["args"])
                    messages.append(ToolMessage(content=json.dumps(out), tool_call_id=tc["id"]))
        else:
            agent._model = model
            run = await agent.run("count")
            assert run.status == "ok" and len(run.results) == steps, (run.status, run.error)
            await agent.aflush()
    agent.close()


def instructions(valgrind: str, variant: str, runs: int, steps: int) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-loop-ir-") as tmp:
        cmd = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, __file__, "--child", variant, "--runs", str(runs),
               "--steps", str(steps), "--db", str(Path(tmp) / "trace.db")]
        # numpy (imported by sqlite-utils) starts OpenBLAS threads, whose waiting loop
        # valgrind counts as work: none are needed.
        # A fixed hash seed: dict and set probing differs from seed to seed.
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if done.returncode != 0 or not found:
        raise RuntimeError(f"{variant}: valgrind failed: {done.stderr.strip()[-500:]}")
    return int(found.group(1))


def main(steps: int, base: int, extra: int, jobs: int) -> None:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        for v in VARIANTS:
            line(variant=v, skipped="valgrind not installed (apt install valgrind)")
        return
    cases = [(v, n) for v in VARIANTS for n in (base, base + extra)]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        counts = dict(zip(cases, pool.map(
            lambda c: instructions(valgrind, c[0], c[1], steps), cases), strict=True))
    per_step = {v: (counts[(v, base + extra)] - counts[(v, base)]) / (extra * steps)
                for v in VARIANTS}
    hand, floor = per_step["handwritten"], per_step["floor_validated"]
    for v in VARIANTS:
        line(variant=v, steps=steps, extra_runs=extra, unit="instructions_per_step",
             instructions_per_step=round(per_step[v]),
             ratio_to_handwritten=round(per_step[v] / hand, 2),
             ratio_to_floor_validated=round(per_step[v] / floor, 2))
    line(variant="agent_react", note="what tracing adds per step (writer thread included)",
         trace_instructions_per_step=round(per_step["agent_react"]
                                           - per_step["agent_react_untraced"]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="steps per run")
    parser.add_argument("--base", type=int, default=1, help="runs in the baseline count")
    parser.add_argument("--extra", type=int, default=0,
                        help="runs added to the baseline (default: 400 steps' worth, at least 2)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--db", default="", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.child:
        asyncio.run(child(a.child, a.runs, a.steps, a.db))
    else:
        main(a.steps, a.base, a.extra or max(2, -(-400 // a.steps)), a.jobs)
