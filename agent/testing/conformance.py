"""``ToolPluginConformance``: the tests every tool plugin should pass, inherited by subclassing.

A plugin's test module::

    from agent.testing import ToolPluginConformance
    import my_plugin

    class TestMyPlugin(ToolPluginConformance):
        plugin = my_plugin                       # or the entry-point name: "my-plugin"
        entry_point = "my-plugin"                # optional: the packaging is checked too
        sample_args = {"shout": {"text": "hi"}}  # one real call per tool

The checks are what the runtime, the planners and models rely on: the plugin loads through the
plugin manager without errors or name clashes; tool names are portable; descriptions and
parameter descriptions exist; schemas are valid JSON Schema; sample calls validate, succeed
through the runtime, match the output schema and are traced; missing arguments are refused as
results, not exceptions; side-effect tools declare it and are refused without approval; and
the tools survive the LangChain export. Each test reports every offending tool at once.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

PORTABLE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what OpenAI-style function APIs accept


class ToolPluginConformance:
    """Subclass as ``Test...`` and set ``plugin``; override the other attributes as needed."""

    plugin: ClassVar[Any] = None
    entry_point: ClassVar[str | None] = None
    sample_args: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    settings: ClassVar[Mapping[str, Any]] = {}
    expected_tools: ClassVar[Collection[str]] = ()
    side_effect_tools: ClassVar[Collection[str]] = ()
    require_samples: ClassVar[bool] = True
    require_param_descriptions: ClassVar[bool] = True

    # Loading ------------------------------------------------------------------------------
    def plugin_object(self) -> Any:
        """The plugin itself: ``plugin``, or what the entry point of that name loads."""
        if self.plugin is None:
            pytest.fail(f"{type(self).__name__}: set `plugin = your_module` (or its entry-point "
                        "name) on the class")
        if isinstance(self.plugin, str):
            return _entry_point(self.plugin).load()
        return self.plugin

    @pytest.fixture
    def plugin_registry(self) -> Any:
        """A registry holding only this plugin (no built-ins, no other plugins)."""
        from agent.plugin_manager import load_plugins
        from agent.registry import build_registry

        return build_registry(load_plugins((), entry_points=False,
                                           extra=[self.plugin_object()]))

    @pytest.fixture
    def plugin_tools(self, plugin_registry: Any) -> dict[str, Any]:
        return dict(plugin_registry.tools)

    def sample_args_for(self, tool: Any) -> Mapping[str, Any] | None:
        """Arguments for one real call of ``tool``; override to compute them (files, URLs)."""
        return self.sample_args.get(tool.name)

    # Registration -------------------------------------------------------------------------
    def test_plugin_loads_without_error(self, plugin_registry: Any) -> None:
        failed = {i.name: i.error for i in plugin_registry.plugins.infos.values() if i.error}
        assert not failed, f"the plugin failed to load: {failed}"
        assert not plugin_registry.conflicts, plugin_registry.conflicts
        hooks = {h for i in plugin_registry.plugins.infos.values() for h in i.hooks}
        assert "register_tools" in hooks, "the plugin implements no register_tools hook"

    def test_plugin_offers_its_tools(self, plugin_tools: dict[str, Any]) -> None:
        assert plugin_tools, "register_tools registered no tool"
        missing = sorted(set(self.expected_tools) - set(plugin_tools))
        assert not missing, f"expected tools not registered: {missing}"

    def test_entry_point_loads_the_plugin(self) -> None:
        if self.entry_point is None:
            return  # nothing declared to check
        loaded = _entry_point(self.entry_point).load()
        if self.plugin is not None and not isinstance(self.plugin, str):
            assert loaded is self.plugin, (
                f"entry point {self.entry_point!r} loads {loaded!r}, not {self.plugin!r}")

    # Descriptions and schemas -------------------------------------------------------------
    def test_tool_names_are_portable(self, plugin_tools: dict[str, Any]) -> None:
        bad = [n for n in plugin_tools if not PORTABLE_NAME.match(n)]
        assert not bad, f"tool names must match {PORTABLE_NAME.pattern}: {bad}"

    def test_tools_are_described(self, plugin_tools: dict[str, Any]) -> None:
        bad = {}
        for name, t in plugin_tools.items():
            text = (t.description or "").strip()
            if not text or text == name.replace("_", " "):
                bad[name] = "no description (write a docstring: its first paragraph is used)"
                continue
            if self.require_param_descriptions:
                bare = [p for p, s in t.parameters.get("properties", {}).items()
                        if not (isinstance(s, dict) and s.get("description"))]
                if bare:
                    bad[name] = f"parameters without a description: {bare} (docstring Args:)"
        assert not bad, _listing("tools planners and models cannot choose well", bad)

    def test_schemas_are_valid_json_schema(self, plugin_tools: dict[str, Any]) -> None:
        from jsonschema import Draft202012Validator, SchemaError

        bad = {}
        for name, t in plugin_tools.items():
            if t.parameters.get("type") != "object":
                bad[name] = "parameters must be an object schema"
                continue
            for which, schema in (("parameters", t.parameters),
                                  ("output_schema", t.output_schema)):
                if schema is None:
                    continue
                try:
                    Draft202012Validator.check_schema(schema)
                except SchemaError as exc:
                    bad[name] = f"{which}: {exc.message}"
        assert not bad, _listing("invalid schemas", bad)

    def test_examples_are_queries(self, plugin_tools: dict[str, Any]) -> None:
        bad = {n: list(t.examples) for n, t in plugin_tools.items()
               if any(not isinstance(e, str) or not e.strip() for e in t.examples)}
        assert not bad, _listing("examples must be non-empty query strings", bad)

    # Calls --------------------------------------------------------------------------------
    def test_sample_args_validate(self, plugin_tools: dict[str, Any]) -> None:
        from agent.schema import explain

        bad = {}
        unknown = sorted(set(self.sample_args) - set(plugin_tools))
        for name, t in plugin_tools.items():
            args = self.sample_args_for(t)
            if args is None:
                if self.require_samples:
                    bad[name] = f"no sample arguments: add sample_args[{name!r}] = {{...}}"
                continue
            if not t.is_valid(dict(args)):
                field, message = explain(t.validator, dict(args))
                bad[name] = f"{field or 'arguments'}: {message}"
        assert not unknown, f"sample_args for tools the plugin does not offer: {unknown}"
        assert not bad, _listing("sample arguments", bad)

    def test_sample_calls_succeed_and_are_traced(self, plugin_tools: dict[str, Any],
                                                 tmp_path: Path) -> None:
        from jsonschema import Draft202012Validator

        from agent.runtime import Agent
        from agent.store import TraceStore

        bad = {}
        with TraceStore(tmp_path / "conformance.db") as store:
            with Agent(list(plugin_tools.values()), store=store, approve=True,
                       settings=dict(self.settings)) as agent:
                samples = {n: dict(a) for n, t in plugin_tools.items()
                           if (a := self.sample_args_for(t)) is not None}

                async def calls() -> dict[str, Any]:
                    runs = {n: await agent.run_plan([{"name": n, "args": a}],
                                                    query=f"conformance: {n}")
                            for n, a in samples.items()}
                    await agent.aflush()
                    return runs

                runs = asyncio.run(calls())
            for name, run in runs.items():
                result, schema = run.results[0], plugin_tools[name].output_schema
                if not result.ok:
                    bad[name] = f"failed: {result.error}"
                elif schema is not None:
                    errors = list(Draft202012Validator(schema).iter_errors(result.content))
                    if errors:
                        bad[name] = f"output does not match output_schema: {errors[0].message}"
            for name, run_id in ((n, r.id) for n, r in runs.items()):
                recorded = [c.get("tool_name") for c in store.get_run(run_id)["tool_calls"]]
                if recorded != [name] and name not in bad:
                    bad[name] = f"the trace holds calls {recorded}, not [{name!r}]"
        assert not bad, _listing("sample calls through the runtime", bad)

    def test_missing_arguments_are_refused_as_results(
            self, plugin_tools: dict[str, Any]) -> None:
        from agent.executor import Executor

        needy = [n for n, t in plugin_tools.items() if t.parameters.get("required")]
        results = asyncio.run(Executor(plugin_tools, approve=lambda c, t: True).execute(
            [{"name": n, "args": {}} for n in needy]))
        bad = {r.name: r.status for r in results
               if r.ok or "required" not in (r.error or "")}
        assert not bad, _listing("calls without their required arguments were not refused",
                                 bad)

    def test_side_effect_tools_declare_it(self, plugin_tools: dict[str, Any]) -> None:
        from agent.executor import Executor

        undeclared = sorted(n for n in self.side_effect_tools
                            if n not in plugin_tools or not plugin_tools[n].side_effects)
        assert not undeclared, f"tools with side effects must say so (side_effects=True): " \
            f"{undeclared}"
        risky = {n: t for n, t in plugin_tools.items() if t.side_effects}
        calls = [{"name": n, "args": dict(a)} for n, t in risky.items()
                 if (a := self.sample_args_for(t)) is not None]  # valid, so approval decides
        results = asyncio.run(Executor(risky, approve=None).execute(calls))
        bad = {r.name: r.error or r.status for r in results
               if r.ok or "approval" not in (r.error or "")}
        assert not bad, _listing("side-effect tools ran without approval", bad)

    def test_tools_export_to_langchain(self, plugin_tools: dict[str, Any]) -> None:
        from langchain_core.utils.function_calling import convert_to_openai_tool

        from agent.plugins.langchain import to_langchain_tools

        bad = {}
        for lc in to_langchain_tools(plugin_tools):
            spec = convert_to_openai_tool(lc)["function"]
            if spec["name"] != lc.name or spec.get("parameters") != plugin_tools[
                    lc.name].parameters:
                bad[lc.name] = "the LangChain tool's schema differs from the tool's"
        assert not bad, _listing("LangChain export", bad)


def _entry_point(name: str) -> Any:
    from importlib.metadata import entry_points

    from agent.plugin_manager import ENTRY_POINT_GROUP

    found = list(entry_points(group=ENTRY_POINT_GROUP, name=name))
    if not found:
        pytest.fail(f"no entry point {name!r} in group {ENTRY_POINT_GROUP!r}: is the package "
                    "installed (pip install -e .) and is the entry point in pyproject.toml?")
    return found[0]


def _listing(what: str, problems: Mapping[str, Any]) -> str:
    lines = [f"{what}:"] + [f"  {name}: {why}" for name, why in problems.items()]
    return "\n".join(lines)
