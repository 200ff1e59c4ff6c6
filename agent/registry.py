"""What the plugins offer: tools, planners, models and exporters, each with its provenance.

A registry calls each registration hook once. Two things with one name are never silently
overwritten: the first stays, the clash is recorded in ``conflicts`` and shown by the CLI.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from agent.errors import (
    DuplicateToolError,
    ExporterNotFoundError,
    ModelNotFoundError,
    PlannerNotFoundError,
    ToolNotFoundError,
)
from agent.plugin_manager import PluginSet, load_plugins
from agent.types import Tool


@dataclass
class Entry:
    """A named planner, model or exporter factory and the plugin that offered it."""

    name: str
    factory: Callable[..., Any]
    plugin: str | None
    description: str = ""


@dataclass
class Registry:
    plugins: PluginSet
    tools: dict[str, Tool] = field(default_factory=dict)
    planners: dict[str, Entry] = field(default_factory=dict)
    models: dict[str, Entry] = field(default_factory=dict)
    exporters: dict[str, Entry] = field(default_factory=dict)
    retrievers: dict[str, Entry] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)

    # Lookup -------------------------------------------------------------------------------
    def tool(self, name: str) -> Tool:
        try:
            return self.tools[name]
        except KeyError:
            raise ToolNotFoundError(name, close_names(name, self.tools)) from None

    def planner(self, name: str, **options: Any) -> Any:
        """A new planner ``name`` with ``options`` (its constructor's keyword arguments,
        checked: ``agent.planner_options``)."""
        entry = self.planners.get(name)
        if entry is None:
            known = ", ".join(sorted(self.planners)) or "none installed"
            raise PlannerNotFoundError(f"unknown planner {name!r} (available: {known})")
        if options:
            from agent.planner_options import make_planner

            return make_planner(name, entry.factory, options)
        return entry.factory()

    def model(self, model_id: str, **options: Any) -> Any:
        entry = self.models.get(model_id)
        if entry is None:  # prefix claims such as "local:" or "openai:"
            prefix = model_id.split(":", 1)[0] + ":"
            entry = self.models.get(prefix)
            if entry is not None:
                return entry.factory(model_id, **options)
            known = ", ".join(sorted(self.models)) or "none installed"
            raise ModelNotFoundError(f"unknown model {model_id!r} (available: {known})")
        return entry.factory(**options)

    def exporter(self, name: str) -> Any:
        """A new exporter for format ``name`` (see the ``register_exporters`` hook)."""
        entry = self.exporters.get(name)
        if entry is None:
            known = ", ".join(sorted(self.exporters)) or "none installed"
            raise ExporterNotFoundError(f"unknown export format {name!r} (available: {known})")
        return entry.factory()

    # Registration -------------------------------------------------------------------------
    def add_tool(self, obj: Any, plugin: str | None = None, **options: Any) -> list[Tool]:
        """Add one tool (or a list); a clash is recorded, not overwritten."""
        from agent.schema import as_tool

        objs = obj if isinstance(obj, list | tuple) else [obj]
        added = []
        for o in objs:
            t = as_tool(o, **options)
            if plugin and t.plugin is None:
                import dataclasses

                t = dataclasses.replace(t, plugin=plugin)
            existing = self.tools.get(t.name)
            if existing is not None:
                self.conflicts.append(
                    f"tool {t.name!r} from {t.plugin or 'unknown'} ignored: the name is "
                    f"taken by {existing.plugin or 'unknown'}"
                )
                continue
            self.tools[t.name] = t
            added.append(t)
        return added

    def _add_entry(self, table: dict[str, Entry], kind: str, plugin: str) -> Callable[..., None]:
        def register(name: str, factory: Callable[..., Any], description: str = "") -> None:
            if name in table:
                self.conflicts.append(
                    f"{kind} {name!r} from {plugin} ignored: the name is taken by "
                    f"{table[name].plugin}"
                )
                return
            table[name] = Entry(name, factory, plugin, description)

        return register


def close_names(name: str, names: Iterable[str]) -> list[str]:
    """Names that look like ``name``, for "did you mean" hints."""
    names = list(names)
    matches = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    if not matches:
        matches = [n for n in names if name.lower() in n.lower()][:3]
    return matches


def build_registry(plugins: PluginSet | None = None) -> Registry:
    """Call every registration hook once, plugin by plugin, with errors isolated."""
    plugins = plugins if plugins is not None else load_plugins()
    reg = Registry(plugins)

    def tools_kwargs(plugin: str) -> dict[str, Any]:
        def register(obj: Any, **options: Any) -> None:
            reg.add_tool(obj, plugin=plugin, **options)

        return {"register": register}

    plugins.call_each("register_tools", tools_kwargs)
    plugins.call_each(
        "register_planners", lambda p: {"register": reg._add_entry(reg.planners, "planner", p)}
    )
    plugins.call_each(
        "register_models", lambda p: {"register": reg._add_entry(reg.models, "model", p)}
    )
    plugins.call_each(
        "register_exporters",
        lambda p: {"register": reg._add_entry(reg.exporters, "exporter", p)},
    )
    plugins.call_each(
        "register_retrievers",
        lambda p: {"register": reg._add_entry(reg.retrievers, "retriever", p)},
    )
    return reg


def exporter_registry(plugins: PluginSet | None = None) -> Registry:
    """A registry of exporters only: ``agent export`` need not build every tool's schema."""
    plugins = plugins if plugins is not None else load_plugins()
    reg = Registry(plugins)
    plugins.call_each(
        "register_exporters",
        lambda p: {"register": reg._add_entry(reg.exporters, "exporter", p)},
    )
    return reg


def collect_tools(items: Iterable[Any], registry: Callable[[], Registry]) -> dict[str, Tool]:
    """The tools an embedded Agent was given; a string names a registry tool.

    Unlike plugin registration, a clash here is the caller's own mistake: it raises.
    """
    from agent.schema import as_tool

    out: dict[str, Tool] = {}
    for obj in items:
        if isinstance(obj, str):
            batch = [registry().tool(obj)]
        elif isinstance(obj, list | tuple):
            batch = [as_tool(o) for o in obj]
        else:
            batch = [as_tool(obj)]
        for t in batch:
            if t.name in out:
                raise DuplicateToolError(
                    f"two tools are named {t.name!r}: give one another name (name=...)"
                )
            out[t.name] = t
    return out
