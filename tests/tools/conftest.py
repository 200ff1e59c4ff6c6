"""Helpers for the built-in tool tests: build tools the way plugins do, run them for real."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from agent.executor import Executor
from agent.schema import tool_from_function
from agent.types import Tool, ToolResult


def module_tools(module: ModuleType) -> dict[str, Tool]:
    """The tools a module offers through its ``register_tools`` hook, as the registry makes them."""
    offered: list[Any] = []
    module.register_tools(register=lambda objs, **_: offered.extend(objs))
    tools = [tool_from_function(fn, plugin=module.__name__) for fn in offered]
    return {t.name: t for t in tools}


def check_output(tool: Tool, content: Any) -> None:
    """A tool's result must match the output schema it advertises to planners."""
    assert tool.output_schema is not None, f"{tool.name} has no output_schema"
    Draft202012Validator.check_schema(tool.output_schema)
    Draft202012Validator(tool.output_schema).validate(content)


RunOne = Callable[..., Any]


@pytest.fixture
def run_tool() -> RunOne:
    """``await run_tool(module, name, args, settings=..., approve=...)`` through the Executor."""

    async def run(
        module: ModuleType,
        name: str,
        args: Mapping[str, Any],
        *,
        settings: Mapping[str, Any] | None = None,
        approve: Any = None,
    ) -> ToolResult:
        tools = module_tools(module)
        executor = Executor(tools, settings=settings, approve=approve)
        [result] = await executor.execute([{"name": name, "args": dict(args)}])
        if result.ok:
            check_output(tools[name], result.content)
        return result

    return run


@pytest.fixture
def tools_of() -> Callable[[ModuleType], dict[str, Tool]]:
    return module_tools


@pytest.fixture
def output_ok() -> Callable[[Tool, Any], None]:
    return check_output
