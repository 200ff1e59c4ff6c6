"""Planner options (``[planners.NAME]`` in agent.toml, ``--planner-option``) checked against
the planner's constructor, so a typo or a wrong type is one clear line, not a traceback from
inside a run."""

from __future__ import annotations

import datetime as dt
import difflib
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from agent.errors import PlannerOptionError

_KINDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
          dt.date: "a date (2024-05-31)", list: "a list", dict: "a table"}


def make_planner(name: str, factory: Callable[..., Any], options: Mapping[str, Any]) -> Any:
    """``factory(**options)``; ``PlannerOptionError`` for an option the planner does not
    have (with the ones it has), a value of another type than its annotation's (or its
    default's), or a value the planner refuses."""
    try:
        planner = factory(**options)
    except TypeError as exc:
        unknown = _unknown(name, factory, options)
        if unknown is not None:
            raise PlannerOptionError(*unknown) from None
        raise PlannerOptionError(f"planner {name!r}: {exc}") from None
    except ValueError as exc:
        named = [o for o in options if o in str(exc)]  # the option its message is about
        raise PlannerOptionError(f"planner {name!r}: {exc}",
                                 named[0] if len(named) == 1 else None) from None
    kinds = _kinds(type(planner))
    for option, value in options.items():
        allowed = kinds.get(option)
        if value is None or not allowed or any(_fits(value, kind) for kind in allowed):
            continue  # None: "not set" wherever a planner takes it (``first_tool_choice``)
        words = " or ".join(_KINDS.get(kind, kind.__name__) for kind in allowed)
        raise PlannerOptionError(f"planner {name!r}: {option} takes {words}, got {value!r}",
                                 option)
    return planner


def _fits(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _unknown(name: str, factory: Callable[..., Any],
             options: Mapping[str, Any]) -> tuple[str, str] | None:
    """The message for an option the planner lacks and that option, or None if that is not
    the trouble."""
    signature = _factory_signature(factory)
    if signature is None:
        return None
    params = [p.name for p in signature]
    unknown = [k for k in options if k not in params]
    if not unknown:
        return None
    close = difflib.get_close_matches(unknown[0], params, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (f"planner {name!r} has no option {unknown[0]!r} ({hint}its options: "
            f"{', '.join(params) or 'none'})", unknown[0])


def option_defaults(factory: Callable[..., Any]) -> dict[str, Any] | None:
    """The options a planner factory takes and their defaults (``REQUIRED`` for none), in
    order; None if neither the factory nor the planner it makes by default tells."""
    params = _factory_signature(factory)
    return None if params is None else {
        p.name: REQUIRED if p.default is p.empty else p.default for p in params}


#: ``option_defaults``' mark for an option without a default.
REQUIRED = "(required)"


def _signature(factory: Callable[..., Any]) -> list[inspect.Parameter] | None:
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _factory_signature(factory: Callable[..., Any]) -> list[inspect.Parameter] | None:
    """The keyword parameters of ``factory``, or, for a factory taking ``**options`` (the
    lazy ones plugins register), of the class of the planner it makes by default; None if
    neither tells."""
    params = _signature(factory)
    if params is None:
        try:
            params = _signature(type(factory()))
        except Exception:
            return None
    return params


def _kinds(cls: type) -> dict[str, tuple[type, ...]]:
    """The plain types each constructor argument takes, from its annotation (``int``,
    ``str | None``, ``dt.date | None``), else its default's type; an argument of any other
    annotation (a Literal, a callable, an object) is left to the planner."""
    try:
        hints = typing.get_type_hints(getattr(cls, "__init__"))  # noqa: B009 (mypy: unsound)
        params = inspect.signature(cls).parameters.values()
    except Exception:  # unresolvable annotations, no signature: nothing to check against
        return {}
    out: dict[str, tuple[type, ...]] = {}
    for p in params:
        hint = hints.get(p.name)
        if hint is None:
            if p.default is not p.empty and type(p.default) in _KINDS:
                out[p.name] = (type(p.default),)
            continue
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        members = [a for a in (typing.get_args(hint) if union else (hint,))
                   if a is not type(None)]
        if members and all(isinstance(m, type) and m in _KINDS for m in members):
            out[p.name] = tuple(members)
    return out
