"""OpenAPI specs as tools, against a real aiohttp API on 127.0.0.1 that also serves its spec."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from support.openapi_app import API_KEY, SEEN, TOKEN, make_app, serve, spec

from agent.errors import AgentError, UsageError
from agent.plugins.openapi import OpenAPIError, tools_from_config, tools_from_openapi
from agent.runtime import Agent
from agent.types import Tool, ToolResult

ALLOW = {"http_allow": "127.0.0.1"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENT_HTTP_ALLOW_PRIVATE", raising=False)
    monkeypatch.delenv("AGENT_HTTP_ALLOW", raising=False)
    monkeypatch.setenv("PETS_TOKEN", TOKEN)
    monkeypatch.setenv("PETS_KEY", API_KEY)


@pytest.fixture(params=["3.0", "3.1"])
def api(request: pytest.FixtureRequest) -> Iterator[str]:
    with serve(make_app(request.param)) as root:
        yield root


@pytest.fixture
def api30() -> Iterator[str]:
    with serve(make_app("3.0")) as root:
        yield root


def by_name(tools: list[Tool]) -> dict[str, Tool]:
    return {t.name: t for t in tools}


async def call(tools: list[Tool], name: str, args: dict[str, Any], *,
               settings: dict[str, Any] | None = ALLOW, approve: bool = True,
               store: Any = False) -> ToolResult:
    agent = Agent(tools=tools, store=store, settings=settings, approve=approve or None)
    try:
        [result] = await agent.execute([{"name": name, "args": args}])
        await agent.aflush()
    finally:
        agent.close()
    return result


# Loading ------------------------------------------------------------------------------------
def test_loads_one_tool_per_operation_from_url(api: str) -> None:
    tools = by_name(tools_from_openapi(api + "/openapi.json", bearer_token_env="PETS_TOKEN"))
    assert list(tools) == ["listPets", "createPet", "getPet", "updatePet", "deletePet",
                           "whoAmI", "getStats", "boom", "slow", "countNodes"]
    assert [n for n, t in tools.items() if t.side_effects] == [
        "createPet", "updatePet", "deletePet", "countNodes"]
    assert tools["listPets"].description == "List the pets."
    assert tools["getPet"].description == "Find a pet by its id."  # first paragraph only
    assert tools["deletePet"].description == "DELETE /pets/{id}"
    assert tools["listPets"].tags == ("openapi", "pets")

    # query parameters, with 3.0's boolean exclusiveMaximum made a number
    limit = tools["listPets"].parameters["properties"]["limit"]
    assert limit == {"type": "integer", "minimum": 1, "exclusiveMaximum": 100}
    assert not tools["listPets"].is_valid({"limit": 100})
    # a path parameter from the path item, through components/parameters: required
    assert tools["getPet"].parameters["required"] == ["id"]
    # the body's properties are arguments; readOnly "id" is not something one sends
    create = tools["createPet"].parameters
    assert set(create["properties"]) == {"name", "tag", "owner"}
    assert create["required"] == ["name"]
    assert create["properties"]["tag"]["type"] == ["string", "null"]  # nullable (3.0) too
    assert tools["createPet"].is_valid({"name": "Tom", "tag": None})
    assert not tools["createPet"].is_valid({"name": "Tom", "id": 3})  # no unknown arguments
    # the response keeps "id": the output schema is what the planner chains on
    out = tools["getPet"].output_schema
    assert out is not None and set(out["properties"]) == {"id", "name", "tag", "owner"}
    assert tools["listPets"].output_schema["items"]["required"] == ["id", "name"]
    # Accept is not a parameter (OpenAPI ignores it); X-Request-Id is
    assert set(tools["whoAmI"].parameters["properties"]) == {"X-Request-Id"}
    for tool in tools.values():
        Draft202012Validator.check_schema(tool.parameters)


def test_a_name_used_in_two_places_is_prefixed_with_its_place(api30: str) -> None:
    update = by_name(tools_from_openapi(api30 + "/openapi.json"))["updatePet"].parameters
    assert set(update["properties"]) == {"path_id", "body_id", "name"}
    assert set(update["required"]) == {"path_id", "body_id", "name"}


def test_recursive_schema_is_cut_into_defs_and_still_validates(api30: str) -> None:
    from agent.planners.concepts import outputs

    tool = by_name(tools_from_openapi(api30 + "/openapi.json"))["countNodes"]
    assert tool.parameters["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert "Node" in tool.parameters["$defs"]
    tree = {"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}
    assert tool.is_valid(tree)
    assert not tool.is_valid({"value": 1, "children": [{"children": []}]})  # deep: no value
    assert [o.pointer for o in outputs(tool)][:1] == ["/value"]  # the planner's walk ends


def test_include_prefix_and_side_effects_override(api30: str) -> None:
    tools = tools_from_openapi(api30 + "/openapi.json", include=["getPet", "createPet"],
                               prefix="pets_", side_effects=False)
    assert [t.name for t in tools] == ["pets_createPet", "pets_getPet"]
    assert not any(t.side_effects for t in tools)
    with pytest.raises(OpenAPIError, match="include names 'nope', which is no operationId"):
        tools_from_openapi(api30 + "/openapi.json", include=["nope"])


def test_yaml_file_with_refs_into_another_file(tmp_path: Path, api30: str) -> None:
    doc = spec("3.0")
    common = {"Pet": doc["components"]["schemas"]["Pet"],
              "Owner": doc["components"]["schemas"]["Owner"]}
    common["Pet"]["properties"]["owner"] = {"$ref": "#/Owner"}  # local to common.yaml
    doc["components"]["schemas"]["Pet"] = {"$ref": "shared/common.yaml#/Pet"}
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "common.yaml").write_text(yaml.safe_dump(common))
    (tmp_path / "pets.yaml").write_text(yaml.safe_dump(doc))

    tools = by_name(tools_from_openapi(tmp_path / "pets.yaml", base_url=api30 + "/api"))
    owner = tools["getPet"].output_schema["properties"]["owner"]
    assert owner == {"type": "object", "properties": {"owner_name": {"type": "string"}}}


def test_refs_relative_to_a_spec_url_are_fetched() -> None:
    with serve(make_app("3.1", external=True)) as root:
        tools = by_name(tools_from_openapi(root + "/openapi.json"))
    owner = tools["getPet"].output_schema["properties"]["owner"]
    assert owner == {"type": "object", "properties": {"owner_name": {"type": "string"}}}


def test_a_relative_server_url_needs_base_url_when_loaded_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "pets.json").write_text(json.dumps(spec("3.1")))
    with pytest.raises(OpenAPIError, match="server URL '/api' is not absolute; set base_url"):
        tools_from_openapi(tmp_path / "pets.json")


# Calling ------------------------------------------------------------------------------------
async def test_calls_reach_the_api_with_path_query_header_and_body(api: str) -> None:
    tools = tools_from_openapi(api + "/openapi.json", bearer_token_env="PETS_TOKEN")
    listed = await call(tools, "listPets", {"limit": 5, "tags": ["dog", "cat"]})
    assert listed.ok and listed.content == [{"id": 1, "name": "Rex", "tag": "dog"}]
    pet = await call(tools, "getPet", {"id": 1})
    assert pet.content["name"] == "Rex"
    made = await call(tools, "createPet", {"name": "Tom", "tag": None})
    assert made.ok and made.content == {"id": 2, "name": "Tom", "tag": None}
    assert (await call(tools, "getPet", {"id": 2})).content["name"] == "Tom"
    updated = await call(tools, "updatePet", {"path_id": 7, "body_id": 8, "name": "Max"})
    assert updated.content == {"id": 8, "name": "Max", "path_id": 7}
    who = await call(tools, "whoAmI", {"X-Request-Id": "req 42/é"})
    assert who.content == {"request_id": "req 42/é"}
    gone = await call(tools, "deletePet", {"id": 2})
    assert gone.ok and gone.content == {"status": 204}
    tree = {"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}
    assert (await call(tools, "countNodes", tree)).content == {"value": 3}


async def test_query_arrays_repeat_and_path_values_are_escaped() -> None:
    app = make_app("3.0")
    with serve(app) as root:
        doc = spec("3.0")  # parameters named like Python's own words work too
        doc["paths"]["/pets"]["get"]["parameters"].append(
            {"name": "self", "in": "query", "schema": {"type": "string"}})
        doc["paths"]["/pets/{id}"]["parameters"][0] = {
            "name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
        tools = tools_from_openapi(doc, base_url=root + "/api")
        await call(tools, "listPets", {"tags": ["a b", "c&d"], "self": "x/y"})
        missing = await call(tools, "getPet", {"id": "a/b c"})
    seen = app[SEEN]
    assert seen[-2]["query"] == [("tags", "a b"), ("tags", "c&d"), ("self", "x/y")]
    assert seen[-1]["raw_path"] == "/api/pets/a%2Fb%20c"  # one path segment
    assert missing.error == 'HTTP 404 from GET /pets/a%2Fb%20c: {"error": "no pet a/b c"}'


async def test_error_answers_become_error_results_with_status_and_body(api30: str) -> None:
    tools = tools_from_openapi(api30 + "/openapi.json", bearer_token_env="PETS_TOKEN")
    missing = await call(tools, "getPet", {"id": 99})
    assert missing.status == "error"
    assert missing.error == 'HTTP 404 from GET /pets/99: {"error": "no pet 99"}'
    boom = await call(tools, "boom", {})
    assert boom.error == "HTTP 500 from GET /boom: database on fire"
    invalid = await call(tools, "getPet", {"id": "one"})
    assert invalid.status == "error" and "'one' is not of type 'integer'" in invalid.error


async def test_bearer_and_api_keys_come_from_the_environment(
        api30: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = api30 + "/openapi.json"
    anonymous = tools_from_openapi(url)
    assert (await call(anonymous, "createPet", {"name": "Tom"})).error.startswith("HTTP 401")
    for where, name in (("header", "X-API-Key"), ("query", "api_key")):
        keyed = tools_from_openapi(url, api_key_env="PETS_KEY", api_key_header=name,
                                   api_key_in=where, include=["getStats"])
        assert (await call(keyed, "getStats", {})).content == {"count": 1}
    bearer = tools_from_openapi(url, bearer_token_env="PETS_TOKEN")
    monkeypatch.delenv("PETS_TOKEN")  # read at call time, not at load time
    unset = await call(bearer, "createPet", {"name": "Tom"})
    assert unset.error == ("createPet needs the bearer token from the environment variable "
                           "PETS_TOKEN, which is not set")


async def test_side_effects_need_approval(api30: str) -> None:
    tools = tools_from_openapi(api30 + "/openapi.json", bearer_token_env="PETS_TOKEN")
    refused = await call(tools, "createPet", {"name": "Tom"}, approve=False)
    assert "has side effects and needs approval" in refused.error
    assert (await call(tools, "listPets", {}, approve=False)).content[0]["name"] == "Rex"


async def test_private_addresses_follow_the_http_policy(api30: str) -> None:
    tools = tools_from_openapi(api30 + "/openapi.json")
    refused = await call(tools, "getPet", {"id": 1}, settings={})
    assert "refused: 127.0.0.1, a loopback address" in refused.error
    assert "http_allow" in refused.error
    allowed = await call(tools, "getPet", {"id": 1}, settings={"http_allow_private": True})
    assert allowed.ok


async def test_timeouts_and_refused_connections_are_error_results(api30: str) -> None:
    slow = tools_from_openapi(api30 + "/openapi.json", timeout=0.3, include=["slow"])
    late = await call(slow, "slow", {})
    assert late.status == "error" and "timed out" in late.error
    with serve(make_app()) as closed_root:
        pass  # the port is free again: nothing listens there
    dead = tools_from_openapi(api30 + "/openapi.json", base_url=closed_root + "/api",
                              include=["getPet"])
    refused = await call(dead, "getPet", {"id": 1})
    assert refused.status == "error" and "cannot connect to 127.0.0.1" in refused.error


async def test_secrets_never_reach_the_trace_store(tmp_path: Path, api30: str) -> None:
    url = api30 + "/openapi.json"
    db = tmp_path / "traces" / "t.db"
    tools = tools_from_openapi(url, bearer_token_env="PETS_TOKEN")
    keyed = tools_from_openapi(url, api_key_env="PETS_KEY", api_key_header="api_key",
                               api_key_in="query", include=["slow"], timeout=0.3, prefix="k_")
    made = await call(tools, "createPet", {"name": "Tom"}, store=db)
    assert made.ok
    late = await call(keyed, "k_slow", {}, store=db)  # the key is in the URL that timed out
    assert "timed out" in late.error and API_KEY not in late.error
    stored = b"".join(p.read_bytes() for p in db.parent.iterdir())
    assert b"createPet" in stored and b"k_slow" in stored
    assert TOKEN.encode() not in stored and API_KEY.encode() not in stored


# Bad input ----------------------------------------------------------------------------------
def test_broken_ref_names_the_operation_and_the_reference() -> None:
    doc = spec("3.0")
    doc["components"]["responses"]["OnePet"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/Missing"}
    with pytest.raises(OpenAPIError) as err:
        tools_from_openapi(doc, base_url="http://127.0.0.1:1")
    assert str(err.value) == ("OpenAPI spec: operation createPet: cannot resolve "
                              "'#/components/schemas/Missing'")
    assert isinstance(err.value, UsageError)


def test_broken_ref_into_a_missing_file(tmp_path: Path) -> None:
    doc = spec("3.1")
    doc["paths"]["/pets/{id}"]["parameters"] = [{"$ref": "params.json#/PetId"}]
    (tmp_path / "api.json").write_text(json.dumps(doc))
    with pytest.raises(OpenAPIError, match=r"api.json: operation getPet: cannot resolve "
                                           r"'params.json#/PetId'"):
        tools_from_openapi(tmp_path / "api.json", base_url="http://127.0.0.1:1")


@pytest.mark.parametrize(("doc", "message"), [
    ({"swagger": "2.0", "paths": {}}, "Swagger 2.0 is not supported; convert to OpenAPI 3"),
    ({"name": "not a spec"}, "not an OpenAPI document (no 'openapi: 3.x' field)"),
    ({"openapi": "4.0.0", "paths": {}}, "OpenAPI 4.0.0 is not supported"),
    ({"openapi": "3.1.0", "info": {}, "paths": {}}, "the spec has no operations"),
])
def test_documents_that_are_not_openapi_3(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(OpenAPIError, match=re.escape(message)):
        tools_from_openapi(doc)


def test_unreadable_files_and_urls(tmp_path: Path, api30: str) -> None:
    (tmp_path / "bad.yaml").write_text("openapi: [unclosed\n")
    with pytest.raises(OpenAPIError, match=r"bad\.yaml: neither JSON nor valid YAML"):
        tools_from_openapi(tmp_path / "bad.yaml")
    with pytest.raises(OpenAPIError, match=r"cannot read OpenAPI spec .*nope\.json"):
        tools_from_openapi(tmp_path / "nope.json")
    with pytest.raises(OpenAPIError, match=r"cannot fetch OpenAPI spec .*/nope.json: HTTP 404"):
        tools_from_openapi(api30 + "/nope.json")


def test_an_invalid_schema_names_the_operation() -> None:
    doc = spec("3.1")
    doc["paths"]["/pets"]["get"]["parameters"][0]["schema"] = {"type": "integr"}
    with pytest.raises(OpenAPIError, match=r"operation listPets: invalid JSON Schema at "
                                           r"properties.limit"):
        tools_from_openapi(doc, base_url="http://127.0.0.1:1")


def test_an_undeclared_path_parameter_and_an_empty_include() -> None:
    doc = spec("3.1")
    doc["paths"]["/pets/{id}/toys/{toy}"] = {"get": {"operationId": "getToy", "parameters": [
        {"$ref": "#/components/parameters/PetId"}], "responses": {}}}
    with pytest.raises(OpenAPIError, match=r"operation getToy: path parameter \{toy\} of "
                                           r"/pets/\{id\}/toys/\{toy\} is not declared"):
        tools_from_openapi(doc, base_url="http://127.0.0.1:1")
    with pytest.raises(OpenAPIError, match="include is empty; leave it out"):
        tools_from_openapi(doc, base_url="http://127.0.0.1:1", include=[])


def test_a_required_body_that_is_not_json_is_refused() -> None:
    doc = spec("3.1")
    doc["paths"]["/pets"]["post"]["requestBody"] = {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object"}}}}
    with pytest.raises(OpenAPIError, match=r"operation createPet: its request body is not JSON "
                                           r"\(multipart/form-data\)"):
        tools_from_openapi(doc, base_url="http://127.0.0.1:1")
    assert tools_from_openapi(doc, base_url="http://127.0.0.1:1", include=["getPet"])


# agent.toml entries ---------------------------------------------------------------------------
def test_config_entry_with_a_relative_spec_path(tmp_path: Path, api30: str) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "pets.json").write_text(json.dumps(spec("3.0")))
    tools = tools_from_config({"spec": "specs/pets.json", "base_url": api30 + "/api",
                               "prefix": "pets_", "bearer_token_env": "PETS_TOKEN",
                               "timeout": 5, "include": ["getPet"]}, tmp_path)
    assert [(t.name, t.timeout) for t in tools] == [("pets_getPet", 10)]


def test_config_entry_with_a_spec_url(tmp_path: Path, api30: str) -> None:
    tools = tools_from_config({"spec": api30 + "/openapi.json"}, tmp_path)
    assert len(tools) == 10


@pytest.mark.parametrize(("entry", "message"), [
    ({"spec": "a.json", "token": "x"}, "[[openapi]] 'a.json': unknown key 'token' (known keys"),
    ({"base_url": "http://x"}, "[[openapi]] entry needs 'spec'"),
    ({"spec": "a.json", "timeout": "10"}, "timeout must be a number of seconds, not str"),
    ({"spec": "a.json", "timeout": True}, "timeout must be a number of seconds, not bool"),
    ({"spec": "a.json", "include": "getPet"}, "include must be a list of operationIds"),
    ({"spec": "a.json", "include": [1]}, "include must be a list of operationId strings"),
    ({"spec": "a.json", "bearer_token_env": "zq7-unicorn-4411"},
     "bearer_token_env must name an environment variable"),
    ({"spec": "a.json", "api_key_env": "K", "api_key_in": "body"},
     "api_key_in must be 'header', 'query' or 'cookie'"),
    ({"spec": "a.json", "timeout": 0}, "timeout must be a positive number"),
    ({"spec": "a.json", "base_url": "pets.example.com"}, "base_url must be an http(s) URL"),
])
def test_config_entry_errors(tmp_path: Path, entry: dict[str, Any], message: str) -> None:
    with pytest.raises(AgentError) as err:
        tools_from_config(entry, tmp_path)
    assert isinstance(err.value, OpenAPIError) and message in str(err.value)
    assert "zq7-unicorn" not in str(err.value)  # a token put in the wrong key is not echoed
