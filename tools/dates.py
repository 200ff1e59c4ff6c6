"""Dates, times and time zones, with the standard library's ``zoneinfo`` (tzdata as fallback).

Input is ISO-8601 (``2024-05-31``, ``2024-05-31T14:30``, ``...+02:00``, ``...Z``) plus a few
words a planner copies from a query: ``now``, ``today``, ``tomorrow``, ``yesterday``, and
clock times (``14:30``, ``2:30 pm``) meaning today. ``today`` is the local date of the machine
running the agent. Time-zone names are IANA keys; case is forgiven and a bare city
(``Tokyo``) is accepted when exactly one zone ends with it; otherwise close names are
suggested.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

from agent.errors import ToolError
from agent.hookspecs import hookimpl
from agent.schema import tool

from . import of, returns

_CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([ap])?\.?\s*(m\.?)?$", re.I)
_DATE_HINT = "use ISO-8601, e.g. 2024-05-31 or 2024-05-31T14:30"
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAY = of("string", "English weekday name, e.g. Monday")


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    """Lower-cased IANA key -> key (scanning tzdata takes a while, so once)."""
    import zoneinfo

    return {name.lower(): name for name in zoneinfo.available_timezones()}


def zone(name: str) -> Any:
    """The ``ZoneInfo`` for ``name``, or a ToolError that suggests close names."""
    import difflib
    import zoneinfo

    key = name.strip()
    try:
        return zoneinfo.ZoneInfo(key)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    names = _zone_names()
    wanted = key.lower().replace(" ", "_")
    if wanted in names:
        return zoneinfo.ZoneInfo(names[wanted])
    cities = [n for low, n in names.items() if low.rsplit("/", 1)[-1] == wanted]
    if len(cities) == 1:
        return zoneinfo.ZoneInfo(cities[0])
    close = cities or [
        names[c] for c in difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.6)
    ]
    hint = f"; did you mean {', '.join(map(repr, close[:3]))}?" if close else ""
    raise ToolError(f"unknown time zone {name!r}{hint} (use IANA names like 'Europe/Paris')")


def _offset(moment: dt.datetime) -> str:
    delta = moment.utcoffset() or dt.timedelta()
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def _parse_moment(text: str, tz: Any) -> dt.datetime:
    """A date-time in ``tz``: ISO-8601 (an explicit offset wins), a clock time today, or now."""
    value = text.strip()
    if value.lower() == "now":
        return dt.datetime.now(tz)
    match = _CLOCK.match(value)
    if match and (":" in value or match.group(4)):
        hour, minute, second = (int(g or 0) for g in match.group(1, 2, 3))
        if match.group(4):
            if not 1 <= hour <= 12:
                raise ToolError(f"cannot read time {text!r}: hour must be 1-12 with am/pm")
            hour = hour % 12 + (12 if match.group(4).lower() == "p" else 0)
        try:
            clock = dt.time(hour, minute, second)
        except ValueError as exc:
            raise ToolError(f"cannot read time {text!r}: {exc}") from None
        return dt.datetime.combine(dt.datetime.now(tz).date(), clock, tzinfo=tz)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ToolError(f"cannot read date-time {text!r}: {_DATE_HINT}, or HH:MM") from None
    return moment.astimezone(tz) if moment.tzinfo else moment.replace(tzinfo=tz)


def _parse_date(text: str) -> dt.date | dt.datetime:
    """A date (or date-time, kept as given) from ISO-8601 or today/tomorrow/yesterday."""
    value = text.strip()
    relative = {"today": 0, "tomorrow": 1, "yesterday": -1}
    if value.lower() in relative:
        return dt.date.today() + dt.timedelta(days=relative[value.lower()])
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise ToolError(f"cannot read date {text!r}: {_DATE_HINT}") from None


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, clamped to the end of a shorter month (Jan 31 -> Feb 29).

    Works on datetimes too (their time is kept).
    """
    import calendar

    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise ToolError("the result is outside the supported years 1-9999")
    last = calendar.monthrange(year, month + 1)[1]
    return day.replace(year=year, month=month + 1, day=min(day.day, last))


def _business_days(start: dt.date, end: dt.date) -> int:
    """Monday-Friday days in [start, end) (negative when end is before start)."""
    if end < start:
        return -_business_days(end, start)
    weeks, rest = divmod((end - start).days, 7)
    extra = sum(1 for i in range(rest) if (start.weekday() + i) % 7 < 5)
    return weeks * 5 + extra


def _calendar_diff(start: dt.date, end: dt.date) -> dict[str, int]:
    """Whole years, months and days: start + years + months (clamped) + days == end."""
    sign = 1
    if end < start:
        start, end, sign = end, start, -1
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    days = (end - add_months(start, months)).days
    years, months = divmod(months, 12)
    return {"years": sign * years, "months": sign * months, "days": sign * days}


@tool(
    tags=("time",),
    examples=("what time is it in Tokyo?", "current date in UTC"),
    templates=(
        "What time is it in {timezone}?",
        "What is the current date and time in {timezone}?",
        "Tell me the local time in {timezone} right now.",
        "What day is it today in {timezone}?",
        "What is the UTC offset of {timezone} at the moment?",
    ),
    output_schema=returns({
        "timezone": of("string", "IANA time-zone key"),
        "datetime": of("string", "ISO-8601 with offset"),
        "date": of("string", "YYYY-MM-DD"),
        "time": of("string", "HH:MM:SS"),
        "weekday": _WEEKDAY,
        "utc_offset": of("string", "e.g. +09:00"),
        "abbreviation": of("string", "e.g. JST, CEST"),
    }),
)
def current_time(timezone: str = "UTC") -> dict[str, Any]:
    """The current date and time in a time zone.

    Args:
        timezone: IANA time-zone name, e.g. "Europe/Paris", "America/New_York",
            "Asia/Tokyo", "Australia/Sydney", "America/Sao_Paulo" or "UTC".
    """
    tz = zone(timezone)
    now = dt.datetime.now(tz).replace(microsecond=0)
    return {
        "timezone": str(tz.key),
        "datetime": now.isoformat(),
        "date": now.date().isoformat(),
        "time": now.time().isoformat(),
        "weekday": _DAYS[now.weekday()],
        "utc_offset": _offset(now),
        "abbreviation": now.tzname() or "",
    }


@tool(
    tags=("time",),
    examples=("what is 9:00 in New York when it is 15:00 in Paris?",
              "convert 2024-05-31T14:30 from Europe/London to Asia/Tokyo"),
    templates=(
        "What time is {time} {from_timezone} time in {to_timezone}?",
        "Convert {time} from {from_timezone} to {to_timezone}.",
        "If it is {time} in {from_timezone}, what time is it in {to_timezone}?",
        "A call is set for {time} {from_timezone} time. When is that in {to_timezone}?",
    ),
    output_schema=returns({
        "source": of("string", "the input as ISO-8601 in from_timezone"),
        "result": of("string", "the same moment in to_timezone"),
        "from_timezone": of("string", "IANA key"),
        "to_timezone": of("string", "IANA key"),
        "date": of("string", "result date, YYYY-MM-DD"),
        "time": of("string", "result clock time, HH:MM:SS"),
        "utc_offset": of("string", "offset of the result"),
        "day_shift": of("integer", "result date minus source date"),
    }),
)
def convert_time(time: str, from_timezone: str, to_timezone: str) -> dict[str, Any]:
    """Convert a date-time (or a clock time today) from one time zone to another.

    An ISO-8601 input that carries its own offset (Z, +02:00) is read in that offset.

    Args:
        time: ISO-8601 date-time (or a clock time HH:MM, meaning today), e.g.
            "2024-05-31T14:30", "2026-01-15T09:00", "2026-07-04T18:45" or
            "2026-11-02T23:30".
        from_timezone: IANA time zone the time is given in, e.g. "Europe/Paris",
            "America/New_York" or "Asia/Kolkata".
        to_timezone: IANA time zone to convert to, e.g. "Asia/Tokyo", "Europe/London" or
            "America/Los_Angeles".
    """
    src_tz, dst_tz = zone(from_timezone), zone(to_timezone)
    source = _parse_moment(time, src_tz)
    try:
        result = source.astimezone(dst_tz)
    except OverflowError:
        raise ToolError("the result is outside the supported date range") from None
    return {
        "source": source.isoformat(),
        "result": result.isoformat(),
        "from_timezone": str(src_tz.key),
        "to_timezone": str(dst_tz.key),
        "date": result.date().isoformat(),
        "time": result.time().isoformat(),
        "utc_offset": _offset(result),
        "day_shift": (result.date() - source.date()).days,
    }


@tool(
    tags=("time",),
    examples=("how many days between 2024-01-01 and 2024-03-01?",
              "business days from 2024-06-03 to 2024-06-17"),
    templates=(
        "How many days are there between {start} and {end}?",
        "How many business days are there from {start} to {end}?",
        "How long is it from {start} until {end}?",
        "How many weeks between {start} and {end}?",
        "How many years, months and days from {start} to {end}?",
    ),
    output_schema=returns({
        "start": of("string", "YYYY-MM-DD"),
        "end": of("string", "YYYY-MM-DD"),
        "days": of("integer", "end minus start, in days"),
        "weeks": of("number", "days / 7, two decimals"),
        "business_days": of("integer", "Mon-Fri in [start, end)"),
        "years": of("integer", "whole years"),
        "months": of("integer", "whole months after the years"),
        "remaining_days": of("integer", "days after the years and months"),
    }),
)
def date_difference(start: str, end: str) -> dict[str, Any]:
    """The time between two dates: days, weeks, business days and calendar years/months/days.

    Times of day are ignored; the result is negative when end is before start.

    Args:
        start: ISO-8601 date (or today), e.g. "2024-01-31", "2025-06-01", "2026-01-05" or
            "2026-03-15".
        end: ISO-8601 date (or today), e.g. "2024-03-01", "2026-04-30", "2026-09-01" or
            "2027-01-01".
    """
    a, b = _as_date(_parse_date(start)), _as_date(_parse_date(end))
    days = (b - a).days
    cal = _calendar_diff(a, b)
    return {
        "start": a.isoformat(),
        "end": b.isoformat(),
        "days": days,
        "weeks": round(days / 7, 2),
        "business_days": _business_days(a, b),
        "years": cal["years"],
        "months": cal["months"],
        "remaining_days": cal["days"],
    }


@tool(
    tags=("time",),
    examples=("what date is 90 days after 2024-03-15?", "2024-01-31 plus one month"),
    templates=(
        "What date is {days} days after {date}?",
        "What is {date} plus {weeks} weeks?",
        "Which date is {months} months after {date}?",
        "Add {years} years to {date}.",
        "What date is it {months} months and {days} days after {date}?",
        "If I start on {date}, what date is {weeks} weeks later?",
    ),
    output_schema=returns({
        "date": of("string", "the starting date, ISO-8601"),
        "result": of("string", "the new date, ISO-8601"),
        "weekday": _WEEKDAY,
    }),
)
def add_to_date(
    date: str, days: int = 0, weeks: int = 0, months: int = 0, years: int = 0
) -> dict[str, Any]:
    """Add (or, with negative numbers, subtract) days, weeks, months and years to a date.

    Years and months are applied first and clamped to the month's end (2024-01-31 plus one
    month is 2024-02-29), then weeks and days.

    Args:
        date: ISO-8601 date or date-time (or today), e.g. "2024-01-31", "2024-03-15",
            "2026-05-20" or "2026-08-31".
        days: Days to add (negative to subtract), e.g. 10, 30 or 90.
        weeks: Weeks to add (negative to subtract), e.g. 2, 6 or 12.
        months: Calendar months to add (negative to subtract), e.g. 3, 6 or 18.
        years: Years to add (negative to subtract), e.g. 2, 5 or 10.
    """
    start = _parse_date(date)
    try:
        moved = add_months(start, years * 12 + months)
        result = moved + dt.timedelta(days=days, weeks=weeks)
    except (OverflowError, ValueError):
        raise ToolError("the result is outside the supported years 1-9999") from None
    return {"date": start.isoformat(), "result": result.isoformat(),
            "weekday": _DAYS[result.weekday()]}


@tool(
    tags=("time",),
    examples=("what day of the week is 2024-12-25?",),
    templates=(
        "What day of the week is {date}?",
        "Is {date} a weekend day?",
        "Which weekday does {date} fall on?",
        "What is the ISO week number of {date}?",
        "What day of the year is {date}?",
    ),
    output_schema=returns({
        "date": of("string", "YYYY-MM-DD"),
        "weekday": _WEEKDAY,
        "iso_weekday": of("integer", "1 = Monday ... 7 = Sunday"),
        "iso_week": of("integer", "ISO-8601 week number"),
        "day_of_year": of("integer", "1-366"),
        "is_weekend": of("boolean", "Saturday or Sunday"),
    }),
)
def day_of_week(date: str) -> dict[str, Any]:
    """The weekday (and ISO week number) of a date.

    Args:
        date: ISO-8601 date (or today), e.g. "2024-12-25", "2025-07-04", "2026-02-14",
            "2026-10-31" or "2027-01-01".
    """
    day = _as_date(_parse_date(date))
    iso = day.isocalendar()
    return {
        "date": day.isoformat(),
        "weekday": _DAYS[day.weekday()],
        "iso_weekday": iso.weekday,
        "iso_week": iso.week,
        "day_of_year": day.timetuple().tm_yday,
        "is_weekend": iso.weekday >= 6,
    }


@hookimpl
def register_tools(register: Any) -> None:
    register([current_time, convert_time, date_difference, add_to_date, day_of_week])
