"""Hotels in every city, their nightly rates, and bookings (the one endpoint with side effects).

A booking reference is a hash of what was booked, so booking the same room twice gives the
same confirmation: an evaluation can replay a gold plan and compare results.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from agent_travel.catalog import (
    BadRequest,
    NotFound,
    city,
    country_of,
    fold,
    from_euros,
    parse_date,
    stable,
    suggest,
)
from agent_travel.world import CITIES, HOTEL_DISTRICTS, HOTEL_NAMES, City

HOTELS_PER_CITY = 7
STAR_FACTOR = {2: 0.55, 3: 1.0, 4: 1.5, 5: 2.4}
SEASON = {1: 0.85, 2: 0.85, 6: 1.2, 7: 1.2, 8: 1.2, 12: 1.1}
MAX_NIGHTS = 30


@dataclass(frozen=True)
class Hotel:
    id: str
    name: str
    city: City
    stars: int
    district: str
    euros: float  # a night in an ordinary month
    guest_rating: float


@cache
def hotels() -> dict[str, Hotel]:
    out: dict[str, Hotel] = {}
    for c in CITIES:
        chosen = sorted(HOTEL_NAMES, key=lambda t: stable(c.name, t[0]))[:HOTELS_PER_CITY]
        chosen.sort(key=HOTEL_NAMES.index)
        for i, (template, stars, district) in enumerate(chosen, 1):
            hid = f"H-{c.code}-{i:02d}"
            seed = stable(hid)
            out[hid] = Hotel(
                hid, template.format(city=c.name), c, stars,
                district or HOTEL_DISTRICTS[seed % len(HOTEL_DISTRICTS)],
                c.hotel_eur * STAR_FACTOR[stars] * (0.9 + seed % 25 / 100),
                round(6.8 + seed % 28 / 10, 1),
            )
    return out


def hotel(hotel_id: str) -> Hotel:
    key = hotel_id.strip().upper()
    found = hotels().get(key)
    if found is None:
        raise suggest("hotel id", hotel_id, list(hotels()),
                       "; hotel ids look like 'H-ROM-01' (search_hotels lists them)")
    return found


def _nightly(h: Hotel, check_in: date) -> int:
    return from_euros(h.euros * SEASON.get(check_in.month, 1.0), country_of(h.city).currency)


def _stay(check_in_text: str, nights: int) -> tuple[date, date]:
    check_in = parse_date(check_in_text, bookable=True, field="check_in")
    if not 1 <= nights <= MAX_NIGHTS:
        raise BadRequest(f"nights must be between 1 and {MAX_NIGHTS}, got {nights}")
    return check_in, check_in + timedelta(days=nights)


def search(city_name: str, check_in_text: str, nights: int, max_price: float | None = None,
           min_stars: int | None = None) -> dict[str, Any]:
    c = city(city_name)
    check_in, check_out = _stay(check_in_text, nights)
    money = country_of(c).currency
    found: list[dict[str, Any]] = []
    for h in hotels().values():
        if h.city is not c or (min_stars is not None and h.stars < min_stars):
            continue
        night = _nightly(h, check_in)
        if max_price is not None and night > max_price:
            continue
        found.append({"hotel_id": h.id, "name": h.name, "stars": h.stars,
                      "district": h.district, "guest_rating": h.guest_rating,
                      "price_per_night": night, "total_price": night * nights,
                      "currency": money})
    found.sort(key=lambda r: (r["price_per_night"], r["hotel_id"]))
    return {"city": c.name, "check_in": check_in.isoformat(), "check_out": check_out.isoformat(),
            "nights": nights, "currency": money, "count": len(found), "hotels": found}


def _reference(h: Hotel, check_in: date, nights: int, guest: str) -> str:
    digest = hashlib.sha256(f"{h.id}|{check_in}|{nights}|{fold(guest)}".encode()).digest()
    return "TRV-" + base64.b32encode(digest).decode()[:6]


def book(bookings: dict[str, dict[str, Any]], hotel_id: str, check_in_text: str, nights: int,
         guest_name: str) -> dict[str, Any]:
    h = hotel(hotel_id)
    check_in, check_out = _stay(check_in_text, nights)
    guest = " ".join(guest_name.split())
    if not guest:
        raise BadRequest("guest_name must not be empty")
    night = _nightly(h, check_in)
    reference = _reference(h, check_in, nights, guest)
    booking: dict[str, Any] = {
        "booking_reference": reference, "status": "confirmed", "hotel_id": h.id,
        "hotel_name": h.name, "city": h.city.name, "guest_name": guest,
        "check_in": check_in.isoformat(), "check_out": check_out.isoformat(), "nights": nights,
        "total_price": night * nights, "currency": country_of(h.city).currency,
    }
    bookings[reference] = booking
    return booking


def get_booking(bookings: dict[str, dict[str, Any]], reference: str) -> dict[str, Any]:
    found = bookings.get(reference.strip().upper())
    if found is None:
        raise NotFound(f"no booking with reference {reference!r}")
    return found
