"""The built-in tool modules as plugins: they load, register cleanly and stay cheap to import."""

from __future__ import annotations

import json
import subprocess
import sys

from jsonschema import Draft202012Validator

from agent.plugin_manager import DEFAULT_PLUGINS, load_plugins
from agent.registry import build_registry

EXPECTED = {
    "agent.tools.calculator": {"calculate"},
    "agent.tools.units": {"convert_units"},
    "agent.tools.dates": {"current_time", "convert_time", "date_difference", "add_to_date",
                          "day_of_week"},
    "agent.tools.files": {"list_files", "read_file", "search_files"},
    "agent.tools.sqlite": {"sqlite_query", "sqlite_schema"},
    "agent.tools.http": {"http_get", "http_post"},
}


def test_every_builtin_registers_its_tools() -> None:
    reg = build_registry(load_plugins(entry_points=False))
    for module in DEFAULT_PLUGINS:
        info = reg.plugins.infos[module]
        assert info.ok, (module, info.error)
    by_plugin: dict[str, set[str]] = {}
    for tool in reg.tools.values():
        by_plugin.setdefault(tool.plugin or "", set()).add(tool.name)
    for module, names in EXPECTED.items():
        assert by_plugin[module] == names
    assert not reg.conflicts


def test_tools_are_well_described() -> None:
    reg = build_registry(load_plugins(entry_points=False))
    for name in set().union(*EXPECTED.values()):
        tool = reg.tools[name]
        assert tool.description and tool.examples, name
        assert tool.output_schema is not None, name
        Draft202012Validator.check_schema(tool.output_schema)
        _ = tool.validator  # the parameters schema compiles
        for prop, spec in tool.parameters["properties"].items():
            assert spec.get("description"), f"{name}.{prop} has no description"
        assert "ctx" not in tool.parameters["properties"]
    assert reg.tools["http_post"].side_effects is True
    side_effects = {n for n, t in reg.tools.items() if t.side_effects and n in
                    set().union(*EXPECTED.values())}
    assert side_effects == {"http_post"}  # everything else only reads


def test_importing_the_plugins_is_cheap() -> None:
    code = (
        "import sys, json; import " + ", ".join(DEFAULT_PLUGINS) + "; "
        "print(json.dumps(sorted(m for m in ('aiohttp', 'pint', 'sqlite3', 'yarl', "
        "'zoneinfo', 'langchain_core') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd="/")
    assert json.loads(out.stdout) == []
