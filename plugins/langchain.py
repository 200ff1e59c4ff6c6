"""LangChain bridge, both ways: any langchain-core ``BaseTool`` works as one of our tools
(``from_langchain``), and ``to_langchain_tools`` hands ours to LangChain and LangGraph."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from agent.schema import tool_from_schema
from agent.types import Tool, ToolResult


def from_langchain(lc_tool: Any, **options: Any) -> Tool:
    """Wrap a langchain-core ``BaseTool``; it is called through its own ``ainvoke``."""
    from langchain_core.utils.function_calling import convert_to_openai_function

    spec = convert_to_openai_function(lc_tool)

    async def call(**args: Any) -> Any:
        return await lc_tool.ainvoke(args)

    call.__name__ = lc_tool.name
    return tool_from_schema(
        spec["name"],
        spec.get("description", "") or lc_tool.description,
        spec.get("parameters") or {"type": "object", "properties": {}},
        call,
        **options,
    )


def to_langchain_tools(
    tools_or_registry: Any = None,
    *,
    agent: Any = None,
    approve: Any = None,
    handle_errors: bool = True,
) -> list[Any]:
    """Our tools as langchain-core ``StructuredTool``s, for LangChain and LangGraph agents.

    ``tools_or_registry``: an ``Agent``, a ``Registry``, a ``{name: Tool}`` mapping, or
    anything ``Agent(tools=...)`` takes (functions, ``Tool``s, names); ``None`` with ``agent``
    exports all the agent's tools. Each call goes through our runtime: arguments are validated
    against the tool's JSON Schema (which is also the LangChain ``args_schema``), side-effect
    tools need approval, timeouts apply. With ``agent``, calls use that agent (its approval,
    settings and trace store: each call is recorded as a run); without one, ``approve`` is
    the approver (``True``, or ``(call, tool) -> bool``; default: side effects are refused).

    A failed call raises ``ToolException``; with ``handle_errors`` (the default) LangChain
    turns it into the error text, as a ``ToolMessage`` with ``status="error"`` for a tool call.
    """
    from agent.registry import Registry, build_registry, collect_tools
    from agent.runtime import Agent

    if isinstance(tools_or_registry, Agent):
        agent, tools_or_registry = tools_or_registry, None
    if tools_or_registry is None:
        if agent is None:
            raise TypeError("to_langchain_tools needs tools, a registry or an agent")
        tools: dict[str, Tool] = dict(agent.tools)
    elif isinstance(tools_or_registry, Registry):
        tools = dict(tools_or_registry.tools)
    elif isinstance(tools_or_registry, Mapping):
        tools = dict(tools_or_registry)
    else:
        tools = collect_tools(tools_or_registry, build_registry)
    if agent is not None:
        foreign = [name for name, t in tools.items() if agent.tools.get(name) is not t]
        if foreign:
            from agent.errors import UsageError

            raise UsageError(f"not tools of the given agent: {', '.join(sorted(foreign))}")
        call = _agent_caller(agent)
    else:
        from agent.executor import Executor

        approver = (lambda c, t: True) if approve is True else approve
        call = _executor_caller(Executor(tools, approve=approver, timeout=60.0))
    return [_structured(t, call, handle_errors) for t in tools.values()]


Caller = Callable[[str, dict[str, Any]], Awaitable[ToolResult]]


def _agent_caller(agent: Any) -> Caller:
    async def call(name: str, args: dict[str, Any]) -> ToolResult:
        run = await agent.run_plan([{"name": name, "args": _literal(args), "id": "1"}],
                                   query=f"langchain: {name}")
        result: ToolResult = run.results[0]
        return result

    return call


def _executor_caller(executor: Any) -> Caller:
    async def call(name: str, args: dict[str, Any]) -> ToolResult:
        [result] = await executor.execute([{"name": name, "args": _literal(args), "id": "1"}])
        return result

    return call


def _literal(args: dict[str, Any]) -> dict[str, Any]:
    """Arguments from LangChain are values, never our plan references: escape them."""
    from agent.refs import LITERAL

    return {k: {LITERAL: v} if isinstance(v, dict | list) else v for k, v in args.items()}


def _structured(t: Tool, call: Caller, handle_errors: bool) -> Any:
    from langchain_core.tools import StructuredTool, ToolException

    async def acall(**args: Any) -> Any:
        result = await call(t.name, args)
        if not result.ok:
            raise ToolException(result.error or f"{t.name} failed")
        return result.content

    def scall(**args: Any) -> Any:
        return _run_sync(acall(**args))

    return StructuredTool(
        name=t.name,
        description=t.description or t.name.replace("_", " "),
        args_schema=dict(t.parameters),
        func=scall,
        coroutine=acall,
        handle_tool_error=handle_errors,
        metadata={"plugin": t.plugin, "side_effects": t.side_effects, "tags": list(t.tags)},
    )


def _run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` to the end from sync code, even when this thread has a running loop."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
