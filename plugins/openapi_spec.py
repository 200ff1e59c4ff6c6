"""Load an OpenAPI 3.0/3.1 document and turn its schemas into self-contained JSON Schemas.

References are resolved with ``referencing`` (the library jsonschema itself uses): local
pointers, relative files (JSON or YAML) and, for a spec fetched from a URL, relative URLs.
Each schema a tool needs is *inlined*, so models and planners see one finished schema; a
recursive schema is cut where it repeats, with a ``$ref`` into the root's ``$defs``, so
inlining never loops and the result still validates what the API accepts.

OpenAPI 3.0 schemas are translated to JSON Schema 2020-12 on the way (``nullable``, boolean
``exclusiveMinimum``/``exclusiveMaximum``); ``readOnly`` properties are dropped from request
schemas and ``writeOnly`` ones from response schemas.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urldefrag, urljoin

from agent.errors import UsageError

from .openapi_check import SCHEMA_LISTS, SCHEMA_MAPS, SCHEMA_ONE

Mode = Literal["request", "response"]
DICT_BASE = "urn:agent:openapi-spec"



class OpenAPIError(UsageError):
    """An OpenAPI spec or an ``[[openapi]]`` entry cannot be used (says which and why)."""


# Loading --------------------------------------------------------------------------------------
def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def load_document(source: str | Path | Mapping[str, Any],
                  timeout: float = 30.0) -> tuple[dict[str, Any], str]:
    """The spec as a dict and the URI relative references are resolved against."""
    if isinstance(source, Mapping):
        return dict(source), DICT_BASE
    if isinstance(source, str) and is_url(source):
        return parse_text(fetch_text(source, timeout), source), source
    path = Path(source).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OpenAPIError(f"cannot read OpenAPI spec {str(path)!r}: {exc.strerror or exc}"
                           ) from None
    return parse_text(text, str(path)), path.resolve().as_uri()


def parse_text(text: str, name: str) -> dict[str, Any]:
    """JSON, or YAML when it is not JSON (PyYAML, which langchain-core already requires)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        if name.lower().endswith(".json"):
            raise OpenAPIError(f"{name}: not valid JSON: {exc}") from None
        try:
            import yaml
        except ImportError:
            raise OpenAPIError(f"{name}: not JSON, and reading YAML needs PyYAML "
                               "(pip install pyyaml)") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as yexc:
            first = str(yexc).splitlines()[0] if str(yexc) else type(yexc).__name__
            raise OpenAPIError(f"{name}: neither JSON nor valid YAML: {first}") from None
    if not isinstance(data, dict):
        raise OpenAPIError(f"{name}: not an OpenAPI document (expected an object at the top, "
                           f"got {type(data).__name__})")
    return data


def fetch_text(url: str, timeout: float) -> str:
    """GET ``url`` with aiohttp; usable from sync code whether or not a loop is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_fetch(url, timeout))
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="openapi-fetch") as pool:
        return pool.submit(asyncio.run, _fetch(url, timeout)).result()


async def _fetch(url: str, timeout: float) -> str:
    import aiohttp

    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout),
                                         trust_env=False) as session, session.get(url) as resp:
            text = await resp.text(errors="replace")
            if resp.status >= 300:
                raise OpenAPIError(f"cannot fetch OpenAPI spec {url}: HTTP {resp.status}")
            return text
    except TimeoutError:
        raise OpenAPIError(f"cannot fetch OpenAPI spec {url}: no answer within "
                           f"{timeout:g} s") from None
    except aiohttp.ClientError as exc:
        raise OpenAPIError(f"cannot fetch OpenAPI spec {url}: {exc}") from None


def check_version(doc: Mapping[str, Any], name: str) -> str:
    """"3.0" or "3.1"; anything else is refused with what to do about it."""
    if "swagger" in doc:
        raise OpenAPIError(f"{name}: Swagger {doc['swagger']} is not supported; convert to "
                           "OpenAPI 3 (for example with swagger2openapi or editor.swagger.io)")
    version = doc.get("openapi")
    if not isinstance(version, str):
        raise OpenAPIError(f"{name}: not an OpenAPI document (no 'openapi: 3.x' field)")
    match = re.match(r"3\.([01])(\.|$)", version)
    if not match:
        raise OpenAPIError(f"{name}: OpenAPI {version} is not supported (3.0 and 3.1 are)")
    return f"3.{match.group(1)}"


# References -----------------------------------------------------------------------------------
class Unresolved(Exception):
    """A reference that cannot be followed; the caller says which operation needed it."""

    def __init__(self, ref: str, where: str) -> None:
        self.ref, self.where = ref, where
        super().__init__(ref)


class Resolver:
    """Follows ``$ref``s and inlines schemas; caches what does not depend on recursion."""

    def __init__(self, doc: dict[str, Any], base_uri: str, version: str,
                 timeout: float = 30.0) -> None:
        from referencing import Registry, Resource

        self.base_uri = base_uri
        self.version = version
        self.timeout = timeout
        self._documents: dict[str, Any] = {}
        registry: Registry[Any] = Registry(retrieve=self._retrieve)  # type: ignore[call-arg]
        registry = registry.with_resource(base_uri, Resource.opaque(doc))
        self._resolver = registry.resolver(base_uri)
        self._cache: dict[tuple[str, Mode], tuple[Any, tuple[str, ...]]] = {}
        self._names: dict[str, str] = {}
        self._targets: dict[str, tuple[Any, str]] = {}

    def _retrieve(self, uri: str) -> Any:
        from referencing import Resource

        if uri not in self._documents:
            if uri.startswith("file:"):
                from urllib.request import url2pathname

                path = url2pathname(uri.removeprefix("file://"))
                doc, _ = load_document(Path(path))
            elif is_url(uri):
                doc = parse_text(fetch_text(uri, self.timeout), uri)
            else:
                raise LookupError(uri)
            self._documents[uri] = Resource.opaque(doc)
        return self._documents[uri]

    def absolute(self, ref: str, base: str) -> str:
        """The reference as an absolute URI (with its fragment)."""
        if ref.startswith("#"):
            return base + ref
        return urljoin(base, ref)

    def lookup(self, ref: str, base: str) -> tuple[Any, str]:
        """(target, base URI of the document it is in); raises ``Unresolved``."""
        from referencing.exceptions import Unresolvable

        uri = self.absolute(ref, base)
        found = self._targets.get(uri)
        if found is None:
            try:
                target = self._resolver.lookup(uri).contents
            except (Unresolvable, OpenAPIError):
                raise Unresolved(ref, base) from None
            found = self._targets[uri] = (target, urldefrag(uri).url)
        return found

    def deref(self, node: Any, base: str) -> tuple[Any, str]:
        """Follow a chain of ``$ref``s to a non-reference object (parameters, bodies)."""
        seen: set[str] = set()
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            key = self.absolute(node["$ref"], base)
            if key in seen:
                raise Unresolved(node["$ref"], base)
            seen.add(key)
            node, base = self.lookup(node["$ref"], base)
        return node, base

    # Schemas ----------------------------------------------------------------------------------
    def schemas(self, nodes: list[tuple[Any, str]], mode: Mode
                ) -> tuple[list[Any], dict[str, Any]]:
        """Inline schemas that will live in one document: (the schemas, their ``$defs``).

        Each node comes with the base URI it was found under. A recursive reference is cut
        to ``{"$ref": "#/$defs/Name"}``, so the caller puts the returned ``$defs`` at the root
        of the document it builds.
        """
        state = _Inlining()
        out = [self._inline(node, base, mode, state) for node, base in nodes]
        defs: dict[str, Any] = {}
        todo = list(dict.fromkeys(state.log))
        while todo:
            key = todo.pop()
            if self._names[key] in defs:
                continue
            inner = _Inlining()  # a definition at the root: nothing above it to recurse to
            defs[self._names[key]] = self._inline_ref({"$ref": key}, key, "", mode, inner)
            todo += inner.log
        return out, defs

    def schema(self, node: Any, base: str, mode: Mode) -> Any:
        """One schema as a finished document (``$defs`` at its root when it recurses)."""
        [out], defs = self.schemas([(node, base)], mode)
        if defs and isinstance(out, dict):
            out = {**out, "$defs": {**out.get("$defs", {}), **defs}}
        return out

    def _inline(self, node: Any, base: str, mode: Mode, state: _Inlining) -> Any:
        if not isinstance(node, Mapping):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self._inline_ref(node, ref, base, mode, state)
        return self._finish(self._children(node, base, mode, state), mode)

    def _children(self, node: Mapping[str, Any], base: str, mode: Mode,
                  state: _Inlining) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in SCHEMA_MAPS and isinstance(value, Mapping):
                out[key] = {k: self._inline(v, base, mode, state) for k, v in value.items()}
            elif key in SCHEMA_LISTS and isinstance(value, list):
                out[key] = [self._inline(v, base, mode, state) for v in value]
            elif key in SCHEMA_ONE:
                out[key] = ([self._inline(v, base, mode, state) for v in value]
                            if isinstance(value, list) else self._inline(value, base, mode, state))
            else:
                out[key] = value
        return out

    def _finish(self, schema: dict[str, Any], mode: Mode) -> dict[str, Any]:
        if self.version == "3.0":
            schema = _from_30(schema)
        return _drop_hidden(schema, mode)

    def _inline_ref(self, node: Mapping[str, Any], ref: str, base: str, mode: Mode,
                    state: _Inlining) -> Any:
        """Inline a reference; the result is shared between tools unless it depends on the
        references above it (it recurses to one of them)."""
        key = self.absolute(ref, base)
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if key in state.stack:  # recursion: point into $defs instead of expanding again
            state.low = min(state.low, state.stack.index(key))
            state.log.append(key)
            return {"$ref": f"#/$defs/{self._name(key)}", **siblings}
        hit = self._cache.get((key, mode))
        if hit is None:
            target, doc_base = self.lookup(ref, base)
            depth, outer_low, start = len(state.stack), state.low, len(state.log)
            state.low = _NO_CUT
            state.stack.append(key)
            try:
                result = self._inline(target, doc_base, mode, state)
            finally:
                state.stack.pop()
            if state.low >= depth:  # every cut points inside: the result stands alone
                self._cache[(key, mode)] = (result, tuple(dict.fromkeys(state.log[start:])))
            state.low = min(outer_low, state.low)
        else:
            result, needs = hit
            state.log += needs
        if siblings and isinstance(result, dict):  # 3.1 allows keywords beside $ref
            merged = {**result, **self._children(siblings, base, mode, state)}
            return self._finish(merged, mode)
        return result

    def _name(self, key: str) -> str:
        """The ``$defs`` name of a recursive schema, the same in every tool of the spec."""
        name = self._names.get(key)
        if name is None:
            stem = re.sub(r"[^A-Za-z0-9_.-]", "_", key.rsplit("/", 1)[-1]) or "schema"
            taken = set(self._names.values())
            name, n = stem, 1
            while name in taken:
                n += 1
                name = f"{stem}_{n}"
            self._names[key] = name
        return name


_NO_CUT = 1 << 30


class _Inlining:
    """State of one ``Resolver.schemas`` call: the reference stack and the recursions cut."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.log: list[str] = []  # references cut to $defs (they need a definition)
        self.low = _NO_CUT  # the lowest stack depth a cut in the current subtree points at


def _from_30(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI 3.0 schema object in JSON Schema 2020-12 terms."""
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        flag = schema.get(bound)
        if isinstance(flag, bool):
            schema.pop(bound)
            if flag and limit in schema:
                schema[bound] = schema.pop(limit)
    if schema.pop("nullable", False) is True:
        kind = schema.get("type")
        if isinstance(kind, str):
            schema["type"] = [kind, "null"]
            if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
                schema["enum"] = [*schema["enum"], None]
        elif kind is None:
            return {"anyOf": [schema, {"type": "null"}]}
    return schema


def _drop_hidden(schema: dict[str, Any], mode: Mode) -> dict[str, Any]:
    """Leave out ``readOnly`` properties of requests and ``writeOnly`` ones of responses."""
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return schema
    hidden = "readOnly" if mode == "request" else "writeOnly"
    gone = {k for k, v in props.items() if isinstance(v, Mapping) and v.get(hidden) is True}
    if not gone:
        return schema
    schema["properties"] = {k: v for k, v in props.items() if k not in gone}
    if isinstance(schema.get("required"), list):
        schema["required"] = [r for r in schema["required"] if r not in gone]
    return schema
