"""What a run records so that it can be replayed: the planner's options, answers given up
front.

A planner made by name gets its default options, but one made in code may not (``today=``,
``max_tools=``), and a replay with other options plans differently. So the plain-valued
keyword arguments of the planner's ``__init__`` are recorded with the run (from the
attributes of the same name) and given back on replay. A ``today`` left unset means "the day
of the run": it is recorded as that day, so replaying "the weather tomorrow" a week later
still plans for the day after the original run.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Mapping
from typing import Any

_DATE = "$date"
#: Options that, when unset, stand for the moment of the run: recorded as that moment.
_CLOCK: dict[str, Any] = {"today": lambda: dt.date.today()}


_NAMES: dict[type, tuple[str, ...]] = {}


def _option_names(cls: type) -> tuple[str, ...]:
    """The keyword parameters of ``cls(...)``, looked up once per class."""
    names = _NAMES.get(cls)
    if names is None:
        try:
            params = list(inspect.signature(cls).parameters.values())
        except (TypeError, ValueError):
            params = []
        names = _NAMES[cls] = tuple(p.name for p in params
                                    if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
    return names


def _plain(value: Any) -> tuple[bool, Any]:
    """``(True, JSON form)`` for values a store can keep and give back exactly."""
    if value is None or isinstance(value, bool | int | float | str):
        return True, value
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return True, {_DATE: value.isoformat()}
    if isinstance(value, list | tuple):
        items = [_plain(v) for v in value]
        return all(ok for ok, _ in items), [v for _, v in items]
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        pairs = {k: _plain(v) for k, v in value.items()}
        return all(ok for ok, _ in pairs.values()), {k: v for k, (_, v) in pairs.items()}
    return False, None


def planner_options(planner: Any) -> dict[str, Any]:
    """The planner's plain-valued constructor options, as JSON (objects are left out)."""
    out: dict[str, Any] = {}
    for name in _option_names(type(planner)):
        try:
            value = getattr(planner, name)
        except Exception:  # no such attribute, or a property that fails: not recordable
            continue
        if value is None and name in _CLOCK:
            value = _CLOCK[name]()
        ok, encoded = _plain(value)
        if ok:
            out[name] = encoded
    return out


def restore_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments recorded by ``planner_options``, decoded."""
    return {k: _decode(v) for k, v in options.items()}


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_DATE}:
            return dt.date.fromisoformat(value[_DATE])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def run_metadata(planner: Any, answers: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``metadata`` a run starts with: planner options, answers given up front."""
    meta: dict[str, Any] = {}
    options = planner_options(planner)
    if options:
        meta["planner_options"] = options
    if answers:
        meta["answers"] = dict(answers)
    return meta
