"""The tool specs ``GET /tools`` serves: JSON Schemas for arguments and results, with types.

Every argument and every meaningful result field carries ``"x-type"``: a snake_case concept
shared by the tools that produce it and the tools that consume it. A planner chains tools on
these (``find_airports`` produces an ``airport_code``, ``search_flights`` consumes two). Roles
(departure or arrival airport) are in the parameter names and descriptions, not in the type.
"""

from __future__ import annotations

from typing import Any

from agent_travel.flights import CABINS, SORT_KEYS
from agent_travel.world import CITIES, COUNTRIES, CURRENCY_NAMES, PLACE_CATEGORIES

CURRENCY_LIST = ", ".join(f"{code} ({name})" for code, name in CURRENCY_NAMES.items())


def _t(kind: str, x_type: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "x-type": x_type, "description": description, **extra}


def _s(x_type: str, description: str, **extra: Any) -> dict[str, Any]:
    return _t("string", x_type, description, **extra)


def _obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **extra}


def _list(item: dict[str, Any], description: str) -> dict[str, Any]:
    return {"type": "array", "items": item, "description": description}


DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
CITY = _s("city", "city name, e.g. Paris")
COUNTRY = _s("country", "country name, e.g. France")
AIRPORT = _s("airport_code", "three-letter IATA airport code, e.g. CDG")
CURRENCY = _s("currency_code", f"ISO 4217 currency code: {CURRENCY_LIST}",
              enum=list(CURRENCY_NAMES))
AMOUNT = _t("number", "amount", "an amount of money")
DATE = _s("date", "a date, YYYY-MM-DD")


def _currency(description: str) -> dict[str, Any]:
    return {**CURRENCY, "description": f"{description}, as an ISO 4217 code: {CURRENCY_LIST}"}


def _date(description: str) -> dict[str, Any]:
    return _s("date", f"{description}, YYYY-MM-DD", pattern=DATE_PATTERN)


FLIGHT = _obj({
    "flight_number": _s("flight_number", "airline code and number"),
    "airline": _s("airline", "the operating airline"),
    "origin": _s("airport_code", "IATA code of the departure airport"),
    "destination": _s("airport_code", "IATA code of the arrival airport"),
    "date": _s("date", "day of departure"),
    "departure": _s("datetime", "local departure date and time, YYYY-MM-DDTHH:MM"),
    "arrival": _s("datetime", "local arrival date and time, YYYY-MM-DDTHH:MM"),
    "duration_minutes": _t("integer", "duration_minutes", "flight time in minutes"),
    "cabin": _s("cabin_class", "travel class of the fare"),
    "price": _t("number", "amount", "fare for one passenger, in `currency`"),
    "currency": _s("currency_code", "currency of the fare (the departure country's)"),
    "seats_left": _t("integer", "count", "seats left at this fare"),
})

FLIGHT_ROUTE = {
    "origin": _s("airport_code", "IATA code of the departure airport (flying from), e.g. CDG",
                 pattern="^[A-Za-z]{3}$"),
    "destination": _s("airport_code", "IATA code of the arrival airport (flying to), e.g. FCO",
                      pattern="^[A-Za-z]{3}$"),
    "date": _date("day of departure"),
    "cabin": _s("cabin_class", "travel class", enum=list(CABINS), default="economy"),
}

HOTEL = _obj({
    "hotel_id": _s("hotel_id", "the hotel's id, used to book it"),
    "name": _s("hotel_name", "the hotel's name"),
    "stars": _t("integer", "star_rating", "official star rating"),
    "district": _s("district", "where in the city"),
    "guest_rating": _t("number", "rating", "average guest score out of 10"),
    "price_per_night": _t("number", "amount", "price of one night, in `currency`"),
    "total_price": _t("number", "amount", "price of the whole stay, in `currency`"),
    "currency": _s("currency_code", "the local currency the prices are in"),
})

STAY = {
    "check_in": _date("check-in (arrival) date"),
    "nights": _t("integer", "nights", "number of nights to stay", minimum=1, maximum=30),
}


# Values a person would say, per concept: what `agent generate` samples arguments from.
PARAM_EXAMPLES: dict[str, list[str]] = {
    "city": [c.name for c in CITIES],
    "country": [c.name for c in COUNTRIES],
    "airport_code": [c.airports[0].code for c in CITIES if c.airports],
    "person_name": ["Maria Rossi", "John Smith", "Aiko Tanaka", "Lars Nilsson",
                    "Anna Kowalska", "Pierre Martin", "Sofia García", "Jan Novák"],
}
BOOKABLE = ("2026-01-01", "2027-12-31")  # the days flights and hotels can be searched


def _annotate(params: dict[str, Any]) -> dict[str, Any]:
    """Give parameters the examples and date range that generated queries draw from."""
    out = {}
    for name, schema in params.items():
        schema = dict(schema)
        examples = PARAM_EXAMPLES.get(schema.get("x-type", ""))
        if examples and "enum" not in schema:
            schema["examples"] = examples
        if schema.get("x-type") == "date":
            schema.update({"format": "date", "formatMinimum": BOOKABLE[0],
                           "formatMaximum": BOOKABLE[1]})
        out[name] = schema
    return out


def _spec(name: str, description: str, params: dict[str, Any], required: list[str],
          output: dict[str, Any], examples: list[str], path: str, *, method: str = "GET",
          side_effects: bool = False, templates: list[str] | None = None) -> dict[str, Any]:
    return {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": _annotate(params),
                       "required": required, "additionalProperties": False},
        "output_schema": output, "examples": examples, "side_effects": side_effects,
        "templates": templates or [], "http": {"method": method, "path": path},
    }


TOOL_SPECS: list[dict[str, Any]] = [
    _spec("find_airports",
          "Find the airports that serve a city, with their IATA codes, main airport first. "
          "Flights are searched by airport code: use this to turn a city into codes.",
          {"city": {**CITY, "description": "the city to find airports for, e.g. Paris"}},
          ["city"],
          _obj({"city": CITY, "country": COUNTRY,
                "airports": _list(_obj({"code": AIRPORT,
                                        "name": _s("airport_name", "the airport's name")}),
                                  "the city's airports, main airport first"),
                "note": {"type": "string", "description": "the nearest airport, if none"}}),
          ["which airports are there in London", "airport code for Tokyo",
           "what airport do I fly into for Rome", "IATA code of the Barcelona airport"],
          "/airports",
          templates=[
           'Which airports are there in {city}?',
           'What is the airport code for {city}?',
           'I need the IATA code of the main airport in {city}.']),
    _spec("airport_info",
          "Look up an airport by its IATA code: its name, the city it serves, the country and "
          "the time zone.",
          {"code": {**AIRPORT, "pattern": "^[A-Za-z]{3}$"}}, ["code"],
          _obj({"code": AIRPORT, "name": _s("airport_name", "the airport's name"),
                "city": {**CITY, "description": "the city the airport serves"},
                "country": COUNTRY, "timezone": _s("timezone", "IANA time zone")}),
          ["which city is airport MXP in", "what airport is LGW", "where is JFK"],
          "/airports/info",
          templates=[
           'Which city is airport {code} in?',
           'Tell me about the airport {code}.',
           'What time zone is airport {code} in?']),
    _spec("search_flights",
          "Search the direct flights from one airport to another on a given day: flight "
          "numbers, airlines, local departure and arrival times, and fares (in the currency of "
          "the departure country).",
          {**FLIGHT_ROUTE,
           "sort_by": _s("sort_key", "order of the results", enum=list(SORT_KEYS),
                         default="departure")},
          ["origin", "destination", "date"],
          _obj({"origin": FLIGHT["properties"]["origin"],
                "destination": FLIGHT["properties"]["destination"],
                "date": FLIGHT["properties"]["date"],
                "cabin": FLIGHT["properties"]["cabin"],
                "count": _t("integer", "count", "how many flights were found"),
                "flights": _list(FLIGHT, "the flights found")}),
          ["flights from CDG to FCO on 2026-12-03", "show me flights from LHR to JFK on Friday",
           "business class flights from MAD to LIS", "what flights go from OSL to CPH"],
          "/flights",
          templates=[
           'Which flights are there from {origin} to {destination} on {date}?',
           'Show me the flights from {origin} to {destination} on {date}, sorted by {sort_by}.',
           'I want to fly {cabin} from {origin} to {destination} on {date}. What are my options?']),
    _spec("cheapest_flight",
          "Find the cheapest direct flight from one airport to another on a given day, in a "
          "given travel class.",
          FLIGHT_ROUTE, ["origin", "destination", "date"], FLIGHT,
          ["cheapest flight from CDG to FCO on 3 December", "lowest fare from LHR to JFK",
           "least expensive business class ticket from MUC to BER"],
          "/flights/cheapest",
          templates=[
           'What is the cheapest flight from {origin} to {destination} on {date}?',
           'Find me the lowest {cabin} fare from {origin} to {destination} on {date}.']),
    _spec("get_flight",
          "Look up a scheduled flight by its flight number: airline, departure and arrival "
          "airports, local departure and arrival times, duration and aircraft.",
          {"flight_number": _s("flight_number", "airline code and number, e.g. AF136",
                               pattern=r"^\s*[A-Za-z0-9]{2}\s*\d{1,4}\s*$")},
          ["flight_number"],
          _obj({"flight_number": FLIGHT["properties"]["flight_number"],
                "airline": FLIGHT["properties"]["airline"],
                "origin": FLIGHT["properties"]["origin"],
                "destination": FLIGHT["properties"]["destination"],
                "departure_time": _s("time", "local departure time, HH:MM"),
                "arrival_time": _s("time", "local arrival time, HH:MM"),
                "arrival_day_offset": _t("integer", "day_offset", "1 if it lands the next day"),
                "duration_minutes": FLIGHT["properties"]["duration_minutes"],
                "aircraft": _s("aircraft", "aircraft type"),
                "cabins": _list(_s("cabin_class", "a travel class"), "classes on board"),
                "schedule": {"type": "string", "description": "days of operation"}}),
          ["tell me about flight LH1234", "when does flight AF136 leave",
           "where does flight BA123 go", "what plane flies SK450"],
          "/flights/info",
          templates=[
           'Tell me more about the first flight from {search_flights.origin} to '
           '{search_flights.destination} on {search_flights.date}.',
           'What aircraft flies the cheapest flight from {cheapest_flight.origin} to '
           '{cheapest_flight.destination} on {cheapest_flight.date}?']),
    _spec("search_hotels",
          "Search hotels in a city for a stay, cheapest first, with the price per night and "
          "the total price in the local currency.",
          {"city": {**CITY, "description": "the city to stay in"}, **STAY,
           "max_price": {**AMOUNT, "minimum": 0,
                         "description": "highest price per night, in the local currency"},
           "min_stars": _t("integer", "star_rating", "lowest acceptable star rating",
                           minimum=1, maximum=5)},
          ["city", "check_in", "nights"],
          _obj({"city": CITY, "check_in": DATE, "check_out": _s("date", "check-out date"),
                "nights": STAY["nights"], "currency": HOTEL["properties"]["currency"],
                "count": _t("integer", "count", "how many hotels were found"),
                "hotels": _list(HOTEL, "the hotels found, cheapest first")}),
          ["hotels in Rome from 3 December for 2 nights", "find a cheap hotel in Lisbon",
           "four-star hotels in Paris under 200 euros a night", "where can I stay in Tokyo"],
          "/hotels",
          templates=[
           'Find hotels in {city} from {check_in} for {nights} nights.',
           'I need a hotel in {city} with at least {min_stars} stars, checking in on {check_in} '
           'for {nights} nights.',
           'Which hotels in {city} cost at most {max_price} a night, from {check_in} for '
           '{nights} nights?']),
    _spec("book_hotel",
          "Book a room at a hotel for a stay, by the hotel id that search_hotels gives; "
          "returns the booking reference. This makes a reservation.",
          {"hotel_id": _s("hotel_id", "id of the hotel, e.g. H-ROM-02 (from search_hotels)"),
           **STAY, "guest_name": _s("person_name", "full name of the guest", minLength=1)},
          ["hotel_id", "check_in", "nights", "guest_name"],
          _obj({"booking_reference": _s("booking_reference", "confirmation code"),
                "status": {"type": "string", "description": "booking status"},
                "hotel_id": HOTEL["properties"]["hotel_id"],
                "hotel_name": HOTEL["properties"]["name"], "city": CITY,
                "guest_name": _s("person_name", "the guest"), "check_in": DATE,
                "check_out": _s("date", "check-out date"), "nights": STAY["nights"],
                "total_price": HOTEL["properties"]["total_price"],
                "currency": HOTEL["properties"]["currency"]}),
          ["book hotel H-ROM-02 for Maria Rossi", "reserve a room at the cheapest hotel",
           "make a hotel reservation for two nights"],
          "/bookings", method="POST", side_effects=True,
          templates=[
           'Book the cheapest hotel in {search_hotels.city} from {check_in} for {nights} nights '
           'for {guest_name}.']),
    _spec("get_weather",
          "The weather forecast for a city on a given day: conditions, high and low "
          "temperature, precipitation and humidity.",
          {"city": {**CITY, "description": "the city to get the weather for"},
           "date": _date("the day of the forecast"),
           "units": _s("temperature_unit", "temperature units",
                       enum=["celsius", "fahrenheit"], default="celsius")},
          ["city", "date"],
          _obj({"city": CITY, "date": DATE,
                "condition": _s("weather_condition", "e.g. sunny, rain, snow"),
                "high": _t("number", "temperature", "highest temperature of the day"),
                "low": _t("number", "temperature", "lowest temperature of the day"),
                "units": _s("temperature_unit", "celsius or fahrenheit"),
                "precipitation_mm": _t("number", "precipitation", "rain or snow, mm"),
                "humidity_percent": _t("number", "percentage", "relative humidity")}),
          ["weather in Oslo on 1 December", "will it rain in London on Friday",
           "how warm will it be in Rome in fahrenheit", "forecast for Tokyo"],
          "/weather",
          templates=[
           'What will the weather be in {city} on {date}?',
           'Weather forecast for {city} on {date} in {units}, please.',
           'What will the weather be in the capital of {country_info.country} on {date}?']),
    _spec("convert_currency",
          "Convert an amount of money from one currency to another.",
          {"amount": {**AMOUNT, "minimum": 0, "description": "the amount of money to convert"},
           "from_currency": _currency("the currency the amount is in (convert from)"),
           "to_currency": _currency("the currency to convert into (convert to)")},
          ["amount", "from_currency", "to_currency"],
          _obj({"original_amount": {**AMOUNT, "description": "the amount given"},
                "from_currency": CURRENCY,
                "converted_amount": {**AMOUNT, "description": "the amount in to_currency"},
                "to_currency": CURRENCY,
                "rate": _t("number", "exchange_rate", "units of to_currency per from_currency")}),
          ["convert 100 EUR to NOK", "how much is 50 dollars in euros",
           "what is 2500 yen in pounds"],
          "/currency/convert",
          templates=[
           'Convert {amount} {from_currency} to {to_currency}.',
           'How much is {amount} {from_currency} in {to_currency}?',
           'How much is {amount} {from_currency} in the local currency of {city_info.city}?']),
    _spec("exchange_rate",
          "The exchange rate between two currencies: how many units of the second one unit "
          "of the first buys.",
          {"from_currency": _currency("the currency to exchange (from)"),
           "to_currency": _currency("the currency to get (to)")},
          ["from_currency", "to_currency"],
          _obj({"from_currency": CURRENCY, "to_currency": CURRENCY,
                "rate": _t("number", "exchange_rate", "units of to_currency per from_currency"),
                "inverse_rate": _t("number", "exchange_rate",
                                   "units of from_currency per to_currency")}),
          ["exchange rate from EUR to USD", "how many Swiss francs for one euro",
           "dollar to yen rate"],
          "/currency/rate",
          templates=[
           'What is the exchange rate from {from_currency} to {to_currency}?',
           'How many {to_currency} do I get for one {from_currency}?',
           'What is the exchange rate between {from_currency} and the currency of '
           '{country_info.country}?']),
    _spec("city_info",
          "Facts about a city: its country, local currency, time zone, population and "
          "languages.",
          {"city": {**CITY, "description": "the city to describe"}}, ["city"],
          _obj({"city": CITY, "country": COUNTRY,
                "currency": {**CURRENCY, "description": "the local currency"},
                "currency_name": _s("currency_name", "name of the local currency"),
                "timezone": _s("timezone", "IANA time zone"),
                "population": _t("integer", "population", "inhabitants"),
                "languages": _list(_s("language", "a language"), "languages spoken")}),
          ["what currency do they use in Prague", "what time zone is Tokyo in",
           "which country is Zurich in", "what language do they speak in Barcelona"],
          "/cities/info",
          templates=[
           'What currency do they use in {city}?',
           'Which country is {city} in?',
           'What time zone is {city} in?',
           'Tell me about {city}.']),
    _spec("country_info",
          "Facts about a country: its capital, currency, languages, international calling "
          "code, and the cities this service covers there.",
          {"country": {**COUNTRY, "description": "the country to describe"}}, ["country"],
          _obj({"country": COUNTRY, "capital": {**CITY, "description": "the capital city"},
                "currency": {**CURRENCY, "description": "the national currency"},
                "currency_name": _s("currency_name", "name of the currency"),
                "languages": _list(_s("language", "a language"), "official languages"),
                "calling_code": _s("calling_code", "international calling code"),
                "cities": _list(CITY, "cities covered by this service")}),
          ["what is the capital of Norway", "currency of Japan", "calling code for Poland",
           "which languages are spoken in Switzerland"],
          "/countries/info",
          templates=[
           'What is the capital of {country}?',
           'Which currency does {country} use?',
           'What is the calling code for {country}?']),
    _spec("points_of_interest",
          "Things to see in a city (museums, landmarks, parks, markets), best rated first.",
          {"city": {**CITY, "description": "the city to visit"},
           "category": _s("place_category", "only places of this kind",
                          enum=list(PLACE_CATEGORIES))},
          ["city"],
          _obj({"city": CITY, "category": _s("place_category", "the kind asked for, if any"),
                "places": _list(_obj({"name": _s("place_name", "the place"),
                                      "category": _s("place_category", "its kind"),
                                      "rating": _t("number", "rating", "out of 5")}),
                                "the places, best rated first")}),
          ["museums in Madrid", "what should I see in Rome", "parks in Tokyo",
           "sightseeing in Prague"],
          "/places",
          templates=[
           'What should I see in {city}?',
           'Which {category}s are worth visiting in {city}?',
           'What are the best places to visit in the capital of {country_info.country}?']),
    _spec("time_difference",
          "The time difference between two cities: how many hours the second city is ahead "
          "of the first (negative when behind), on a given day since daylight saving time "
          "matters (without a date: winter time).",
          {"from_city": {**CITY, "description": "the city to compare from"},
           "to_city": {**CITY, "description": "the city to compare to"},
           "date": _date("the day to compare on (optional)")},
          ["from_city", "to_city"],
          _obj({"from_city": CITY, "to_city": CITY, "date": DATE,
                "from_utc_offset": _s("utc_offset", "from_city's offset from UTC, +HH:MM"),
                "to_utc_offset": _s("utc_offset", "to_city's offset from UTC, +HH:MM"),
                "hours": _t("number", "hours", "hours to_city is ahead of from_city"),
                "summary": {"type": "string", "description": "the difference in words"}}),
          ["time difference between London and New York", "how many hours ahead is Tokyo",
           "what time is it in Oslo compared to Washington"],
          "/time-difference",
          templates=[
           'What is the time difference between {from_city} and {to_city}?',
           'How many hours ahead of {from_city} is {to_city} on {date}?']),
]
