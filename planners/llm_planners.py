"""Plugin: the model-driven planners, registered by name and imported only when made.

``react``, ``dfsdt`` and ``compiler`` need a chat model (``--model``); their modules import
langchain-core, so loading the plugins (``agent --help``, ``agent tools``) does not.
"""

from __future__ import annotations

from typing import Any

from agent.hookspecs import hookimpl


def react(**options: Any) -> Any:
    from agent.planners.react import ReactPlanner

    return ReactPlanner(**options)


def dfsdt(**options: Any) -> Any:
    from agent.planners.dfsdt import DfsdtPlanner

    return DfsdtPlanner(**options)


def compiler(**options: Any) -> Any:
    from agent.planners.compiler import CompilerPlanner

    return CompilerPlanner(**options)


@hookimpl
def register_planners(register: Any) -> None:
    register("react", react, "ReAct: the model calls tools step by step (needs a model)")
    register("dfsdt", dfsdt,
             "ToolLLM's depth-first search decision tree, backtracking on failure (needs a model)")
    register("compiler", compiler,
             "LLMCompiler: a streamed plan of parallel tool calls, joined by the model "
             "(needs a model)")
