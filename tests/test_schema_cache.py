"""Tool schemas built from functions are kept on disk, keyed by everything they depend on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Literal

import pytest
from typing_extensions import TypedDict

from agent import Tool
from agent.schema_cache import FILENAME


def _entries(home: Path) -> dict[str, str]:
    path = home / "cache" / FILENAME
    return json.loads(path.read_text())["entries"] if path.exists() else {}


def convert(value: float, unit: Literal["km", "mile"] = "km", notes: list[str] | None = None
            ) -> float:
    """Convert a distance.

    Args:
        value: how far
        unit: the unit of value
        notes: anything to remember
    """
    return value


class Point(TypedDict):
    x: int


def move(point: Point) -> Point:
    """Move a point.

    Args:
        point: where from
    """
    return point


def test_a_plain_signature_is_cached_and_served_the_same() -> None:
    home = Path(os.environ["AGENT_HOME"])
    built = Tool.from_function(convert)
    assert len(_entries(home)) == 1
    served = Tool.from_function(convert)
    assert served.parameters == built.parameters and served.description == built.description
    assert served.parameters is not built.parameters  # each caller gets its own copy
    assert built.parameters["properties"]["unit"]["enum"] == ["km", "mile"]
    assert built.parameters["properties"]["value"]["description"] == "how far"


def test_a_signature_with_a_class_is_built_every_time() -> None:
    Tool.from_function(move)
    assert _entries(Path(os.environ["AGENT_HOME"])) == {}


def test_a_changed_docstring_is_another_entry_and_wins() -> None:
    def ping(host: str) -> str:
        """Ping a host.

        Args:
            host: the name
        """
        return host

    first = Tool.from_function(ping)
    ping.__doc__ = "Ask a host if it is up.\n\nArgs:\n    host: its DNS name\n"
    second = Tool.from_function(ping)
    assert len(_entries(Path(os.environ["AGENT_HOME"]))) == 2
    assert first.description == "Ping a host."
    assert second.description == "Ask a host if it is up."
    assert second.parameters["properties"]["host"]["description"] == "its DNS name"


def test_it_can_be_turned_off_and_a_broken_file_is_rebuilt(monkeypatch) -> None:
    home = Path(os.environ["AGENT_HOME"])
    monkeypatch.setenv("AGENT_SCHEMA_CACHE", "0")
    Tool.from_function(convert)
    assert not (home / "cache" / FILENAME).exists()
    monkeypatch.setenv("AGENT_SCHEMA_CACHE", "1")
    (home / "cache").mkdir(parents=True)
    (home / "cache" / FILENAME).write_text("{not json")
    assert Tool.from_function(convert).parameters["required"] == ["value"]
    assert len(_entries(home)) == 1


def test_a_new_process_builds_cached_tools_without_importing_langchain_tools(
    tmp_path: Path,
) -> None:
    """What the cache is for: the import it skips costs ~1 s of every `agent run`."""
    (tmp_path / "mytools.py").write_text(textwrap.dedent('''
        def area(width: float, height: float = 1.0) -> float:
            """Area of a rectangle.

            Args:
                width: in metres
                height: in metres
            """
            return width * height
    '''))
    code = ("import json, sys; from agent import Tool; import mytools; "
            "t = Tool.from_function(mytools.area); "
            "print(json.dumps([t.parameters, t.description])); "
            "print('langchain_core.tools.base' in sys.modules)")
    env = {**os.environ, "AGENT_HOME": str(tmp_path / "home"), "PYTHONPATH": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=tmp_path, env=env, timeout=120) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    (first, imported_first), (second, imported_second) = (r.stdout.split("\n")[:2] for r in runs)
    assert first == second
    assert json.loads(first)[0]["properties"]["width"]["description"] == "in metres"
    assert (imported_first, imported_second) == ("True", "False")


@pytest.mark.filterwarnings("ignore:Default value")  # pydantic: not JSON, left out
def test_a_default_shown_by_its_address_is_not_cached() -> None:
    marker = object()

    def probe(value: str = marker) -> str:  # type: ignore[assignment]
        """Probe.

        Args:
            value: anything
        """
        return value

    Tool.from_function(probe)
    assert _entries(Path(os.environ["AGENT_HOME"])) == {}
