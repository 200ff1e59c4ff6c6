"""OpenAPI 3.0/3.1 specs as tools: one tool per operation.

Path, query, header and cookie parameters and the JSON body's properties become one JSON
Schema (a name used in two places is prefixed with its place: ``path_id``, ``body_id``; a
body that is not a plain object is one ``body`` argument). The 2xx JSON response schema is
the tool's ``output_schema``, which the dataflow planner chains on. POST, PUT, PATCH and
DELETE operations have side effects (they need approval) unless the config says otherwise.

``tools_from_config`` reads one ``[[openapi]]`` table of ``agent.toml``::

    [[openapi]]
    spec = "petstore.yaml"            # path (relative to agent.toml) or http(s) URL
    base_url = "https://api.example.com/v1"
    bearer_token_env = "PETSTORE_TOKEN"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from agent.errors import ToolDefinitionError
from agent.types import Tool

from .openapi_check import SchemaChecker
from .openapi_http import CONTEXT_PARAM, Arg, Auth, OperationCall
from .openapi_spec import (
    OpenAPIError,
    Resolver,
    Unresolved,
    check_version,
    is_url,
    load_document,
)

__all__ = ["OpenAPIError", "tools_from_config", "tools_from_openapi"]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
WRITES = frozenset({"post", "put", "patch", "delete"})
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})  # the spec says so
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_NAME, MAX_DESCRIPTION = 64, 1024
_Entry = tuple[str, str, Any, bool, Mapping[str, Any]]  # where, API name, schema, required, param


def tools_from_openapi(
    spec: str | Path | dict[str, Any],
    *,
    base_url: str | None = None,
    prefix: str = "",
    bearer_token_env: str | None = None,
    api_key_env: str | None = None,
    api_key_header: str = "X-API-Key",
    api_key_in: str = "header",
    timeout: float = 30.0,
    side_effects: bool | None = None,
    include: list[str] | None = None,
) -> list[Tool]:
    """One tool per operation of an OpenAPI 3.0/3.1 spec (a file, an http(s) URL or a dict).

    ``bearer_token_env`` / ``api_key_env`` name environment variables read at call time;
    ``api_key_header`` is the header (or query or cookie parameter, per ``api_key_in``) that
    carries the key. ``include`` keeps only these operationIds. Raises ``OpenAPIError``.
    """
    source = "OpenAPI spec" if isinstance(spec, Mapping) else str(spec)
    for what, env in (("bearer_token_env", bearer_token_env), ("api_key_env", api_key_env)):
        if env is not None and not _ENV_NAME.fullmatch(env):
            raise OpenAPIError(f"{what} must name an environment variable (like PETS_TOKEN), "
                               "not hold the secret itself")
    if api_key_in not in ("header", "query", "cookie"):
        raise OpenAPIError(f"api_key_in must be 'header', 'query' or 'cookie', not "
                           f"{api_key_in!r}")
    if base_url is not None and not is_url(base_url):
        raise OpenAPIError(f"base_url must be an http(s) URL, not {base_url!r}")
    if not timeout or timeout <= 0:
        raise OpenAPIError(f"timeout must be a positive number of seconds, not {timeout!r}")
    doc, base_uri = load_document(spec, timeout)
    version = check_version(doc, source)
    resolver = Resolver(doc, base_uri, version, timeout)
    operations = _operations(doc, resolver, base_uri, source)
    if include is not None:
        if not include:
            raise OpenAPIError(f"{source}: include is empty; leave it out to offer every "
                               "operation")
        operations = _included(operations, include, source)
    if not operations:
        raise OpenAPIError(f"{source}: the spec has no operations under 'paths'")
    auth = Auth(bearer_token_env, api_key_env, api_key_header, api_key_in)
    builder = _Builder(doc, resolver, source, base_uri, base_url, auth, timeout)
    taken: set[str] = set()
    tools = []
    for op in operations:
        name = _unique(prefix + _sanitize(op.op_id or f"{op.method}_{op.path}"), taken)
        effects = side_effects if side_effects is not None else op.method in WRITES
        try:
            tools.append(builder.tool(op, name, effects))
        except Unresolved as exc:
            where = "" if exc.where in (base_uri, "") else f" (in {exc.where})"
            raise OpenAPIError(f"{source}: operation {op.label}: cannot resolve "
                               f"{exc.ref!r}{where}") from None
        except ToolDefinitionError as exc:
            raise OpenAPIError(f"{source}: operation {op.label}: {exc}") from None
    return tools


_CONFIG_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "spec": (str, "a file path or an http(s) URL"),
    "base_url": (str, "a URL"),
    "prefix": (str, "a string"),
    "bearer_token_env": (str, "an environment variable name"),
    "api_key_env": (str, "an environment variable name"),
    "api_key_header": (str, "a header name"),
    "api_key_in": (str, "'header', 'query' or 'cookie'"),
    "timeout": ((int, float), "a number of seconds"),
    "include": (list, "a list of operationIds"),
    "side_effects": (bool, "true or false"),
}


def tools_from_config(entry: Mapping[str, Any], base_dir: Path) -> list[Tool]:
    """The tools of one ``[[openapi]]`` table; a relative ``spec`` is relative to base_dir."""
    if not isinstance(entry, Mapping):
        raise OpenAPIError("each [[openapi]] entry must be a table with at least 'spec'")
    label = f"[[openapi]] {entry.get('spec')!r}" if "spec" in entry else "[[openapi]] entry"
    unknown = sorted(set(entry) - set(_CONFIG_KEYS))
    if unknown:
        raise OpenAPIError(f"{label}: unknown key {unknown[0]!r} (known keys: "
                           f"{', '.join(_CONFIG_KEYS)})")
    if "spec" not in entry:
        raise OpenAPIError(f"{label} needs 'spec' (a file path or an http(s) URL)")
    for key, value in entry.items():
        kind, what = _CONFIG_KEYS[key]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise OpenAPIError(f"{label}: {key} must be {what}, not {type(value).__name__}")
    if not all(isinstance(i, str) for i in entry.get("include", [])):
        raise OpenAPIError(f"{label}: include must be a list of operationId strings")
    options = {k: v for k, v in entry.items() if k != "spec"}
    spec: str | Path = entry["spec"]
    if not is_url(entry["spec"]):
        spec = Path(base_dir) / Path(entry["spec"]).expanduser()
    return tools_from_openapi(spec, **options)


# Operations -----------------------------------------------------------------------------------
class _Operation:
    def __init__(self, path: str, method: str, item: Mapping[str, Any], op: Mapping[str, Any],
                 base: str) -> None:
        self.path, self.method, self.item, self.op, self.base = path, method, item, op, base
        op_id = op.get("operationId")
        self.op_id = op_id if isinstance(op_id, str) and op_id else None
        self.label = self.op_id or f"{method.upper()} {path}"


def _operations(doc: Mapping[str, Any], resolver: Resolver, base: str,
                source: str) -> list[_Operation]:
    paths = doc.get("paths") or {}
    if not isinstance(paths, Mapping):
        raise OpenAPIError(f"{source}: 'paths' must be an object")
    out = []
    for path, item in paths.items():
        item_base = base
        try:
            item, item_base = resolver.deref(item, base)
        except Unresolved as exc:
            raise OpenAPIError(f"{source}: path {path}: cannot resolve {exc.ref!r}") from None
        if not isinstance(item, Mapping):
            raise OpenAPIError(f"{source}: path {path}: expected a path item object")
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, Mapping):
                out.append(_Operation(path, method, item, op, item_base))
    return out


def _included(operations: list[_Operation], include: list[str],
              source: str) -> list[_Operation]:
    by_id = {op.op_id: op for op in operations if op.op_id}
    missing = [i for i in include if i not in by_id]
    if missing:
        known = ", ".join(list(by_id)[:10]) + (", ..." if len(by_id) > 10 else "")
        raise OpenAPIError(f"{source}: include names {missing[0]!r}, which is no operationId "
                           f"of the spec (operationIds: {known or 'none'})")
    wanted = set(include)
    return [op for op in operations if op.op_id in wanted]


def _sanitize(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "operation"


def _unique(name: str, taken: set[str]) -> str:
    name, n, candidate = name[:MAX_NAME], 1, name[:MAX_NAME]
    while candidate in taken:
        n += 1
        candidate = f"{name[:MAX_NAME - len(str(n)) - 1]}_{n}"
    taken.add(candidate)
    return candidate


# Building one tool ----------------------------------------------------------------------------
class _Builder:
    """Turns operations of one spec into tools."""

    def __init__(self, doc: Mapping[str, Any], resolver: Resolver, source: str, base_uri: str,
                 base_url: str | None, auth: Auth, timeout: float) -> None:
        self.doc, self.resolver, self.source, self.base_uri = doc, resolver, source, base_uri
        self.base_url, self.auth, self.timeout = base_url, auth, timeout
        self.checker = SchemaChecker()
        self.auth_param = (auth.api_key_in, auth.api_key_name.lower()) if auth.api_key_env \
            else None

    def tool(self, op: _Operation, name: str, side_effects: bool) -> Tool:
        params = self._parameters(op)
        body = self._body(op)
        nodes = [(p["schema"], p["base"]) for p in params]
        if body is not None:
            nodes.append((body[0], body[1]))
        schemas, defs = self.resolver.schemas(nodes, "request")
        entries: list[_Entry] = [
            (p["in"], p["name"], s, bool(p.get("required")) or p["in"] == "path", p)
            for p, s in zip(params, schemas, strict=False)]
        body_required = bool(body and body[2])
        if body is not None:
            parts = _object_parts(schemas[-1])
            if parts is None:
                entries.append(("whole_body", "body", schemas[-1], body_required, {}))
            else:
                props, required = parts
                entries += [("body", k, v, body_required and k in required, {})
                            for k, v in props.items()]
        args, properties, required_args = self._arguments(entries)
        parameters: dict[str, Any] = {"type": "object", "properties": properties,
                                      "additionalProperties": False}
        if required_args:
            parameters["required"] = required_args
        if defs:
            parameters["$defs"] = defs
        call = OperationCall(name, op.method, self._server(op), op.path, args, self.auth,
                             self.timeout, body_required)
        output = self._output(op)
        # The object around the arguments is ours and valid; its parts come from the spec.
        pieces = [(f".properties.{k}", v) for k, v in properties.items()]
        pieces += [(f".$defs.{k}", v) for k, v in defs.items()] + [("output", output or {})]
        for where, schema in pieces:
            problem = self.checker.error(schema, where)
            if problem:
                raise ToolDefinitionError(problem)
        return Tool(
            name=name, description=_description(op), parameters=parameters, fn=call,
            output_schema=output, tags=("openapi", *_tags(op)),
            side_effects=side_effects, timeout=self.timeout + 5, context_param=CONTEXT_PARAM,
        )

    def _parameters(self, op: _Operation) -> list[dict[str, Any]]:
        """Path-item and operation parameters (the operation's win), references followed."""
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*(op.item.get("parameters") or []), *(op.op.get("parameters") or [])]:
            param, base = self.resolver.deref(raw, op.base)
            if not isinstance(param, Mapping) or not isinstance(param.get("name"), str):
                raise ToolDefinitionError("a parameter without a name")
            where, name = param.get("in"), param["name"]
            if where not in ("path", "query", "header", "cookie"):
                raise ToolDefinitionError(f"parameter {name!r} has an unknown 'in': {where!r}")
            if where == "header" and name.lower() in _IGNORED_HEADERS:
                continue
            if self.auth_param == (where, name.lower()):
                continue  # filled from the environment at call time
            schema = param.get("schema")
            if schema is None and isinstance(param.get("content"), Mapping):
                media: Any = next(iter(param["content"].values()), {})
                schema = media.get("schema") if isinstance(media, Mapping) else None
            merged[(where, name)] = {**param, "schema": schema or {}, "base": base}
        declared = {name for where, name in merged if where == "path"}
        for name in re.findall(r"\{([^}]+)\}", op.path):
            if name not in declared:
                raise ToolDefinitionError(f"path parameter {{{name}}} of {op.path} is not "
                                          "declared in 'parameters'")
        return list(merged.values())

    def _body(self, op: _Operation) -> tuple[Any, str, bool] | None:
        """(schema, base, required) of the JSON request body, if the operation takes one."""
        if "requestBody" not in op.op:
            return None
        body, base = self.resolver.deref(op.op["requestBody"], op.base)
        content = body.get("content") if isinstance(body, Mapping) else None
        media = _json_media(content)
        required = bool(body.get("required")) if isinstance(body, Mapping) else False
        if media is None:
            if required:
                kinds = ", ".join(content or {}) or "none"
                raise ToolDefinitionError(f"its request body is not JSON ({kinds}), which "
                                          "OpenAPI tools cannot send; leave it out with include")
            return None
        return media.get("schema") or {}, base, required

    def _output(self, op: _Operation) -> dict[str, Any] | None:
        responses = {str(k): v for k, v in (op.op.get("responses") or {}).items()}  # YAML: 200
        codes = sorted(c for c in responses if re.fullmatch(r"2\d\d", c))
        codes += [c for c in responses if c.upper() == "2XX"]
        for code in codes:
            answer, base = self.resolver.deref(responses[code], op.base)
            media = _json_media(answer.get("content") if isinstance(answer, Mapping) else None)
            if media is not None and isinstance(media.get("schema"), Mapping):
                out = self.resolver.schema(media["schema"], base, "response")
                return out if isinstance(out, dict) else None
        return None

    def _arguments(self, entries: list[_Entry]) -> tuple[list[Arg], dict[str, Any], list[str]]:
        """Name the arguments: a name the API uses in two places gets its place as prefix."""
        counts: dict[str, int] = {}
        for _, original, *_ in entries:
            counts[original] = counts.get(original, 0) + 1
        args, properties, required, taken = [], {}, [], set[str]()
        for where, original, schema, is_required, param in entries:
            place = "body" if where == "whole_body" else where
            wanted = original if counts[original] == 1 else f"{place}_{original}"
            name = _unique(wanted, taken)
            prop = schema if isinstance(schema, Mapping) else {}
            if param.get("description") and "description" not in prop:
                prop = {**prop, "description": param["description"]}  # schemas are shared
            properties[name] = prop
            if is_required:
                required.append(name)
            args.append(Arg(name, where, original, param.get("style"), param.get("explode")))
        return args, properties, required

    def _server(self, op: _Operation) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        for servers in (op.op.get("servers"), op.item.get("servers"), self.doc.get("servers")):
            if isinstance(servers, list) and servers and isinstance(servers[0], Mapping):
                url = _expand(servers[0])
                break
        else:
            url = "/"
        if not is_url(url):
            if not is_url(self.base_uri):
                raise ToolDefinitionError(f"its server URL {url!r} is not absolute; set "
                                          "base_url (the API's root URL)")
            url = urljoin(self.base_uri, url)  # relative to where the spec was fetched
        return url.rstrip("/")


def _expand(server: Mapping[str, Any]) -> str:
    """A server URL with its variables set to their defaults."""
    url = str(server.get("url", "/"))
    for var, spec in (server.get("variables") or {}).items():
        if isinstance(spec, Mapping) and "default" in spec:
            url = url.replace("{" + var + "}", str(spec["default"]))
    return url


def _json_media(content: Any) -> Mapping[str, Any] | None:
    if not isinstance(content, Mapping):
        return None
    for kind in sorted(content, key=lambda k: (k != "application/json", k == "*/*")):
        base = kind.split(";", 1)[0].strip().lower()
        if base in ("application/json", "*/*") or base.endswith(("/json", "+json")):
            media = content[kind]
            return media if isinstance(media, Mapping) else {}
    return None


def _object_parts(schema: Any) -> tuple[dict[str, Any], set[str]] | None:
    """(properties, required) of a plain object schema (``allOf`` of objects merged)."""
    parts = _merge_object(schema)
    return parts if parts is not None and parts[0] else None


def _merge_object(schema: Any) -> tuple[dict[str, Any], set[str]] | None:
    if not isinstance(schema, Mapping) or any(k in schema for k in ("oneOf", "anyOf", "not",
                                                                     "$ref")):
        return None
    kind = schema.get("type", "object")
    if kind != "object" or schema.get("additionalProperties") not in (None, False):
        return None
    props = dict(schema.get("properties") or {})
    required = set(schema.get("required") or [])
    for part in schema.get("allOf") or []:
        inner = _merge_object(part)
        if inner is None:
            return None
        props.update(inner[0])
        required |= inner[1]
    return props, required


def _description(op: _Operation) -> str:
    summary = str(op.op.get("summary") or "").strip()
    detail = str(op.op.get("description") or "").strip().split("\n\n", 1)[0]
    parts = [p for p in (summary, detail if detail != summary else "") if p]
    text = " ".join(p if p.endswith((".", "!", "?")) else p + "." for p in parts)
    text = text or f"{op.method.upper()} {op.path}"
    if op.op.get("deprecated"):
        text += " (deprecated)"
    return text[:MAX_DESCRIPTION]


def _tags(op: _Operation) -> list[str]:
    return [t for t in op.op.get("tags") or [] if isinstance(t, str)]
