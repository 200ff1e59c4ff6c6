"""Embedding agent in an application: tools from functions and from an object, a plan with
references, a side-effect tool with an approval callback, and the trace it leaves.

Run:  python examples/embed.py   (writes its trace to ./embed-traces.db)
"""

from __future__ import annotations

import asyncio

from agent import Agent, Tool, tool, tools_from_object


@tool
async def forecast(city: str, days: int = 3) -> dict:
    """Weather forecast for a city.

    Args:
        city: the city name
        days: how many days ahead
    """
    highs = {"Lisbon": [21, 23, 19], "Porto": [18, 17, 20]}.get(city, [15, 15, 15])
    return {"city": city, "highs": highs[:days]}


class Notebook:
    """A stateful API: its methods become tools that share this object's state."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    @tool(side_effects=True)  # needs approval: see approve() below
    def add_note(self, text: str) -> int:
        """Add a note and return how many there are.

        Args:
            text: the note
        """
        self.notes.append(text)
        return len(self.notes)

    def list_notes(self) -> list[str]:
        """All notes, oldest first."""
        return list(self.notes)


def approve(call: dict, tool: Tool) -> bool:
    print(f"approving {tool.name}({call['args']})")
    return True


async def main() -> None:
    notebook = Notebook()
    with Agent([forecast, *tools_from_object(notebook)], store="embed-traces.db",
               approve=approve) as agent:
        results = await agent.execute([
            {"id": "lis", "name": "forecast", "args": {"city": "Lisbon"}},
            {"id": "opo", "name": "forecast", "args": {"city": "Porto", "days": 2}},
            {"name": "add_note", "args": {"text": {"$ref": "lis#/city"}}},
            {"name": "add_note", "args": {"text": {"$ref": "opo#/city"}}},
            {"name": "list_notes", "args": {}},
        ])
        for r in results:
            print(f"{r.call_id:>4} {r.name:<11} {r.status:<8} {r.content}")
        run = agent.last_run
        assert run is not None
        print(f"run {run.id} {run.status}; see it with: agent --db embed-traces.db traces show "
              f"{run.id[:12]}")


if __name__ == "__main__":
    asyncio.run(main())
