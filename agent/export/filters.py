"""Turn the export/stats filter flags into a ``RunFilter``, refusing bad values in one line."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import datetime

from agent.errors import UsageError
from agent.store.rows import RUN_STATUSES
from agent.store.scan import RunFilter

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
ANY_STATUS = "any"


def _split(values: Iterable[str] | None) -> tuple[str, ...]:
    """Repeated flags and comma lists alike: ``--tool a --tool b,c`` -> (a, b, c)."""
    out: list[str] = []
    for value in values or ():
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return tuple(dict.fromkeys(out))


def parse_time(text: str, flag: str, now: float | None = None) -> float:
    """Unix seconds from an ISO date/time (local time unless it has an offset) or an age
    such as ``30m``, ``12h``, ``7d``, ``2w`` (that long before now)."""
    value = text.strip()
    match = _RELATIVE.match(value)
    if match:
        amount, unit = match.groups()
        return (time.time() if now is None else now) - float(amount) * _UNIT_SECONDS[unit]
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise UsageError(
            f"bad {flag} {text!r}: give an ISO date or time (2026-05-01, "
            "2026-05-01T12:00:00+00:00) or an age such as 12h or 7d"
        ) from None


def parse_labels(values: Iterable[str] | None) -> tuple[tuple[str, str | None], ...]:
    """``KEY=VALUE`` (that value) or ``KEY`` (any value)."""
    labels: list[tuple[str, str | None]] = []
    for value in values or ():
        key, sep, wanted = value.partition("=")
        if not key.strip():
            raise UsageError(f"bad --label {value!r}: give KEY=VALUE or KEY")
        labels.append((key.strip(), wanted if sep else None))
    return tuple(labels)


def build_filter(
    *,
    status: Iterable[str] | None = None,
    source: Iterable[str] | None = None,
    label: Iterable[str] | None = None,
    tool: Iterable[str] | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int | None = None,
) -> RunFilter:
    """A filter from flag values; no ``status`` means runs that ended ok."""
    statuses = _split(status) or ("ok",)
    if ANY_STATUS in statuses:
        statuses = ()
    unknown = [s for s in statuses if s not in RUN_STATUSES]
    if unknown:
        raise UsageError(f"unknown --status {unknown[0]!r}: use {ANY_STATUS} or one of "
                         f"{', '.join(sorted(RUN_STATUSES))}")
    if limit is not None and limit < 1:
        raise UsageError(f"bad --limit {limit}: give a number of runs >= 1")
    start = parse_time(since, "--since") if since else None
    end = parse_time(until, "--until") if until else None
    if start is not None and end is not None and start >= end:
        raise UsageError(f"--since {since} is not before --until {until}: nothing can match")
    return RunFilter(statuses=statuses, sources=_split(source), labels=parse_labels(label),
                     tools=_split(tool), since=start, until=end, limit=limit)
