"""The flight network: daily direct flights between the cities' airports, and their fares.

Routes, flight numbers and departure times are generated once from the tables in
``agent_travel.world``; a fare depends on the route, the airline, the cabin and the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from agent_travel.catalog import (
    STANDARD_TIME_DAY,
    BadRequest,
    NotFound,
    airport,
    city,
    country_of,
    from_euros,
    km,
    local,
    parse_date,
    stable,
    suggest,
)
from agent_travel.world import (
    CITIES,
    FLAG_CARRIERS,
    LOW_COST,
    LOW_COST_CODES,
    SECONDARY_ROUTES,
    City,
)

CABINS = ("economy", "premium_economy", "business", "first")
CABIN_FACTOR = {"economy": 1.0, "premium_economy": 1.6, "business": 3.0, "first": 5.0}
SORT_KEYS = ("departure", "price", "duration")
SHORT_AIRCRAFT = ("Airbus A320", "Airbus A321", "Boeing 737-800", "Airbus A220-300",
                  "Embraer 190")
LONG_AIRCRAFT = ("Boeing 787-9", "Airbus A350-900", "Boeing 777-300ER", "Airbus A330-300")


@dataclass(frozen=True)
class Flight:
    """A daily scheduled flight."""

    number: str
    airline: str
    origin: str
    destination: str
    departs: int  # minutes after local midnight
    minutes: int
    km: float
    long_haul: bool

    @property
    def cabins(self) -> tuple[str, ...]:
        if self.airline_code in LOW_COST_CODES:
            return ("economy",)
        return CABINS if self.long_haul else CABINS[:3]

    @property
    def airline_code(self) -> str:
        return self.number[:2]

    @property
    def aircraft(self) -> str:
        pool = LONG_AIRCRAFT if self.long_haul else SHORT_AIRCRAFT
        return pool[stable(self.number, "aircraft") % len(pool)]


def _europe(c: City) -> bool:
    return c.timezone.startswith("Europe/")


def _connected(a: City, b: City) -> tuple[bool, bool]:
    """(connected, long_haul) for a pair of cities' main airports."""
    if _europe(a) and _europe(b):
        pair = sorted((a.name, b.name))
        thin = not (a.hub or b.hub) and stable("route", *pair) % 4 == 0
        return not thin, False
    if _europe(a) != _europe(b):
        europe = a if _europe(a) else b
        return europe.long_haul, True
    return True, a.country != b.country


def _carriers(a: City, b: City, long_haul: bool) -> list[tuple[str, str]]:
    found = [FLAG_CARRIERS[a.country], FLAG_CARRIERS[b.country]]
    if not long_haul and _europe(a) and _europe(b):
        pair = sorted((a.name, b.name))
        pick = stable("lowcost", *pair)
        if pick % 3:
            found.append(LOW_COST[pick % len(LOW_COST)])
    if a.country == b.country == "United States":
        found.append(("DL", "Delta Air Lines"))
    return list(dict.fromkeys(found))


def _departure(number: str, slot: int, long_haul: bool) -> int:
    if long_haul:
        return 9 * 60 + stable(number, "dep") % (13 * 12) * 5
    start = (6 * 60, 11 * 60, 17 * 60)[slot % 3]
    return start + stable(number, "dep") % (4 * 12) * 5


def _duration(distance: float, long_haul: bool) -> int:
    minutes = 40 + distance / 850 * 60 if long_haul else 30 + distance / 780 * 60
    return int(round(minutes / 5) * 5)


@cache
def flights() -> dict[str, Flight]:
    """Every flight by number, generated in a fixed order."""
    names = {code: name for code, name in [*FLAG_CARRIERS.values(), *LOW_COST,
                                           ("DL", "Delta Air Lines")]}
    counters: dict[str, int] = {}
    out: dict[str, Flight] = {}

    def add(code: str, a: City, origin: str, b: City, destination: str, long_haul: bool,
            slot: int) -> None:
        n = counters.get(code, 100 + stable("base", code) % 400)
        counters[code] = n + 7
        number = f"{code}{n}"
        distance = km(a, b)
        out[number] = Flight(number, names[code], origin, destination,
                             _departure(number, slot, long_haul),
                             _duration(distance, long_haul), distance, long_haul)

    served = [c for c in CITIES if c.airports]
    for a in served:
        for b in served:
            if a is b:
                continue
            ok, long_haul = _connected(a, b)
            if not ok:
                continue
            origin, destination = a.airports[0].code, b.airports[0].code
            for i, (code, _) in enumerate(_carriers(a, b, long_haul)):
                add(code, a, origin, b, destination, long_haul, i)
                if i == 0 and not long_haul:  # the home carrier also flies in the evening
                    add(code, a, origin, b, destination, long_haul, 2)
    for x, y, code in SECONDARY_ROUTES:
        for origin, destination in ((x, y), (y, x)):
            (_, a), (_, b) = airport(origin), airport(destination)
            add(code, a, origin, b, destination, not (_europe(a) and _europe(b)), 1)
    return out


def _fare(f: Flight, day: date, cabin: str) -> float:
    euros = (180 + 0.06 * f.km) if f.long_haul else (45 + 0.085 * f.km)
    if f.airline_code in LOW_COST_CODES:
        euros *= 0.55
    euros *= 0.9 + stable(f.number, "carrier") % 25 / 100
    euros *= 0.85 + stable(f.number, day.isoformat()) % 45 / 100
    if day.weekday() in (4, 6):  # Friday and Sunday
        euros *= 1.1
    return euros * CABIN_FACTOR[cabin]


def _offer(f: Flight, day: date, cabin: str) -> dict[str, Any]:
    (_, a), (_, b) = airport(f.origin), airport(f.destination)
    leaves = local(a, day, f.departs)
    lands = (leaves + timedelta(minutes=f.minutes)).astimezone(local(b, day, 0).tzinfo)
    money = country_of(a).currency
    return {
        "flight_number": f.number, "airline": f.airline, "origin": f.origin,
        "destination": f.destination, "date": day.isoformat(),
        "departure": leaves.strftime("%Y-%m-%dT%H:%M"), "arrival": lands.strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": f.minutes, "cabin": cabin,
        "price": from_euros(_fare(f, day, cabin), money), "currency": money,
        "seats_left": 1 + stable(f.number, day.isoformat(), cabin, "seats") % 9,
    }


def _check(origin: str, destination: str, day_text: str, cabin: str) -> tuple[str, str, date]:
    (a, _), (b, _) = airport(origin), airport(destination)
    if a.code == b.code:
        raise BadRequest(f"origin and destination are both {a.code}")
    if cabin not in CABINS:
        raise BadRequest(f"cabin must be one of {', '.join(CABINS)}, got {cabin!r}")
    return a.code, b.code, parse_date(day_text, bookable=True)


def search(origin: str, destination: str, day_text: str, cabin: str = "economy",
           sort_by: str = "departure") -> dict[str, Any]:
    a, b, day = _check(origin, destination, day_text, cabin)
    if sort_by not in SORT_KEYS:
        raise BadRequest(f"sort_by must be one of {', '.join(SORT_KEYS)}, got {sort_by!r}")
    offers = [_offer(f, day, cabin) for f in flights().values()
              if f.origin == a and f.destination == b and cabin in f.cabins]
    field = {"departure": "departure", "price": "price", "duration": "duration_minutes"}[sort_by]
    offers.sort(key=lambda o: (o[field], o["departure"], o["flight_number"]))
    return {"origin": a, "destination": b, "date": day.isoformat(), "cabin": cabin,
            "count": len(offers), "flights": offers}


def cheapest(origin: str, destination: str, day_text: str,
             cabin: str = "economy") -> dict[str, Any]:
    found = search(origin, destination, day_text, cabin, "price")
    offers = found["flights"]
    if not offers:
        raise NotFound(f"no direct {cabin.replace('_', ' ')} flights from {found['origin']} to "
                       f"{found['destination']} on {found['date']}")
    return offers[0]


def flight(number: str) -> dict[str, Any]:
    key = "".join(number.split()).upper()
    f = flights().get(key)
    if f is None:
        raise suggest("flight number", number, list(flights()),
                       "; search_flights lists the flights on a route")
    offer = _offer(f, STANDARD_TIME_DAY, "economy")
    days = (date.fromisoformat(str(offer["arrival"])[:10]) - STANDARD_TIME_DAY).days
    return {
        "flight_number": f.number, "airline": f.airline, "origin": f.origin,
        "destination": f.destination, "departure_time": str(offer["departure"])[11:],
        "arrival_time": str(offer["arrival"])[11:],
        "arrival_day_offset": days, "duration_minutes": f.minutes, "aircraft": f.aircraft,
        "cabins": list(f.cabins), "schedule": "daily",
    }


def routes_from(city_name: str) -> list[str]:
    """Airport codes with a direct flight from the city's airports (for messages, tests)."""
    c = city(city_name)
    codes = {a.code for a in c.airports}
    return sorted({f.destination for f in flights().values() if f.origin in codes})
