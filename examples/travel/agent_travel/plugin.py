"""The ``travel`` plugin: the travel service's tools, registered from the live service.

Registration asks ``GET $AGENT_TRAVEL_URL/tools`` for the tool specs and offers each one as a
tool that calls the service over HTTP. **Without ``AGENT_TRAVEL_URL`` this plugin registers
nothing** (so installing the package never slows down or breaks ``agent`` for anyone not
running the service). With it set but the service down, registration fails with one line
that names the URL and how to start the server; ``agent plugins`` shows it, and the other
plugins keep working.

Embedding: ``travel_tools(base_url)`` (synchronous) or ``await atravel_tools(base_url)`` (from
a running event loop, e.g. one that also serves the app) return the tools as a list.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from agent import PluginError, Tool, ToolError, hookimpl

ENV = "AGENT_TRAVEL_URL"
START_HINT = f"start it with `python -m agent_travel.server --port 8765` and set {ENV}"
TIMEOUT = 30.0


def fetch_specs(base_url: str, timeout: float = 3.0) -> list[dict[str, Any]]:
    """The tool specs the service at ``base_url`` serves (blocking; short timeout)."""
    url = base_url.rstrip("/") + "/tools"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = json.load(response)
    except urllib.error.HTTPError as exc:
        raise PluginError(f"the travel service at {base_url} answered HTTP {exc.code} for "
                          f"/tools; is {ENV} the service's base URL?") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise PluginError(f"the travel service at {base_url} is not reachable ({reason}); "
                          f"{START_HINT}") from None
    return _specs(data, url)


async def afetch_specs(base_url: str, timeout: float = 3.0) -> list[dict[str, Any]]:
    """``fetch_specs`` for code inside an event loop."""
    url = base_url.rstrip("/") + "/tools"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as s, \
                s.get(url) as response:
            response.raise_for_status()
            data = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise PluginError(f"the travel service at {base_url} is not reachable ({exc}); "
                          f"{START_HINT}") from None
    return _specs(data, url)


def _specs(data: Any, url: str) -> list[dict[str, Any]]:
    tools = data.get("tools") if isinstance(data, dict) else None
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        raise PluginError(f"{url} did not answer with tool specs ({{'tools': [...]}})")
    return tools


def _query(args: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in args.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, int | float | str):
            out[key] = str(value)
        else:
            out[key] = json.dumps(value)
    return out


def _caller(base_url: str, spec: Mapping[str, Any]) -> Callable[..., Any]:
    http = spec.get("http") or {}
    method = str(http.get("method", "GET")).upper()
    url = base_url.rstrip("/") + str(http.get("path", "/" + spec["name"]))

    async def call(**args: Any) -> Any:
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                request = (session.get(url, params=_query(args)) if method == "GET"
                           else session.request(method, url, json=args))
                async with request as response:
                    text = await response.text()
                    status = response.status
        except aiohttp.ClientError as exc:
            raise ToolError(f"the travel service at {base_url} is not reachable ({exc}); "
                            f"{START_HINT}") from None
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        if status >= 400:
            message = body.get("error") if isinstance(body, dict) else None
            raise ToolError(message or f"HTTP {status} from {url}: {text[:200]}")
        if body is None and text:
            raise ToolError(f"{url} answered with something that is not JSON: {text[:200]}")
        return body

    call.__name__ = call.__qualname__ = spec["name"]
    return call


def make_tool(base_url: str, spec: Mapping[str, Any]) -> Tool:
    """One tool from one spec of ``GET /tools``."""
    return Tool.from_schema(
        spec["name"], spec.get("description", ""), spec.get("parameters") or {},
        _caller(base_url, spec),
        output_schema=spec.get("output_schema"),
        side_effects=bool(spec.get("side_effects", False)),
        examples=tuple(spec.get("examples") or ()),
        templates=tuple(spec.get("templates") or ()),
        tags=("travel",),
    )


def tools_from_specs(base_url: str, specs: list[dict[str, Any]]) -> list[Tool]:
    return [make_tool(base_url, spec) for spec in specs]


def travel_tools(base_url: str) -> list[Tool]:
    """The service's tools, for ``Agent(tools=...)``; blocks to fetch the specs."""
    return tools_from_specs(base_url, fetch_specs(base_url))


async def atravel_tools(base_url: str) -> list[Tool]:
    """``travel_tools`` from inside an event loop (e.g. the one serving the app)."""
    return tools_from_specs(base_url, await afetch_specs(base_url))


@hookimpl
def register_tools(register: Callable[..., None]) -> None:
    url = os.environ.get(ENV, "").strip()
    if not url:
        return  # not configured: offer nothing (see the module docstring)
    register(travel_tools(url))
