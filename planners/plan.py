"""What the dataflow planner builds: calls, goals, holes (questions) and clauses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .filling import Param
from .values import Value


@dataclass
class Call:
    id: str
    name: str
    args: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "args": self.args}


@dataclass
class Hole:
    """A required argument neither the query nor a tool provides: the user is asked."""

    call: Call
    param: Param


@dataclass
class Plan:
    calls: list[Call] = field(default_factory=list)
    goals: list[Call] = field(default_factory=list)
    holes: list[Hole] = field(default_factory=list)
    goal_start: int = 0  # calls from here on were planned for the goal being planned
    refs: set[str] = field(default_factory=set)  # outputs already fed to a parameter
    fed: set[tuple[str, str]] = field(default_factory=set)  # (call id, concept) handed out
    named: set[str] = field(default_factory=set)  # fed outputs the query names ("the cost")
    role: str | None = None  # which end of a journey the whole query talks about
    answers: dict[str, Value] = field(default_factory=dict)  # what the user told us

    def add(self, name: str, args: dict[str, Any]) -> Call:
        for c in self.calls:  # the same call twice (a shared producer) runs once
            if c.name == name and c.args == args:
                return c
        call = Call(f"{len(self.calls) + 1}", name, args)
        self.calls.append(call)
        return call


@dataclass
class Clause:
    text: str
    start: int
    end: int
    values: list[Value]
    stems: list[str]
    repeats: bool = False  # "... in euros? And in US dollars?": the last goal, varied
