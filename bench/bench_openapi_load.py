"""Loading a 1,000-operation OpenAPI spec into tools (``tools_from_openapi``).

The spec is generated: 250 resources with list/create/get/delete operations, parameters and
bodies that share ``components`` (schemas, parameters, responses) through ``$ref``s, one
recursive schema. Each run loads the spec file from disk into tools. The baseline, measured
in the same run, is ``json.load`` of the same file: the floor any loader has to pay.

Prints JSON lines: one per measurement and a summary with medians and the ratio.

    python bench/bench_openapi_load.py [--operations 1000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.plugins.openapi import tools_from_openapi

REF = "#/components/schemas/"


def make_spec(operations: int) -> dict[str, Any]:
    """A spec with ``operations`` operations (4 per resource path pair)."""
    paths: dict[str, Any] = {}
    for i in range((operations + 3) // 4):
        item = f"Item{i % 25}"
        paths[f"/r{i}"] = {
            "get": {"operationId": f"list{i}", "summary": f"List the r{i} records",
                    "parameters": [{"$ref": "#/components/parameters/Limit"},
                                   {"$ref": "#/components/parameters/Cursor"},
                                   {"name": "q", "in": "query", "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "page", "content": {
                        "application/json": {"schema": {"$ref": REF + "Page"}}}},
                        "default": {"$ref": "#/components/responses/Error"}}},
            "post": {"operationId": f"create{i}", "summary": f"Create an r{i} record",
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"$ref": REF + item}}}},
                     "responses": {"201": {"description": "made", "content": {
                         "application/json": {"schema": {"$ref": REF + item}}}}}},
        }
        paths[f"/r{i}/{{id}}"] = {
            "parameters": [{"$ref": "#/components/parameters/Id"}],
            "get": {"operationId": f"get{i}", "summary": f"Get one r{i} record",
                    "parameters": [{"name": "X-Trace", "in": "header",
                                    "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "one", "content": {
                        "application/json": {"schema": {"$ref": REF + item}}}},
                        "404": {"$ref": "#/components/responses/Error"}}},
            "delete": {"operationId": f"delete{i}", "summary": f"Delete an r{i} record",
                       "responses": {"204": {"description": "gone"}}},
        }
    schemas: dict[str, Any] = {
        "Page": {"type": "object", "properties": {
            "items": {"type": "array", "items": {"$ref": REF + "Item0"}},
            "next": {"type": "string", "nullable": True}}},
        "Error": {"type": "object", "required": ["code"], "properties": {
            "code": {"type": "integer"}, "message": {"type": "string"}}},
        "Address": {"type": "object", "properties": {
            "street": {"type": "string"}, "city": {"type": "string"},
            "country": {"type": "string", "enum": ["FR", "DE", "US", "JP"]}}},
        "Category": {"type": "object", "properties": {
            "name": {"type": "string"}, "parent": {"$ref": REF + "Category"}}},
    }
    for n in range(25):
        schemas[f"Item{n}"] = {"type": "object", "required": ["name"], "properties": {
            "id": {"type": "integer", "readOnly": True},
            "name": {"type": "string", "minLength": 1},
            "price": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
            "tags": {"type": "array", "items": {"type": "string"}},
            "address": {"$ref": REF + "Address"},
            "category": {"$ref": REF + "Category"},
        }}
    return {
        "openapi": "3.0.3",
        "info": {"title": "bench", "version": "1"},
        "servers": [{"url": "https://api.example.com/v1"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": {
                "Id": {"name": "id", "in": "path", "required": True,
                       "schema": {"type": "integer"}},
                "Limit": {"name": "limit", "in": "query",
                          "schema": {"type": "integer", "maximum": 100}},
                "Cursor": {"name": "cursor", "in": "query", "schema": {"type": "string"}},
            },
            "responses": {"Error": {"description": "error", "content": {"application/json": {
                "schema": {"$ref": REF + "Error"}}}}},
        },
    }


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--operations", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.json"
        path.write_text(json.dumps(make_spec(opts.operations)))
        count = len(tools_from_openapi(path))  # warm-up: imports, and a sanity check
        load_ms, base_ms = [], []
        for i in range(opts.rounds):
            base_ms.append(timed(lambda: json.loads(path.read_text())))
            load_ms.append(timed(lambda: tools_from_openapi(path)))
            print(json.dumps({"bench": "openapi_load", "run": i, "operations": count,
                              "tools_from_openapi_ms": round(load_ms[-1], 2),
                              "json_load_ms": round(base_ms[-1], 2)}))
        load, base = statistics.median(load_ms), statistics.median(base_ms)
        print(json.dumps({
            "bench": "openapi_load", "summary": True, "operations": count,
            "spec_bytes": path.stat().st_size, "rounds": opts.rounds,
            "median_ms": round(load, 2), "baseline_json_load_median_ms": round(base, 2),
            "ratio": round(load / base, 1), "per_operation_us": round(load / count * 1000, 1),
        }))


if __name__ == "__main__":
    main()
