"""First-party tools. Each module is a plugin listed in
``agent.plugin_manager.DEFAULT_PLUGINS``.

Modules import only the standard library at import time: heavy dependencies (pint, aiohttp,
sqlite3) are imported inside the tool functions, so loading the plugins stays cheap for the
CLI. Expected failures are raised as ``agent.errors.ToolError`` with a message meant for the
planner. ``returns`` and ``of`` keep their output schemas short.
"""

from __future__ import annotations

from typing import Any


def returns(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """An ``output_schema``: an object with these properties, all required but ``optional``."""
    required = [name for name in properties if name not in optional]
    return {"type": "object", "properties": properties, "required": required}


def of(kind: str | list[str] | None, description: str = "", **extra: Any) -> dict[str, Any]:
    """One property's schema: ``of("integer", "1-based line number")``."""
    schema: dict[str, Any] = {"type": kind} if kind else {}
    if description:
        schema["description"] = description
    return {**schema, **extra}
