"""The travel service: a real aiohttp app over the deterministic data of this package.

    python -m agent_travel.server --port 8765

``GET /tools`` returns the tool specs (``agent_travel.specs``); every tool is one JSON
endpoint (GET with query parameters, or POST with a JSON body for ``book_hotel``). Errors are
JSON too: ``{"error": "unknown city 'Pari'; did you mean 'Paris'?"}`` with a 4xx status.
For tests and examples: ``await start(port=0)`` in a running loop, or ``with background():``
from synchronous code (the server then runs in its own thread and event loop).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from agent_travel import catalog, flights, hotels
from agent_travel.catalog import BadRequest, NotFound
from agent_travel.specs import TOOL_SPECS

VERSION = "0.1.0"
Handler = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
BOOKINGS = web.AppKey("bookings", dict)


def _find_airports(city_name: str) -> dict[str, Any]:
    c = catalog.city(city_name)
    found: dict[str, Any] = {
        "city": c.name, "country": c.country,
        "airports": [{"code": a.code, "name": a.name} for a in c.airports],
    }
    if not c.airports:
        a, near, distance = catalog.nearest_airport(c)
        found["note"] = (f"{c.name} has no airport of its own; the nearest is {a.name} "
                         f"({a.code}) in {near.name}, {distance:.0f} km away")
    return found


def _airport_info(code: str) -> dict[str, Any]:
    a, c = catalog.airport(code)
    return {"code": a.code, "name": a.name, "city": c.name, "country": c.country,
            "timezone": c.timezone}


HANDLERS: dict[str, Handler] = {
    "find_airports": lambda a, _: _find_airports(a["city"]),
    "airport_info": lambda a, _: _airport_info(a["code"]),
    "search_flights": lambda a, _: flights.search(
        a["origin"], a["destination"], a["date"], a.get("cabin", "economy"),
        a.get("sort_by", "departure")),
    "cheapest_flight": lambda a, _: flights.cheapest(
        a["origin"], a["destination"], a["date"], a.get("cabin", "economy")),
    "get_flight": lambda a, _: flights.flight(a["flight_number"]),
    "search_hotels": lambda a, _: hotels.search(
        a["city"], a["check_in"], a["nights"], a.get("max_price"), a.get("min_stars")),
    "book_hotel": lambda a, state: hotels.book(
        state["bookings"], a["hotel_id"], a["check_in"], a["nights"], a["guest_name"]),
    "get_weather": lambda a, _: catalog.weather(a["city"], a["date"],
                                                a.get("units", "celsius")),
    "convert_currency": lambda a, _: catalog.convert(a["amount"], a["from_currency"],
                                                     a["to_currency"]),
    "exchange_rate": lambda a, _: catalog.exchange_rate(a["from_currency"], a["to_currency"]),
    "city_info": lambda a, _: catalog.city_info(a["city"]),
    "country_info": lambda a, _: catalog.country_info(a["country"]),
    "points_of_interest": lambda a, _: catalog.places(a["city"], a.get("category")),
    "time_difference": lambda a, _: catalog.time_difference(a["from_city"], a["to_city"],
                                                            a.get("date")),
}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _coerce(raw: str, schema: dict[str, Any]) -> Any:
    """A query-string value in the type its schema asks for (validation reports the rest)."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            number = float(raw)
            return int(number) if number.is_integer() and "." not in raw else number
        if kind == "boolean" and raw.lower() in ("true", "false", "1", "0"):
            return raw.lower() in ("true", "1")
    except ValueError:
        pass
    return raw


async def _arguments(request: web.Request, spec: dict[str, Any]) -> dict[str, Any]:
    props = spec["parameters"]["properties"]
    if request.method == "POST":
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadRequest("the request body must be a JSON object") from None
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object")
        return body
    return {k: _coerce(v, props.get(k, {})) for k, v in request.query.items()}


def _endpoint(spec: dict[str, Any]) -> Callable[[web.Request], Awaitable[web.Response]]:
    handler = HANDLERS[spec["name"]]
    validator = Draft202012Validator(spec["parameters"])

    async def endpoint(request: web.Request) -> web.Response:
        try:
            args = await _arguments(request, spec)
            error = best_match(validator.iter_errors(args))
            if error is not None:
                where = ".".join(map(str, error.absolute_path))
                if error.validator == "additionalProperties":
                    known = ", ".join(spec["parameters"]["properties"])
                    raise BadRequest(f"{error.message}; {spec['name']} takes: {known}")
                raise BadRequest(f"{where}: {error.message}" if where else error.message)
            return web.json_response(handler(args, {"bookings": request.app[BOOKINGS]}))
        except NotFound as exc:
            return _error(404, str(exc))
        except BadRequest as exc:
            return _error(400, str(exc))

    return endpoint


async def _tools(request: web.Request) -> web.Response:
    return web.json_response({"service": "agent-travel", "version": VERSION,
                              "tools": TOOL_SPECS})


async def _booking(request: web.Request) -> web.Response:
    try:
        found = hotels.get_booking(request.app[BOOKINGS], request.match_info["reference"])
    except NotFound as exc:
        return _error(404, str(exc))
    return web.json_response(found)


@web.middleware
async def _json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _error(exc.status, f"{exc.reason}: {request.method} {request.path} "
                                  "(GET /tools lists the endpoints)")
    except Exception as exc:  # a bug in the example service: say so, in JSON
        return _error(500, f"internal error: {type(exc).__name__}: {exc}")


def make_app() -> web.Application:
    """The aiohttp application; bookings live in memory, per application."""
    app = web.Application(middlewares=[_json_errors])
    app[BOOKINGS] = {}
    app.router.add_get("/tools", _tools)
    app.router.add_get("/bookings/{reference}", _booking)
    for spec in TOOL_SPECS:
        app.router.add_route(spec["http"]["method"], spec["http"]["path"], _endpoint(spec))
    return app


async def start(port: int = 0, host: str = "127.0.0.1") -> tuple[web.AppRunner, str]:
    """Serve in the running loop; returns (runner, base URL). ``await runner.cleanup()`` stops."""
    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    return runner, f"http://{host}:{bound}"


@contextmanager
def background(port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
    """Run the service in a thread with its own event loop; yields the base URL."""
    loop = asyncio.new_event_loop()
    ready: dict[str, Any] = {}
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            ready["runner"], ready["url"] = loop.run_until_complete(start(port, host))
        except BaseException as exc:
            ready["error"] = exc
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(ready["runner"].cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="agent-travel", daemon=True)
    thread.start()
    started.wait()
    if "error" in ready:
        loop.close()
        raise ready["error"]
    try:
        yield ready["url"]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agent_travel.server",
                                     description="Serve the example travel API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    url = f"http://{args.host}:{args.port}"
    print(f"agent-travel: serving {len(TOOL_SPECS)} tools on {url}")
    print(f"  export AGENT_TRAVEL_URL={url}")
    web.run_app(make_app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
