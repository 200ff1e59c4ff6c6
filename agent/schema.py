"""Turn functions, raw schemas, objects and LangChain tools into ``Tool``; compile validators.

Schemas come from langchain-core's own utilities (``create_schema_from_function`` and
``convert_to_openai_function``), so we speak exactly the dialect models and LangChain expect
instead of inventing one. All reflection happens here, once per tool.
"""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Callable, Mapping
from typing import Any

from agent.errors import ToolDefinitionError
from agent.types import Tool, ToolContext

TOOL_OPTIONS_ATTR = "__agent_tool__"
_TOOL_FIELDS = {
    "name", "description", "output_schema", "plugin", "tags", "side_effects", "timeout",
    "retries", "state_key", "examples", "templates",
}


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    **options: Any,
) -> Any:
    """Mark a function as a tool: ``@tool`` or ``@tool(side_effects=True, timeout=5)``.

    The function is returned unchanged (still callable, still cheap to import); its options are
    kept on it and used when it is registered, which is when the schema is built.
    """
    unknown = set(options) - _TOOL_FIELDS
    if unknown:
        raise ToolDefinitionError(f"unknown tool option(s): {', '.join(sorted(unknown))}")

    def mark(f: Callable[..., Any]) -> Callable[..., Any]:
        setattr(f, TOOL_OPTIONS_ATTR, dict(options))
        return f

    return mark(fn) if fn is not None else mark


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """Resolve annotations, also string ones from ``from __future__ import annotations``.

    ``ToolContext`` resolves even when the tool's module imports it only for type checking.
    """
    target = inspect.unwrap(fn)
    localns = {"ToolContext": ToolContext}
    try:
        return typing.get_type_hints(target, localns=localns, include_extras=True)
    except Exception as exc:  # NameError, TypeError from unresolvable forward references
        name = getattr(fn, "__qualname__", repr(fn))
        raise ToolDefinitionError(
            f"cannot resolve the type hints of {name}: {exc}; import the types it uses at "
            "module level"
        ) from exc


def _is_context(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Union or type(annotation).__name__ == "UnionType":
        return any(_is_context(a) for a in typing.get_args(annotation))
    return isinstance(annotation, type) and issubclass(annotation, ToolContext)


def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    return inspect.cleandoc(doc).split("\n\n", 1)[0].replace("\n", " ").strip()


def function_schema(
    fn: Callable[..., Any], name: str
) -> tuple[dict[str, Any], str, str | None]:
    """Return (parameters JSON Schema, description, context parameter name) for ``fn``
    (kept on disk for plain signatures: see ``agent.schema_cache``)."""
    from agent import schema_cache

    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ToolDefinitionError(f"cannot read the signature of {fn!r}: {exc}") from exc
    hints = _type_hints(fn)
    cache_key = schema_cache.key(fn, name, sig, hints) if schema_cache.enabled() else None
    if cache_key is not None:
        cached = schema_cache.get(cache_key)
        if cached is not None:
            return cached
    schema = _build_function_schema(fn, name, sig, hints)
    if cache_key is not None:
        schema_cache.put(cache_key, schema)
    return schema


def _build_function_schema(
    fn: Callable[..., Any], name: str, sig: inspect.Signature, hints: dict[str, Any]
) -> tuple[dict[str, Any], str, str | None]:
    from langchain_core.tools.base import create_schema_from_function
    from langchain_core.utils.function_calling import convert_to_openai_function

    context_param = None
    kept = []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name in hints and _is_context(hints[p.name]):
            context_param = p.name
            continue
        if p.kind is p.POSITIONAL_ONLY:
            raise ToolDefinitionError(
                f"{name}: positional-only parameter {p.name!r} cannot be passed by name"
            )
        kept.append(p.replace(annotation=hints.get(p.name, Any)))

    # A shim with resolved annotations and without the context parameter: langchain-core
    # (through pydantic) re-reads type hints, which would fail on strings it cannot resolve.
    def shim(*args: Any, **kwargs: Any) -> None:  # pragma: no cover - never called
        return None

    shim.__signature__ = sig.replace(parameters=kept)  # type: ignore[attr-defined]
    shim.__annotations__ = {p.name: p.annotation for p in kept}
    shim.__doc__ = fn.__doc__
    shim.__name__ = name
    shim.__qualname__ = name
    shim.__module__ = getattr(fn, "__module__", __name__)
    try:
        model = create_schema_from_function(
            name, shim, parse_docstring=True, error_on_invalid_docstring=False
        )
        spec = convert_to_openai_function(model)
    except Exception as exc:
        raise ToolDefinitionError(f"cannot build a JSON Schema for {name}: {exc}") from exc
    params = spec.get("parameters") or {"type": "object", "properties": {}}
    params.setdefault("type", "object")
    params.setdefault("properties", {})
    return params, _first_paragraph(fn.__doc__), context_param


def tool_from_function(fn: Callable[..., Any], **options: Any) -> Tool:
    """Build a ``Tool`` from a function, honouring options given to ``@tool``."""
    if not callable(fn):
        raise ToolDefinitionError(f"a tool must be callable, got {type(fn).__name__}")
    merged = {**getattr(fn, TOOL_OPTIONS_ATTR, {}), **options}
    name = merged.pop("name", None) or getattr(fn, "__name__", None)
    if not name or name == "<lambda>":
        raise ToolDefinitionError("a lambda or nameless callable needs name=...")
    params, doc, context_param = function_schema(fn, name)
    description = merged.pop("description", None) or doc or name.replace("_", " ")
    return Tool(
        name=name,
        description=description,
        parameters=params,
        fn=fn,
        context_param=context_param,
        **_normalize(merged),
    )


def tool_from_schema(
    name: str,
    description: str,
    parameters: Mapping[str, Any],
    fn: Callable[..., Any],
    **options: Any,
) -> Tool:
    """Build a ``Tool`` from a raw JSON Schema; the schema is checked now, not at call time."""
    if not isinstance(parameters, Mapping):
        raise ToolDefinitionError(f"{name}: parameters must be a JSON Schema object")
    params = dict(parameters)
    params.setdefault("type", "object")
    t = Tool(name=name, description=description, parameters=params, fn=fn, **_normalize(options))
    _ = t.validator  # fail at definition time on an invalid schema
    return t


def _normalize(options: dict[str, Any]) -> dict[str, Any]:
    unknown = set(options) - _TOOL_FIELDS - {"context_param"}
    if unknown:
        raise ToolDefinitionError(f"unknown tool option(s): {', '.join(sorted(unknown))}")
    if "tags" in options:
        options["tags"] = tuple(options["tags"])
    if "examples" in options:
        options["examples"] = tuple(options["examples"])
    if "templates" in options:
        options["templates"] = tuple(options["templates"])
    return options


def tools_from_object(obj: object, *, prefix: str = "", **options: Any) -> list[Tool]:
    """Make the public methods of ``obj`` into tools that share its state.

    They share one ``state_key``, so the executor keeps their calls in the order given: the
    shape a stateful API (a shopping cart, a file system session) needs.
    """
    state_key = f"{type(obj).__name__}@{id(obj):x}"
    tools = []
    for attr in sorted(dir(obj)):
        if attr.startswith("_"):
            continue
        member = getattr(obj, attr)
        if not (inspect.ismethod(member) or inspect.isfunction(member)):
            continue
        tools.append(
            tool_from_function(member, name=prefix + attr, state_key=state_key, **options)
        )
    if not tools:
        raise ToolDefinitionError(f"{type(obj).__name__} has no public methods to offer")
    return tools


def as_tool(obj: Any, **options: Any) -> Tool:
    """Accept anything that can be a tool: ``Tool``, function, LangChain ``BaseTool``."""
    if isinstance(obj, Tool):
        if options:
            import dataclasses

            return dataclasses.replace(obj, **options)
        return obj
    if _is_langchain_tool(obj):
        from agent.plugins.langchain import from_langchain

        return from_langchain(obj, **options)
    if callable(obj):
        return tool_from_function(obj, **options)
    raise ToolDefinitionError(
        f"cannot make a tool from {type(obj).__name__}: pass a function, a Tool or a "
        "LangChain BaseTool (use tools_from_object() for an object's methods)"
    )


def _is_langchain_tool(obj: Any) -> bool:
    # A BaseTool instance implies langchain_core.tools is imported: no import cost otherwise.
    if "langchain_core.tools" not in sys.modules:
        return False
    from langchain_core.tools import BaseTool

    return isinstance(obj, BaseTool)


def compile_validator(schema: Mapping[str, Any], name: str) -> Any:
    """Check a schema once and return a reusable validator for it."""
    from jsonschema import Draft202012Validator, SchemaError, validators

    cls = validators.validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise ToolDefinitionError(f"{name}: invalid JSON Schema: {exc.message}") from exc
    return cls(schema)


_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$schema", "$comment",
                          "$id", "format", "deprecated", "readOnly", "writeOnly"})
_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: type(v) is int or (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def fast_check(schema: Mapping[str, Any]) -> Callable[[Any], bool] | None:
    """A quick "certainly valid" test for the common flat object schema, or None.

    It understands only ``type``, ``properties``, ``required``, ``additionalProperties``
    (boolean), ``enum`` and annotations; any other keyword and it declines. It never has the
    last word on a refusal: when it says False, the jsonschema validator decides and explains.
    """
    if schema.get("type") != "object" or not _only(schema, {"type", "properties", "required",
                                                            "additionalProperties"}):
        return None
    extra = schema.get("additionalProperties", True)
    if not isinstance(extra, bool):
        return None
    required = tuple(schema.get("required") or ())
    checks: dict[str, Callable[[Any], bool]] = {}
    for name, prop in (schema.get("properties") or {}).items():
        check = _property_check(prop)
        if check is None:
            return None
        checks[name] = check

    def valid(args: Any) -> bool:
        if type(args) is not dict:
            return False
        for name in required:
            if name not in args:
                return False
        for name, value in args.items():
            check = checks.get(name)
            if check is None:
                if not extra:
                    return False
            elif not check(value):
                return False
        return True

    return valid


def _only(schema: Mapping[str, Any], allowed: set[str]) -> bool:
    return all(k in allowed or k in _ANNOTATIONS or k.startswith("x-") for k in schema)


def _property_check(prop: Any) -> Callable[[Any], bool] | None:
    if not isinstance(prop, Mapping) or not _only(prop, {"type", "enum"}):
        return None
    kind = prop.get("type")
    kinds = [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else None
    if kind is not None and (kinds is None or any(k not in _TYPE_CHECKS for k in kinds)):
        return None
    tests = [_TYPE_CHECKS[k] for k in kinds or ()]
    enum = prop.get("enum")
    if enum is not None and (not isinstance(enum, list) or not all(
            isinstance(e, str) for e in enum)):
        return None  # enum equality on numbers/bools follows JSON rules: leave it to jsonschema
    options = frozenset(enum) if enum is not None else None
    if options is None and len(tests) == 1:
        return tests[0]  # the usual property, one type: its test is the whole check

    def check(value: Any) -> bool:
        if tests and not any(t(value) for t in tests):
            return False
        return options is None or value in options

    return check


def explain(validator: Any, args: Any) -> tuple[str | None, str]:
    """The most relevant validation error as (field path, one-line message)."""
    from jsonschema.exceptions import best_match

    err = best_match(validator.iter_errors(args))
    if err is None:
        return None, "invalid arguments"
    path = ".".join(str(p) for p in err.absolute_path) or None
    message = err.message
    if err.validator == "required" and path is None:
        # "'x' is a required property": name the missing field itself.
        missing = message.split("'")[1] if message.count("'") >= 2 else None
        return missing, "is required but missing"
    if err.validator == "additionalProperties" and path is None:
        return None, message
    return path, message
