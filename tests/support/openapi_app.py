"""A small pet-store API with its OpenAPI spec, served by aiohttp on 127.0.0.1.

The server runs on its own event loop in a thread, as a remote API would: synchronous code
(loading a spec from a URL) and the test's own loop can both talk to it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

TOKEN = "zq7-unicorn-4411-opensesame"  # not shaped like a known secret: redaction can't help
API_KEY = "kx-walnut-9931-trellis"
SEEN = web.AppKey("seen", list)  # every request the app got, for the tests to inspect


OWNER = {"type": "object", "properties": {"owner_name": {"type": "string"}}}


def spec(version: str = "3.0", external: bool = False) -> dict[str, Any]:
    """The API's spec; 3.0 says ``nullable``, 3.1 uses type arrays. ``external``: the Owner
    schema is a reference to ``schemas/common.json``, relative to the spec's URL."""
    if version == "3.0":
        tag: dict[str, Any] = {"type": "string", "nullable": True}
    else:
        tag = {"type": ["string", "null"]}
    ref = "#/components/schemas/"
    pet_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    return {
        "openapi": "3.0.3" if version == "3.0" else "3.1.0",
        "info": {"title": "Pets", "version": "1"},
        "servers": [{"url": "/api"}],
        "paths": {
            "/pets": {
                "get": {
                    "operationId": "listPets", "summary": "List the pets",
                    "tags": ["pets"],
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {
                            "type": "integer", "minimum": 1, "exclusiveMaximum": True,
                            "maximum": 100} if version == "3.0" else {
                            "type": "integer", "minimum": 1, "exclusiveMaximum": 100}},
                        {"name": "tags", "in": "query", "schema": {
                            "type": "array", "items": {"type": "string"}}},
                    ],
                    "responses": {"200": {"description": "pets", "content": {
                        "application/json": {"schema": {
                            "type": "array", "items": {"$ref": ref + "Pet"}}}}}},
                },
                "post": {
                    "operationId": "createPet", "summary": "Add a pet",
                    "requestBody": {"$ref": "#/components/requestBodies/NewPet"},
                    "responses": {"201": {"$ref": "#/components/responses/OnePet"}},
                },
            },
            "/pets/{id}": {
                "parameters": [{"$ref": "#/components/parameters/PetId"}],
                "get": {
                    "operationId": "getPet", "description": "Find a pet by its id.\n\nMore.",
                    "responses": {"200": {"$ref": "#/components/responses/OnePet"},
                                  "404": {"description": "no such pet"}},
                },
                "put": {
                    "operationId": "updatePet",
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"type": "object", "required": ["id", "name"],
                                   "properties": {"id": {"type": "integer"},
                                                  "name": {"type": "string"}}}}}},
                    "responses": {"200": {"$ref": "#/components/responses/OnePet"}},
                },
                "delete": {"operationId": "deletePet",
                           "responses": {"204": {"description": "gone"}}},
            },
            "/whoami": {"get": {
                "operationId": "whoAmI",
                "parameters": [
                    {"name": "X-Request-Id", "in": "header", "required": True,
                     "schema": {"type": "string"}},
                    {"name": "Accept", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "echo", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "request_id": {"type": "string"}}}}}}},
            }},
            "/stats": {"get": {
                "operationId": "getStats",
                "responses": {"200": {"description": "stats", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "count": {"type": "integer"}}}}}}},
            }},
            "/boom": {"get": {"operationId": "boom", "responses": {"200": {
                "description": "never"}}}},
            "/slow": {"get": {"operationId": "slow", "responses": {"200": {
                "description": "late"}}}},
            "/trees": {"post": {
                "operationId": "countNodes",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": ref + "Node"}}}},
                "responses": {"200": {"description": "count", "content": {"application/json": {
                    "schema": {"$ref": ref + "Node"}}}}},
            }},
        },
        "components": {
            "schemas": {
                "Pet": {"type": "object", "required": ["id", "name"], "properties": {
                    "id": {"type": "integer", "readOnly": True},
                    "name": {"type": "string"},
                    "tag": tag,
                    "owner": {"$ref": ref + "Owner"},
                }},
                "Owner": {"$ref": "schemas/common.json#/Owner"} if external else OWNER,
                "Node": {"type": "object", "required": ["value"], "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": ref + "Node"}},
                }},
            },
            "parameters": {"PetId": pet_id},
            "requestBodies": {"NewPet": {"required": True, "content": {"application/json": {
                "schema": {"$ref": ref + "Pet"}}}}},
            "responses": {"OnePet": {"description": "a pet", "content": {"application/json": {
                "schema": {"$ref": ref + "Pet"}}}}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def make_app(version: str = "3.0", external: bool = False) -> web.Application:
    """Serves ``/openapi.json`` and the API under ``/api``; writes need the bearer token."""
    pets: dict[int, dict[str, Any]] = {1: {"id": 1, "name": "Rex", "tag": "dog"}}
    seen: list[dict[str, Any]] = []  # every request, for the tests to inspect

    def authorized(request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        seen.append({"method": request.method, "path": request.path,
                     "raw_path": request.raw_path,
                     "query": list(request.query.items()),
                     "headers": dict(request.headers)})
        return await handler(request)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(spec(version, external))

    async def common(request: web.Request) -> web.Response:
        return web.json_response({"Owner": OWNER})

    async def list_pets(request: web.Request) -> web.Response:
        limit = int(request.query.get("limit", "100"))
        tags = set(request.query.getall("tags", []))
        found = [p for p in pets.values() if not tags or p.get("tag") in tags]
        return web.json_response(found[:limit])

    async def create_pet(request: web.Request) -> web.Response:
        if not authorized(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        body = await request.json()
        pet = {"id": max(pets) + 1, **body}
        pets[pet["id"]] = pet
        return web.json_response(pet, status=201)

    async def get_pet(request: web.Request) -> web.Response:
        key = request.match_info["id"]
        pet = pets.get(int(key)) if key.isdigit() else None
        if pet is None:
            return web.json_response({"error": f"no pet {request.match_info['id']}"},
                                     status=404)
        return web.json_response(pet)

    async def update_pet(request: web.Request) -> web.Response:
        if not authorized(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        body = await request.json()
        pet = {**body, "path_id": int(request.match_info["id"])}
        return web.json_response(pet)

    async def delete_pet(request: web.Request) -> web.Response:
        if not authorized(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        pets.pop(int(request.match_info["id"]), None)
        return web.Response(status=204)

    async def whoami(request: web.Request) -> web.Response:
        return web.json_response({"request_id": request.headers.get("X-Request-Id")})

    async def stats(request: web.Request) -> web.Response:
        key = request.headers.get("X-API-Key") or request.query.get("api_key")
        if key != API_KEY:
            return web.json_response({"error": "bad key"}, status=403)
        return web.json_response({"count": len(pets)})

    async def boom(request: web.Request) -> web.Response:
        return web.Response(status=500, text="database on fire")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.json_response({})

    async def trees(request: web.Request) -> web.Response:
        def count(node: dict[str, Any]) -> int:
            return 1 + sum(count(c) for c in node.get("children", []))

        return web.json_response({"value": count(await request.json())})

    app = web.Application(middlewares=[record])
    app[SEEN] = seen
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/schemas/common.json", common)
    app.router.add_get("/api/pets", list_pets)
    app.router.add_post("/api/pets", create_pet)
    app.router.add_get("/api/pets/{id}", get_pet)
    app.router.add_put("/api/pets/{id}", update_pet)
    app.router.add_delete("/api/pets/{id}", delete_pet)
    app.router.add_get("/api/whoami", whoami)
    app.router.add_get("/api/stats", stats)
    app.router.add_get("/api/boom", boom)
    app.router.add_get("/api/slow", slow)
    app.router.add_post("/api/trees", trees)
    return app


@contextmanager
def serve(app: web.Application) -> Iterator[str]:
    """Run ``app`` on 127.0.0.1 (a free port) in a thread; yields its root URL."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    ready = threading.Event()
    port: list[int] = []

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port.append(runner.addresses[0][1])
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{port[0]}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
