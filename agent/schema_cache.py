"""A disk cache of the JSON Schemas built from tool functions' signatures.

A function's schema comes from langchain-core (``create_schema_from_function``), whose import
(its tracers, langsmith) costs ~1 s: three times a whole ``agent run`` of the built-in tools.
The schema depends only on the function's name, signature, type hints and docstring, and on
the langchain-core and pydantic versions; so it is kept, keyed by all of those, in
``$AGENT_HOME/cache/tool-schemas.json`` (else the user cache directory).

Only signatures whose hints are plain types are cached (str, int, float, bool, bytes, None,
Any, ``ToolContext``, and list/dict/tuple/set/Optional/Union/Literal/Annotated of those): the
name of a class says nothing of its fields, so a tool taking a model or a TypedDict is built
every time. ``AGENT_SCHEMA_CACHE=0`` turns the cache off.
"""

from __future__ import annotations

import collections.abc
import functools
import hashlib
import importlib.util
import inspect
import json
import logging
import os
import tempfile
import types
import typing
from pathlib import Path
from typing import Any

from agent.types import ToolContext

log = logging.getLogger("agent.schema")

FILENAME = "tool-schemas.json"
MAX_ENTRIES = 4096
Schema = tuple[dict[str, Any], str, str | None]  # parameters, description, context parameter

_PLAIN = (str, int, float, bool, bytes, type(None), ToolContext)
_CONTAINERS = (list, dict, tuple, set, frozenset, typing.Union, types.UnionType,
               collections.abc.Sequence, collections.abc.Mapping)
_loaded: dict[Path, dict[str, str]] = {}  # per cache file: key -> JSON text of the schema


def enabled() -> bool:
    return os.environ.get("AGENT_SCHEMA_CACHE", "1").strip().lower() not in ("0", "false", "no")


def key(fn: Any, name: str, signature: inspect.Signature,
        hints: dict[str, Any]) -> str | None:
    """The cache key of ``fn``'s schema, or None when it cannot be cached."""
    parts = [name, str(getattr(fn, "__module__", None) or ""),
             str(getattr(fn, "__qualname__", None) or ""), str(fn.__doc__ or ""),
             _library_versions()]
    for p in signature.parameters.values():
        hint = hints.get(p.name, Any)
        default = repr(p.default)
        if not _plain(hint) or " at 0x" in default:  # an address: a new key every process
            return None
        parts.append(f"{p.name}|{p.kind}|{default}|{hint!r}")
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def get(cache_key: str) -> Schema | None:
    text = _load().get(cache_key)
    if text is None:
        return None
    params, description, context = json.loads(text)  # a new dict for every caller
    return params, description, context


def put(cache_key: str, schema: Schema) -> None:
    entries = _load()
    entries[cache_key] = json.dumps(list(schema), ensure_ascii=False)
    while len(entries) > MAX_ENTRIES:
        del entries[next(iter(entries))]
    path = _path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tool-schemas-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": 1, "entries": entries}, f, ensure_ascii=False)
        os.replace(tmp, path)  # readers see the old file or the new one, never half of one
    except OSError as exc:  # a read-only home: schemas are built every time, as without it
        log.debug("cannot write the tool schema cache %s: %s", path, exc)


def _plain(hint: Any) -> bool:
    if hint is Any or hint in _PLAIN:
        return True
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Literal:
        return all(type(a) in (str, int, bool, type(None)) for a in args)
    if origin is typing.Annotated:
        return _plain(args[0]) and all(type(m) in (str, int, float, bool) for m in args[1:])
    if origin in _CONTAINERS:
        return all(a is Ellipsis or _plain(a) for a in args)
    return False


def _path() -> Path:
    home = os.environ.get("AGENT_HOME")
    if home:
        return Path(home).expanduser() / "cache" / FILENAME
    import platformdirs

    return Path(platformdirs.user_cache_dir("agent", appauthor=False)) / FILENAME


def _load() -> dict[str, str]:
    """The entries of the cache file, read once per process."""
    path = _path()
    entries = _loaded.get(path)
    if entries is None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            found = data["entries"] if data.get("version") == 1 else {}
            entries = {k: v for k, v in found.items()
                       if isinstance(k, str) and isinstance(v, str)}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            entries = {}  # none yet, or unreadable: it is rebuilt as schemas are made
        _loaded[path] = entries
    return entries


@functools.cache
def _library_versions() -> str:
    """The version files of langchain-core and pydantic, read without importing either."""
    texts = []
    for package in ("langchain_core", "pydantic"):
        spec = importlib.util.find_spec(package)
        origin = spec.origin if spec is not None else None
        try:
            texts.append((Path(origin).parent / "version.py").read_text() if origin else "")
        except OSError:
            texts.append("")
    return "\x00".join(texts)
