"""Lookups shared by every endpoint: names to records, dates, money, weather, sights, time.

Everything here is a pure function of its arguments (hashes, never ``random``), so the gold
plans of the example queries always produce the same results. Bad input raises ``NotFound``
(HTTP 404) or ``BadRequest`` (HTTP 400) with a message meant for whoever made the call.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import unicodedata
from datetime import date, datetime, time
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from agent_travel.world import (
    CITIES,
    COUNTRIES,
    CURRENCY_NAMES,
    PLACE_CATEGORIES,
    RATES_PER_EUR,
    Airport,
    City,
    Country,
)

FIRST_DAY = date(2026, 1, 1)
LAST_DAY = date(2027, 12, 31)
STANDARD_TIME_DAY = date(2026, 1, 15)


class NotFound(LookupError):
    """Nothing has this name or code (HTTP 404)."""


class BadRequest(ValueError):
    """An argument is malformed or out of range (HTTP 400)."""


def stable(*parts: object) -> int:
    """A hash that is the same in every process (``hash()`` of a str is salted)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a name."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    plain = "".join(c if c.isalnum() else " " for c in plain.casefold())
    return " ".join(plain.split())


def suggest(kind: str, given: str, names: list[str], hint: str = "") -> NotFound:
    folded = {fold(n): n for n in names}
    close = difflib.get_close_matches(fold(given), list(folded), n=1, cutoff=0.6)
    if close:
        return NotFound(f"unknown {kind} {given!r}; did you mean {folded[close[0]]!r}?")
    return NotFound(f"unknown {kind} {given!r}{hint}")


# Names -------------------------------------------------------------------------------------
@cache
def _city_index() -> dict[str, City]:
    index: dict[str, City] = {}
    for c in CITIES:
        for name in (c.name, *c.aliases):
            index[fold(name)] = c
    return index


def city(name: str) -> City:
    found = _city_index().get(fold(name))
    if found is None and "," in name:  # "Paris, France"
        found = _city_index().get(fold(name.split(",", 1)[0]))
    if found is not None:
        return found
    known = ", ".join(c.name for c in CITIES)
    raise suggest("city", name, [c.name for c in CITIES], f"; known cities: {known}")


def country(name: str) -> Country:
    key = fold(name)
    for c in COUNTRIES:
        if key in {fold(n) for n in (c.name, *c.aliases)}:
            return c
    known = ", ".join(c.name for c in COUNTRIES)
    raise suggest("country", name, [c.name for c in COUNTRIES], f"; known countries: {known}")


def country_of(c: City) -> Country:
    return country(c.country)


@cache
def _airport_index() -> dict[str, tuple[Airport, City]]:
    return {a.code: (a, c) for c in CITIES for a in c.airports}


def airport(code: str) -> tuple[Airport, City]:
    key = code.strip().upper()
    found = _airport_index().get(key)
    if found is not None:
        return found
    if len(key) != 3 and fold(code) in _city_index():
        c = _city_index()[fold(code)]
        example = f" (for {c.name}: {c.airports[0].code})" if c.airports else ""
        raise NotFound(f"{code!r} is a city, not an airport code; find_airports gives a "
                       f"city's IATA codes{example}")
    raise suggest("airport code", code, list(_airport_index()),
                   "; airport codes are three letters (IATA), find_airports lists them")


def nearest_airport(c: City) -> tuple[Airport, City, float]:
    best = min((km(c, other), a, other) for other in CITIES if other is not c
               for a in other.airports[:1])
    return best[1], best[2], best[0]


def km(a: City, b: City) -> float:
    """Great-circle distance between two cities."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(h))


# Dates -------------------------------------------------------------------------------------
def parse_date(value: str, *, bookable: bool = False, field: str = "date") -> date:
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{field} must be a date like 2026-12-03, got {value!r}") from None
    if bookable and not FIRST_DAY <= day <= LAST_DAY:
        raise BadRequest(f"{field} {value}: schedules and rooms are published from "
                         f"{FIRST_DAY} to {LAST_DAY}")
    return day


def local(c: City, day: date, minutes: int) -> datetime:
    return datetime.combine(day, time(minutes // 60, minutes % 60), ZoneInfo(c.timezone))


# Money -------------------------------------------------------------------------------------
def currency(code: str) -> str:
    key = code.strip().upper()
    if key in RATES_PER_EUR:
        return key
    known = ", ".join(f"{c} ({n})" for c, n in CURRENCY_NAMES.items())
    raise suggest("currency", code, list(RATES_PER_EUR), f"; supported: {known}")


def rate(from_code: str, to_code: str) -> float:
    return round(RATES_PER_EUR[currency(to_code)] / RATES_PER_EUR[currency(from_code)], 6)


def from_euros(euros: float, code: str) -> int:
    """A price in ``code``, rounded the way prices are shown (yen to hundreds)."""
    value = euros * RATES_PER_EUR[code]
    return int(round(value, -2)) if code == "JPY" else round(value)


def convert(amount: float, from_code: str, to_code: str) -> dict[str, Any]:
    if amount < 0:
        raise BadRequest(f"amount must not be negative, got {amount}")
    r = rate(from_code, to_code)
    return {"original_amount": amount, "from_currency": currency(from_code),
            "converted_amount": round(amount * r, 2), "to_currency": currency(to_code),
            "rate": r}


def exchange_rate(from_code: str, to_code: str) -> dict[str, Any]:
    return {"from_currency": currency(from_code), "to_currency": currency(to_code),
            "rate": rate(from_code, to_code), "inverse_rate": rate(to_code, from_code)}


# Places, weather, time ---------------------------------------------------------------------
def city_info(name: str) -> dict[str, Any]:
    c = city(name)
    land = country_of(c)
    return {"city": c.name, "country": c.country, "currency": land.currency,
            "currency_name": CURRENCY_NAMES[land.currency], "timezone": c.timezone,
            "population": c.population, "languages": list(land.languages)}


def country_info(name: str) -> dict[str, Any]:
    land = country(name)
    return {"country": land.name, "capital": land.capital, "currency": land.currency,
            "currency_name": CURRENCY_NAMES[land.currency], "languages": list(land.languages),
            "calling_code": land.calling_code,
            "cities": [c.name for c in CITIES if c.country == land.name]}


def places(name: str, category: str | None = None) -> dict[str, Any]:
    c = city(name)
    if category is not None and category not in PLACE_CATEGORIES:
        raise BadRequest(f"category must be one of {', '.join(PLACE_CATEGORIES)}, "
                         f"got {category!r}")
    found: list[dict[str, Any]] = [
        {"name": n, "category": k, "rating": round(4.0 + stable(c.name, n) % 10 / 10, 1)}
        for n, k in c.sights if category in (None, k)]
    found.sort(key=lambda p: (-p["rating"], p["name"]))
    return {"city": c.name, "category": category, "places": found}


def weather(name: str, day_text: str, units: str = "celsius") -> dict[str, Any]:
    c = city(name)
    day = parse_date(day_text)
    if units not in ("celsius", "fahrenheit"):
        raise BadRequest(f"units must be 'celsius' or 'fahrenheit', got {units!r}")
    seed = (c.name, day.isoformat())
    high = c.highs[day.month - 1] + stable(*seed, "high") % 9 - 4
    low = high - 4 - stable(*seed, "low") % 6
    wet = stable(*seed, "wet") % 100 < c.wetness * 100
    if wet:
        condition = "snow" if high <= 2 else ("rain" if stable(*seed, "kind") % 3 else "showers")
    else:
        condition = ("sunny", "partly cloudy", "cloudy")[stable(*seed, "sky") % 3]

    def shown(celsius: int) -> int:
        return celsius if units == "celsius" else round(celsius * 9 / 5 + 32)

    return {"city": c.name, "date": day.isoformat(), "condition": condition,
            "high": shown(high), "low": shown(low), "units": units,
            "precipitation_mm": 1 + stable(*seed, "mm") % 15 if wet else 0,
            "humidity_percent": 45 + stable(*seed, "hum") % 40 + (15 if wet else 0)}


def _offset(c: City, day: date) -> float:
    offset = local(c, day, 12 * 60).utcoffset()
    return offset.total_seconds() / 3600 if offset is not None else 0.0


def _signed(hours: float) -> str:
    sign = "+" if hours >= 0 else "-"
    whole = abs(hours)
    return f"{sign}{int(whole):02d}:{round(whole % 1 * 60):02d}"


def time_difference(from_name: str, to_name: str, day_text: str | None = None) -> dict[str, Any]:
    a, b = city(from_name), city(to_name)
    day = parse_date(day_text) if day_text else STANDARD_TIME_DAY
    hours = _offset(b, day) - _offset(a, day)
    if hours == 0:
        summary = f"{b.name} and {a.name} are on the same time"
    else:
        ahead = "ahead of" if hours > 0 else "behind"
        summary = f"{b.name} is {abs(hours):g} hours {ahead} {a.name}"
    return {"from_city": a.name, "to_city": b.name, "date": day.isoformat(),
            "from_utc_offset": _signed(_offset(a, day)), "to_utc_offset": _signed(_offset(b, day)),
            "hours": hours, "summary": summary}
