"""LangChain bridge: any langchain-core ``BaseTool`` works as one of our tools."""

from __future__ import annotations

from typing import Any

from agent.schema import tool_from_schema
from agent.types import Tool


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
