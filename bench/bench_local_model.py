"""The embedded local model (SmolLM2-135M, llama.cpp on CPU): tokens per second, and time to
the first tool call.

What it measures
----------------
  free_text        a plain reply (no tools bound): generated tokens/s and prompt tokens/s,
                   from llama.cpp's own timings. The baseline: the same model, no grammar.
  tool_call        one request with the built-in calculator bound and ``tool_choice=required``:
                   the reply is grammar-constrained JSON. Wall time to the parsed, validated
                   call, and generated tokens/s (the grammar's cost is the ratio to free_text).
  react_first_call a whole ``react`` run through ``Agent`` (traced to a temp SQLite file) on
                   "What is 12 * 7?" with every built-in tool offered: wall time from
                   ``run()`` to the first tool call's result (the newcomer's first wait), and
                   the run's total time.

Rounds are interleaved; JSON lines give medians (min/max) and the ratios.

Run:  /work/venv/bin/python bench/bench_local_model.py [--rounds 3] [--threads N]
(from any directory but the repository root; the model file is fetched into .cache/ first.)
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

QUESTION = "What is 12 * 7?"
STORY = "Write two sentences about the sea."


def emit(**row: Any) -> None:
    print(json.dumps({"bench": "local_model", **row}), flush=True)


def summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2)}


def free_text(model: Any) -> tuple[float, float]:
    reply = model.invoke(STORY)
    t = reply.response_metadata.get("timings", {})
    return float(t.get("predicted_per_second", 0.0)), float(t.get("prompt_per_second", 0.0))


def tool_call(model: Any, spec: dict[str, Any]) -> tuple[float, float, bool]:
    bound = model.bind_tools([spec], tool_choice="required")
    start = time.perf_counter()
    reply = bound.invoke(QUESTION)
    wall = (time.perf_counter() - start) * 1000
    t = reply.response_metadata.get("timings", {})
    return wall, float(t.get("predicted_per_second", 0.0)), bool(reply.tool_calls)


async def react_first_call(model: Any, db: Path) -> tuple[float, float, str]:
    from agent import Agent

    first: list[float] = []
    agent = Agent(planner="react", model=model, store=db, max_steps=6)
    start = time.perf_counter()
    status = "?"
    async for event in agent.stream(QUESTION):
        if event.type == "tool_finished" and not first:
            first.append((time.perf_counter() - start) * 1000)
        status = event.run.status
    total = (time.perf_counter() - start) * 1000
    await agent.aflush()
    agent.close()
    return (first[0] if first else float("nan")), total, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0: all)")
    args = parser.parse_args()

    from support.models import smollm2_path

    from agent.plugins.llamacpp_chat import LlamaCppChatModel
    from agent.registry import build_registry

    options: dict[str, Any] = {"max_tokens": 64}
    if args.threads:
        options["threads"] = args.threads
    model = LlamaCppChatModel(model_path=str(smollm2_path()), **options)
    spec = build_registry().tools["calculate"].spec()
    model.invoke("hi")  # load the model once, outside the timings

    gen, prompt, calls, call_tps, firsts, totals = [], [], [], [], [], []
    statuses: list[str] = []
    ok = 0
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            tps, pps = free_text(model)
            gen.append(tps)
            prompt.append(pps)
            wall, ctps, made = tool_call(model, spec)
            calls.append(wall)
            call_tps.append(ctps)
            ok += made
            first, total, status = asyncio.run(react_first_call(model, Path(tmp) / f"t{r}.db"))
            firsts.append(first)
            totals.append(total)
            statuses.append(status)
    emit(variant="free_text", unit="tokens_per_s", generated=summary(gen),
         prompt=summary(prompt))
    emit(variant="tool_call", unit="ms", wall=summary(calls),
         generated_tokens_per_s=summary(call_tps), calls_made=f"{ok}/{args.rounds}")
    emit(variant="react_first_call", unit="ms", first_tool_result=summary(firsts),
         run_total=summary(totals), statuses=statuses)
    emit(ratio="constrained_vs_free_generation_speed",
         value=round(statistics.median(call_tps) / statistics.median(gen), 3))


if __name__ == "__main__":
    main()
