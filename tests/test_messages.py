"""agent.messages: messages made without validating are the messages the classes make."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, ConfigDict

from agent.messages import made

CASES: list[tuple[type, dict[str, Any]]] = [
    (ToolMessage, {"content": '<tool_output name="echo" id="c1">\n{"a":1}\n</tool_output>',
                   "tool_call_id": "c1", "name": "echo", "status": "success"}),
    (ToolMessage, {"content": "Error: boom", "tool_call_id": "c2", "name": "echo",
                   "status": "error", "artifact": {"raw": [1, 2]}}),
    (AIMessage, {"content": "", "tool_calls": [
        {"name": "echo", "args": {"q": "x"}, "id": "c1", "type": "tool_call"}]}),
    (AIMessage, {"content": "done", "usage_metadata": {
        "input_tokens": 3, "output_tokens": 2, "total_tokens": 5}}),
    (HumanMessage, {"content": "count"}),
    (SystemMessage, {"content": "be brief", "id": "s1"}),
]


def same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    assert a == b
    assert list(a.__dict__.items()) == list(b.__dict__.items())  # order too: JSON follows it
    assert a.model_fields_set == b.model_fields_set
    assert a.__pydantic_extra__ == b.__pydantic_extra__
    assert a.model_dump_json() == b.model_dump_json()
    assert repr(a) == repr(b)


@pytest.mark.parametrize(("cls", "fields"), CASES)
def test_made_is_what_the_class_makes(cls: type, fields: dict[str, Any]) -> None:
    same(made(cls, **fields), cls(**fields))


def test_defaults_are_not_shared_between_messages() -> None:
    a, b = made(AIMessage, content="x"), made(AIMessage, content="y")
    a.tool_calls.append({"name": "t", "args": {}, "id": "1", "type": "tool_call"})
    a.additional_kwargs["k"] = 1
    assert b.tool_calls == [] and b.additional_kwargs == {}


def test_what_the_class_refuses_it_still_refuses() -> None:
    with pytest.raises(Exception) as by_class:
        ToolMessage(content="no call id")  # tool_call_id is required
    with pytest.raises(type(by_class.value)):
        made(ToolMessage, content="no call id")


def test_an_unknown_field_goes_through_the_class() -> None:
    message = made(HumanMessage, content="hi", mood="fine")
    same(message, HumanMessage(content="hi", mood="fine"))
    assert message.__pydantic_extra__ == {"mood": "fine"}


class Hooked(BaseModel):
    model_config = ConfigDict(extra="allow")
    text: str
    seen: list[str] = []

    def model_post_init(self, context: Any) -> None:
        self.seen.append(self.text)


def test_a_class_whose_construction_does_more_is_constructed() -> None:
    message = made(Hooked, text="a")
    assert message.seen == ["a"]  # its model_post_init ran
