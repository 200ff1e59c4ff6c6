"""Calling one OpenAPI operation: arguments to an HTTP request, the answer to a tool result.

Requests go through ``agent.tools.http.request``, so OpenAPI tools obey the same address
policy as the HTTP tools (private and loopback addresses need ``http_allow`` or
``http_allow_private``). Credentials are read from the environment at call time: they are
never tool arguments, never stored on the tool, and are scrubbed from error messages, so
they cannot reach the trace store.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from agent.errors import ToolError
from agent.types import ToolContext

CONTEXT_PARAM = "__agent_context__"  # cannot collide with an API's argument names
MAX_ERROR_BODY = 1000


@dataclass(frozen=True)
class Arg:
    """One tool argument and where it goes in the request."""

    name: str  # the tool's argument name
    location: str  # path, query, header, cookie, body (one property), or whole_body
    original: str  # the name the API uses
    style: str | None = None
    explode: bool | None = None


@dataclass(frozen=True)
class Auth:
    """Where the credentials come from (names of environment variables, never values)."""

    bearer_env: str | None = None
    api_key_env: str | None = None
    api_key_name: str = "X-API-Key"
    api_key_in: str = "header"

    def apply(self, tool: str, headers: dict[str, str], query: list[tuple[str, str]],
              cookies: list[tuple[str, str]]) -> list[str]:
        """Add the credentials to the request; returns them, to scrub from messages."""
        secrets = []
        if self.bearer_env:
            token = _env(self.bearer_env, tool, "bearer token")
            headers["Authorization"] = f"Bearer {token}"
            secrets.append(token)
        if self.api_key_env:
            key = _env(self.api_key_env, tool, "API key")
            if self.api_key_in == "header":
                headers[self.api_key_name] = key
            elif self.api_key_in == "query":
                query.append((self.api_key_name, key))
            else:
                cookies.append((self.api_key_name, key))
            secrets.append(key)
        return secrets


def _env(name: str, tool: str, what: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ToolError(f"{tool} needs the {what} from the environment variable {name}, "
                        "which is not set")
    return value


class OperationCall:
    """The ``fn`` of an OpenAPI tool: an async callable taking the tool's arguments."""

    def __init__(self, tool: str, method: str, server: str, path: str, args: list[Arg],
                 auth: Auth, timeout: float, body_required: bool) -> None:
        self.tool, self.method, self.server, self.path = tool, method.upper(), server, path
        self.args = {a.name: a for a in args}
        self.auth, self.timeout, self.body_required = auth, timeout, body_required
        self.has_body = any(a.location in ("body", "whole_body") for a in args)

    async def __call__(self, /, **kwargs: Any) -> Any:  # an API may call a parameter "self"
        from agent.tools.http import request

        context = kwargs.pop(CONTEXT_PARAM, None)
        settings = context.settings if isinstance(context, ToolContext) else {}
        path, query, headers, cookies, body = self.path, [], {}, [], None
        for name, value in kwargs.items():
            arg = self.args.get(name)
            if arg is None:
                raise ToolError(f"{self.tool} has no argument {name!r}")
            if value is None and arg.location not in ("body", "whole_body"):
                continue
            if arg.location == "path":
                path = path.replace("{" + arg.original + "}", quote(_simple(value), safe=""))
            elif arg.location == "query":
                query += _query_pairs(arg, value)
            elif arg.location == "header":
                headers[arg.original] = _simple(value)
            elif arg.location == "cookie":
                cookies.append((arg.original, _simple(value)))
            elif arg.location == "whole_body":
                body = value
            else:
                body = body if isinstance(body, dict) else {}
                body[arg.original] = value
        if body is None and self.has_body and self.body_required:
            body = {}
        secrets = self.auth.apply(self.tool, headers, query, cookies)
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies)
        url = self.server + path + ("?" + urlencode(query, quote_via=quote) if query else "")
        try:
            answer = await request(self.method, url, json_body=body, headers=headers,
                                   settings=settings, timeout=self.timeout)
        except ToolError as exc:
            raise ToolError(_scrub(str(exc), secrets)) from None
        return self._result(answer, path, secrets)

    def _result(self, answer: Mapping[str, Any], path: str, secrets: list[str]) -> Any:
        """The parsed body of a 2xx answer; anything else raises, so it is an error result."""
        status = answer["status"]
        if "json" in answer:
            content: Any = answer["json"]
        else:
            content = answer.get("text", "")
        if not 200 <= status < 300:
            text = content if isinstance(content, str) else json.dumps(content)
            if len(text) > MAX_ERROR_BODY:
                text = text[:MAX_ERROR_BODY] + "…"
            detail = f": {text}" if text.strip() else ""
            raise ToolError(_scrub(f"HTTP {status} from {self.method} {path}{detail}", secrets))
        if content == "":
            return {"status": status}
        return content


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "[REDACTED]").replace(quote(secret, safe=""), "[REDACTED]")
    return text


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _simple(value: Any) -> str:
    """OpenAPI's ``simple`` style (path and header parameters): comma-separated parts."""
    if isinstance(value, list):
        return ",".join(_scalar(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k},{_scalar(v)}" for k, v in value.items())
    return _scalar(value)


def _query_pairs(arg: Arg, value: Any) -> list[tuple[str, str]]:
    """A query parameter in its declared style (``form``, explode by default)."""
    style = arg.style or "form"
    explode = arg.explode if arg.explode is not None else style == "form"
    name = arg.original
    if isinstance(value, list):
        if explode:
            return [(name, _scalar(v)) for v in value]
        sep = {"spaceDelimited": " ", "pipeDelimited": "|"}.get(style, ",")
        return [(name, sep.join(_scalar(v) for v in value))]
    if isinstance(value, dict):
        if style == "deepObject":
            return [(f"{name}[{k}]", _scalar(v)) for k, v in value.items()]
        if explode:
            return [(str(k), _scalar(v)) for k, v in value.items()]
        return [(name, ",".join(f"{k},{_scalar(v)}" for k, v in value.items()))]
    return [(name, _scalar(value))]
