"""agent: a plugin-based agent and tool-orchestration framework.

The public API is imported lazily, so ``import agent`` (and the ``agent`` command's start-up)
stays fast; each name loads its module on first use.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing costs start-up time; mypy reads this constant the same way

__version__ = "0.1.0"

_EXPORTS = {
    "Agent": "agent.runtime",
    "Environment": "agent.environment",
    "Executor": "agent.executor",
    "Tool": "agent.types",
    "ToolContext": "agent.types",
    "ToolResult": "agent.types",
    "Step": "agent.types",
    "Run": "agent.types",
    "Task": "agent.types",
    "Answer": "agent.types",
    "Event": "agent.types",
    "tool": "agent.schema",
    "tools_from_object": "agent.schema",
    "to_langchain_tools": "agent.plugins.langchain",
    "load_config": "agent.config",
    "hookimpl": "agent.hookspecs",
    "AgentError": "agent.errors",
    "UsageError": "agent.errors",
    "ToolError": "agent.errors",
    "ToolDefinitionError": "agent.errors",
    "ToolNotFoundError": "agent.errors",
    "InvalidArgumentsError": "agent.errors",
    "DuplicateToolError": "agent.errors",
    "PlanError": "agent.errors",
    "PlannerNotFoundError": "agent.errors",
    "ModelNotFoundError": "agent.errors",
    "PluginError": "agent.errors",
    "ApprovalDenied": "agent.errors",
    "NeedsInput": "agent.errors",
}

__all__ = [
    "Agent",
    "AgentError",
    "Answer",
    "ApprovalDenied",
    "DuplicateToolError",
    "Environment",
    "Event",
    "Executor",
    "InvalidArgumentsError",
    "ModelNotFoundError",
    "NeedsInput",
    "PlanError",
    "PlannerNotFoundError",
    "PluginError",
    "Run",
    "Step",
    "Task",
    "Tool",
    "ToolContext",
    "ToolDefinitionError",
    "ToolError",
    "ToolNotFoundError",
    "ToolResult",
    "UsageError",
    "hookimpl",
    "load_config",
    "to_langchain_tools",
    "tool",
    "tools_from_object",
]

if TYPE_CHECKING:
    from agent.config import load_config
    from agent.environment import Environment
    from agent.errors import (
        AgentError,
        ApprovalDenied,
        DuplicateToolError,
        InvalidArgumentsError,
        ModelNotFoundError,
        NeedsInput,
        PlanError,
        PlannerNotFoundError,
        PluginError,
        ToolDefinitionError,
        ToolError,
        ToolNotFoundError,
        UsageError,
    )
    from agent.executor import Executor
    from agent.hookspecs import hookimpl
    from agent.plugins.langchain import to_langchain_tools
    from agent.runtime import Agent
    from agent.schema import tool, tools_from_object
    from agent.types import Answer, Event, Run, Step, Task, Tool, ToolContext, ToolResult


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agent' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
