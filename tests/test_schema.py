from __future__ import annotations

import asyncio

import pytest
from langchain_core.tools import StructuredTool

from agent import Tool, ToolContext, tool, tools_from_object
from agent.errors import ToolDefinitionError
from agent.executor import Executor


@tool(side_effects=True, timeout=3, tags=["demo"])
def book(city: str, nights: int = 1, ctx: ToolContext | None = None) -> dict:
    """Book a hotel.

    Args:
        city: where to stay
        nights: how many nights
    """
    return {"city": city, "nights": nights, "call": ctx.call_id if ctx else None}


async def forecast(city: str, days: int) -> list[float]:
    """Forecast temperatures.

    Args:
        city: the city
        days: number of days
    """
    await asyncio.sleep(0)
    return [20.0] * days


def test_schema_from_hints_and_docstring_without_context_param() -> None:
    t = Tool.from_function(book)
    assert t.name == "book"
    assert t.description == "Book a hotel."
    assert t.parameters["required"] == ["city"]
    props = t.parameters["properties"]
    assert set(props) == {"city", "nights"}  # the context parameter stays out
    assert props["city"] == {"type": "string", "description": "where to stay"}
    assert props["nights"]["default"] == 1
    assert t.context_param == "ctx"
    assert t.side_effects and t.timeout == 3 and t.tags == ("demo",)
    assert not t.is_async
    assert book("Oslo") == {"city": "Oslo", "nights": 1, "call": None}  # still a function


def test_async_function_tool() -> None:
    t = Tool.from_function(forecast)
    assert t.is_async
    assert t.parameters["properties"]["days"]["type"] == "integer"


def test_context_param_hidden_under_future_annotations_even_if_not_imported() -> None:
    namespace: dict = {}
    exec(
        "from __future__ import annotations\n"
        "def f(x: int, context: ToolContext) -> int:\n"
        "    '''Double.\n\n    Args:\n        x: a number\n    '''\n"
        "    return 2 * x\n",
        namespace,
    )
    t = Tool.from_function(namespace["f"])
    assert list(t.parameters["properties"]) == ["x"]
    assert t.context_param == "context"


def test_unresolvable_hint_is_a_clear_definition_error() -> None:
    namespace: dict = {}
    exec("from __future__ import annotations\ndef f(x: Missing) -> int:\n    return 1\n",
         namespace)
    with pytest.raises(ToolDefinitionError, match="cannot resolve the type hints of f"):
        Tool.from_function(namespace["f"])


def test_from_schema_checks_the_schema_once() -> None:
    t = Tool.from_schema("add", "Add numbers",
                         {"type": "object", "properties": {"a": {"type": "number"}}},
                         lambda a: a + 1)
    assert t.validator.is_valid({"a": 1})
    assert not t.validator.is_valid({"a": "x"})
    with pytest.raises(ToolDefinitionError, match="invalid JSON Schema"):
        Tool.from_schema("bad", "", {"type": "object", "properties": {"a": {"type": 7}}},
                         lambda a: a)


def test_unknown_tool_option_is_refused() -> None:
    with pytest.raises(ToolDefinitionError, match="unknown tool option"):
        tool(sideeffects=True)


class Cart:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, item: str) -> list[str]:
        """Add an item.

        Args:
            item: what to add
        """
        self.items.append(item)
        return list(self.items)

    def total(self) -> int:
        """How many items are in the cart."""
        return len(self.items)

    def _secret(self) -> None:
        """Not a tool."""


async def test_object_methods_share_state_and_keep_order() -> None:
    cart = Cart()
    tools = tools_from_object(cart)
    assert [t.name for t in tools] == ["add", "total"]
    assert len({t.state_key for t in tools}) == 1
    ex = Executor({t.name: t for t in tools})
    calls = [{"name": "add", "args": {"item": f"i{i}"}} for i in range(20)]
    calls.append({"name": "total", "args": {}})
    results = await ex.execute(calls)
    assert results[-1].content == 20
    assert results[19].content == [f"i{i}" for i in range(20)]  # given order kept


async def test_langchain_base_tool_is_accepted() -> None:
    def mul(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    lc = StructuredTool.from_function(mul)
    t = Tool.coerce(lc)
    assert t.name == "mul" and set(t.parameters["properties"]) == {"a", "b"}
    [r] = await Executor({t.name: t}).execute([{"name": "mul", "args": {"a": 6, "b": 7}}])
    assert r.ok and r.content == 42


def test_fast_check_never_accepts_what_jsonschema_refuses() -> None:
    import random

    from jsonschema import Draft202012Validator

    from agent.schema import fast_check

    schemas = [
        {"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}},
         "required": ["q"]},
        {"type": "object", "properties": {"x": {"type": "number", "description": "d"},
                                          "f": {"type": ["boolean", "null"]},
                                          "e": {"type": "string", "enum": ["a", "b"]}},
         "required": ["x", "e"], "additionalProperties": False},
        {"type": "object", "properties": {"l": {"type": "array"}, "o": {"type": "object"}}},
    ]
    samples = ["s", "", 0, 1, -3, 2.0, 2.5, True, False, None, [], [1], {}, {"a": 1}]
    rng = random.Random(7)
    checked = 0
    for schema in schemas:
        fast = fast_check(schema)
        assert fast is not None
        validator = Draft202012Validator(schema)
        keys = [*schema["properties"], "zzz"]
        for _ in range(3000):
            args = {k: rng.choice(samples) for k in rng.sample(keys, rng.randint(0, len(keys)))}
            if fast(args):
                assert validator.is_valid(args), (schema, args)
                checked += 1
            elif validator.is_valid(args):
                pytest.fail(f"fast check refused valid {args} for {schema}")
    assert checked > 500  # the fast path really is taken


def test_fast_check_declines_schemas_it_does_not_understand() -> None:
    from agent.schema import fast_check

    assert fast_check({"type": "object", "properties": {"n": {"type": "integer",
                                                              "minimum": 0}}}) is None
    assert fast_check({"type": "object", "oneOf": []}) is None
    assert fast_check({"type": "object", "additionalProperties": {"type": "string"}}) is None
