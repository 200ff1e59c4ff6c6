"""Templates are checked when loaded; sampled arguments always validate; chains are built
from the dataflow between tools."""

from __future__ import annotations

import random
from typing import Any

import pytest
from gen_domain import domain_tools
from jsonschema import Draft202012Validator, FormatChecker

from agent import Tool
from agent.generation.chains import build_catalog
from agent.generation.programmatic import check_literals, sample_example
from agent.generation.sampling import can_sample, described_examples, sample
from agent.generation.templates import TemplateError, derive_template, load_templates


def tools() -> dict[str, Tool]:
    return {t.name: t for t in domain_tools()}


def with_templates(tool: Tool, *templates: str) -> Tool:
    return Tool.coerce(tool, templates=templates)


def test_unknown_parameter_names_tool_template_and_parameter() -> None:
    pool = tools()
    bad = with_templates(pool["train_times"], "Trains from {origin} to {destnation} on {date}")
    pool["train_times"] = bad
    with pytest.raises(TemplateError) as err:
        build_catalog(pool, list(pool))
    message = str(err.value)
    assert "'train_times'" in message and "{destnation}" in message
    assert "unknown parameter 'destnation'" in message and "destination" in message
    assert err.value.exit_code == 2


@pytest.mark.parametrize(("template", "says"), [
    ("Carriages of the train from {train_times.orign}?", "unknown parameter 'orign' of tool"),
    ("Carriages of {nosuch_tool.x}?", "names unknown tool 'nosuch_tool'"),
    ("How many carriages?", "required parameter 'train_id' is not mentioned"),
    ("Carriages of the train from {train_times.origin} to {train_times.destination}?",
     "required parameter 'date' of 'train_times' is not mentioned"),
    ("A brace {", "template 'A brace {'"),
])
def test_bad_chain_templates_are_refused(template: str, says: str) -> None:
    pool = tools()
    with pytest.raises(TemplateError, match=None) as err:
        load_templates(with_templates(pool["train_info"], template), pool)
    assert says in str(err.value)


def test_a_tool_without_templates_gets_one_from_its_description() -> None:
    pool = tools()
    text = derive_template(pool["ticket_price"])
    assert text == "Price of rail tickets: cabin {cabin}, adults {adults}, currency {currency}."
    [template] = load_templates(pool["ticket_price"], pool)
    assert template.derived and template.own == ("cabin", "adults", "currency")


SCHEMAS: list[dict[str, Any]] = [
    {"type": "string", "enum": ["a", "b", "c"]},
    {"type": "string", "const": "x"},
    {"type": "string", "examples": ["ok-1", "ok-2", 3, "bad example"], "pattern": "^ok-"},
    {"type": "string", "format": "date", "formatMinimum": "2027-02-01",
     "formatMaximum": "2027-02-10"},
    {"type": "string", "format": "date-time"},
    {"type": "string", "format": "time"},
    {"type": "string", "format": "email"},
    {"type": "string", "format": "uuid"},
    {"type": "string", "pattern": r"^\s*[A-Z]{2}\s*\d{1,4}\s*$"},
    {"type": "integer", "minimum": 3, "maximum": 7},
    {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 3},
    {"type": "integer", "minimum": 10, "maximum": 100, "multipleOf": 25},
    {"type": "number", "minimum": 0.5, "maximum": 0.75},
    {"type": "number", "exclusiveMinimum": 1, "maximum": 1.5},
    {"type": "number"},
    {"type": "boolean"},
    {"type": ["string", "null"], "enum": ["p", "q", None]},
    {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 5, "maximum": 6}]},
    {"type": "array", "items": {"type": "string", "enum": ["u", "v"]}, "minItems": 2,
     "maxItems": 3},
    {"type": "object", "properties": {"k": {"type": "integer", "maximum": 0}},
     "required": ["k"]},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_sampled_values_validate_for_many_seeds(schema: dict[str, Any]) -> None:
    assert can_sample(schema)
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    for seed in range(300):
        value = sample(schema, random.Random(seed))
        assert validator.is_valid(value), (seed, value)
    if "formatMinimum" in schema:
        assert {sample(schema, random.Random(s)) for s in range(300)} <= {
            f"2027-02-{d:02d}" for d in range(1, 11)}


def test_free_text_cannot_be_sampled() -> None:
    assert not can_sample({"type": "string"})
    assert not can_sample({"type": "string", "format": "uri"})  # would reach the network
    catalog = build_catalog(tools(), list(tools()))
    assert "evaluate" in catalog.skipped and "'expression'" in catalog.skipped["evaluate"]


def test_every_sampled_call_validates_and_chains_follow_the_dataflow() -> None:
    pool = tools()
    catalog = build_catalog(pool, list(pool))
    specs = [s for group in catalog.specs.values() for s in group]
    chained = [s for s in specs if any(c["refs"] for c in s["calls"])]
    # the station lookup variant, and the chain template train_times -> train_info
    assert {tuple(s["tools"]) for s in chained} >= {
        ("find_station", "train_times"), ("train_info", "train_times"),
        ("find_station", "train_info", "train_times")}
    for spec in specs:
        for seed in range(100):
            query, plan = sample_example(spec, pool, random.Random(seed))
            assert "{" not in query and query[0].isupper()
            for call in plan:
                assert check_literals(pool[call["name"]], call["args"]) is None, (query, call)
    lookup = next(s for s in chained if s["tools"] == ["find_station", "train_times"]
                  and s["template"].startswith("Trains"))
    query, plan = sample_example(lookup, pool, random.Random(7))
    origin, destination = plan[0]["args"]["city"], plan[1]["args"]["city"]
    assert origin != destination  # never "from Oslo to Oslo"
    assert query.startswith(f"Trains from {origin} to {destination} on 2027-03-")
    assert plan[2]["args"]["origin"] == {"$ref": "1#/stations/0/code"}


def test_examples_written_in_a_description_are_sampled_when_valid() -> None:
    assert described_examples('The unit, e.g. "km" or "degC".') == ["km", "degC"]
    assert described_examples("The number to convert, e.g. 10.") == [10]
    assert described_examples("Days to add, e.g. 10, 2.5 or -7.") == [10, 2.5, -7]
    assert described_examples("e.g. 3, 5, and 10 rows") == [3, 5, 10]
    assert described_examples("e.g. 1,000 rows") == [1]  # a thousands separator, not a list
    assert described_examples("Free text with no example.") == []
    schema = {"type": "string", "description": 'A unit, e.g. "km" or "degC"'}
    assert can_sample(schema)
    assert {sample(schema, random.Random(seed)) for seed in range(40)} == {"km", "degC"}
    # an example that does not validate is never used
    strict = {"type": "string", "pattern": "^[a-z]+$", "description": 'e.g. "km" or "C2"'}
    assert {sample(strict, random.Random(seed)) for seed in range(40)} == {"km"}
