"""compiler vs react on a fan-out query: wall time.

What it measures
----------------
The query needs five independent calls of ``fetch(key)``, a tool that sleeps 200 ms. The
model is scripted (a langchain-core ``BaseChatModel``) with 300 ms of latency per call:

  react_sequential   the classic ReAct trace the LLMCompiler paper compares with: one tool
                     call per model turn: 5 x (300 ms model + 200 ms tool) + 300 ms answer.
  react_parallel     ReAct with native parallel tool calling: one turn with all five calls,
                     then the answer (300 + 200 + 300 ms at best).
  compiler           the compiler planner: the plan streams over 300 ms (one line every
                     50 ms, tasks start as their lines arrive), then the joiner (300 ms).

Each variant runs a whole traced run (``store=<temp file>``, flush included) per round,
interleaved in a shuffled order. Output: JSON lines per variant (wall ms median/min/max) and
``speedup`` lines: react variant / compiler (medians); LLMCompiler reports up to 3.7x.

Run:  PYTHONPATH=$PWD /work/venv/bin/python bench/bench_compiler.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = "compiler"
ROOT = Path(__file__).resolve().parents[1]
LATENCY = 0.3
TOOL_S = 0.2
KEYS = ["a", "b", "c", "d", "e"]


def source_tree() -> None:
    """Import ``agent.planners`` from the source tree when the package is not installed."""
    import agent

    if importlib.util.find_spec("agent.planners") is not None:
        return
    folder = ROOT / "planners"
    spec = importlib.util.spec_from_file_location(
        "agent.planners", folder / "__init__.py", submodule_search_locations=[str(folder)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["agent.planners"] = module
    spec.loader.exec_module(module)
    agent.planners = module  # type: ignore[attr-defined]


def line(**rec: Any) -> None:
    print(json.dumps({"bench": BENCH, **rec}), flush=True)


async def fetch(key: str) -> dict:
    """Fetch a record (200 ms).

    Args:
        key: which record
    """
    await asyncio.sleep(TOOL_S)
    return {"key": key, "value": ord(key)}


def model_class() -> type:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessageChunk
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

    class LatencyModel(BaseChatModel):
        """Replies from a script after ``LATENCY``; streams text lines spread over it."""

        script: list[Any]
        position: int = 0

        @property
        def _llm_type(self) -> str:
            return "bench-latency"

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self.bind(tools=tools, **kwargs)

        def _pop(self) -> Any:
            reply = self.script[self.position]
            self.position += 1
            return reply

        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError("async only")

        async def _agenerate(self, messages: Any, stop: Any = None, run_manager: Any = None,
                             **kwargs: Any) -> Any:
            await asyncio.sleep(LATENCY)
            return ChatResult(generations=[ChatGeneration(message=self._pop())])

        async def _astream(self, messages: Any, stop: Any = None, run_manager: Any = None,
                           **kwargs: Any) -> Any:
            lines = self._pop().text.splitlines(keepends=True)
            for i, text in enumerate(lines):
                await asyncio.sleep(LATENCY / len(lines))
                usage = ({"input_tokens": 100, "output_tokens": 60, "total_tokens": 160}
                         if i == len(lines) - 1 else None)
                yield ChatGenerationChunk(message=AIMessageChunk(content=text,
                                                                 usage_metadata=usage))

    return LatencyModel


def scripts() -> dict[str, list[Any]]:
    from langchain_core.messages import AIMessage

    def calls(keys: list[str]) -> AIMessage:
        return AIMessage(content="", tool_calls=[
            {"name": "fetch", "args": {"key": k}, "id": f"call_{k}"} for k in keys])

    answer = AIMessage(content="a=97 b=98 c=99 d=100 e=101")
    plan = "".join(f'{i}. fetch(key="{k}")\n' for i, k in enumerate(KEYS, 1)) + "6. join()\n"
    return {
        "react_sequential": [*(calls([k]) for k in KEYS), answer],
        "react_parallel": [calls(KEYS), answer],
        "compiler": [AIMessage(content=plan),
                     AIMessage(content="Thought: all there\nAnswer: a=97 b=98 c=99 d=100 e=101")],
    }


async def main(rounds: int) -> None:
    source_tree()
    from agent import Agent
    from agent.planners.compiler import CompilerPlanner
    from agent.planners.react import ReactPlanner

    Model = model_class()
    tmp = tempfile.TemporaryDirectory(prefix="bench-compiler-")
    store = Path(tmp.name) / "trace.db"
    planners = {"react_sequential": ReactPlanner(), "react_parallel": ReactPlanner(),
                "compiler": CompilerPlanner()}
    agents = {v: Agent(tools=[fetch], planner=p, store=store) for v, p in planners.items()}
    script = scripts()

    async def one(variant: str) -> float:
        agent = agents[variant]
        agent._model = Model(script=list(script[variant]))
        t0 = time.perf_counter()
        run = await agent.run("fetch records a, b, c, d and e")
        await agent.aflush()
        elapsed = time.perf_counter() - t0
        assert run.status == "ok", (variant, run.status, run.error)
        assert sorted(r.content["key"] for r in run.results) == KEYS
        return elapsed * 1000

    samples: dict[str, list[float]] = {v: [] for v in agents}
    for v in agents:  # warm-up
        await one(v)
    for _ in range(rounds):
        order = list(agents)
        random.shuffle(order)
        for v in order:
            samples[v].append(await one(v))
    for agent in agents.values():
        agent.close()
    tmp.cleanup()
    med = {v: statistics.median(s) for v, s in samples.items()}
    for v, s in samples.items():
        line(variant=v, unit="wall_ms", median=round(med[v], 1), min=round(min(s), 1),
             max=round(max(s), 1), repeats=len(s))
    for v in ("react_sequential", "react_parallel"):
        line(variant=f"{v}/compiler", speedup=round(med[v] / med["compiler"], 2),
             note="wall time of react / wall time of compiler (LLMCompiler: up to 3.7x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args().rounds))
