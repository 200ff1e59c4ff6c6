"""The plugin manager: built-ins and entry-point plugins, loaded the same way, each isolated.

Built-in tool modules are plugins like any other (``DEFAULT_PLUGINS``). Third-party plugins
come from the ``agent.plugins`` entry-point group. A plugin that fails to import, or raises in
a registration hook, is recorded with its error and skipped; the others keep working.

Environment switches:
- ``AGENT_LOAD_PLUGINS=a,b``: load only these entry-point plugins ("" loads none).
- ``AGENT_DISABLE_PLUGINS=a,b``: skip these plugins, built-in or not (short or full name).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from agent import hookspecs

ENTRY_POINT_GROUP = "agent.plugins"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "agent.tools.calculator",
    "agent.tools.units",
    "agent.tools.dates",
    "agent.tools.files",
    "agent.tools.sqlite",
    "agent.tools.http",
    "agent.planners.dataflow",
    "agent.planners.llm_planners",
    "agent.plugins.openai_compat",
    "agent.plugins.llamacpp",
    "agent.plugins.langchain_models",
    "agent.export.formats",
)


@dataclass
class PluginInfo:
    """One plugin as ``agent plugins`` shows it."""

    name: str
    source: str  # "builtin", "entrypoint" or "object"
    module: str | None = None
    version: str | None = None
    error: str | None = None
    hooks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


class PluginSet:
    """A pluggy manager plus what happened while loading each plugin."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("agent")
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}

    def add(self, plugin: object, name: str, source: str, **info: Any) -> None:
        """Register a plugin object or module under ``name``."""
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:  # pluggy validation errors: bad hook signatures
            self.infos[name] = PluginInfo(name, source, error=_one_line(exc), **info)
            return
        hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
        self.infos[name] = PluginInfo(name, source, hooks=hooks, **info)

    def fail(self, name: str, exc: BaseException, source: str, **info: Any) -> None:
        if name in self.infos:
            self.infos[name].error = _one_line(exc)
        else:
            self.infos[name] = PluginInfo(name, source, error=_one_line(exc), **info)

    def call_each(self, hook_name: str, make_kwargs: Callable[[str], dict[str, Any]]) -> None:
        """Call ``hook_name`` on every plugin separately; a raising plugin is recorded."""
        caller = getattr(self.pm.hook, hook_name)
        for impl in caller.get_hookimpls():  # registration order
            try:
                impl.function(**make_kwargs(impl.plugin_name))
            except Exception as exc:
                info = self.infos.get(impl.plugin_name)
                self.fail(impl.plugin_name, exc, info.source if info else "object")

    def has_impls(self, hook_name: str) -> bool:
        return bool(getattr(self.pm.hook, hook_name).get_hookimpls())

    def impls(self, hook_name: str) -> list[Callable[..., Any]]:
        return [i.function for i in getattr(self.pm.hook, hook_name).get_hookimpls()]


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _names(env: str) -> set[str] | None:
    value = os.environ.get(env)
    if value is None:
        return None
    return {n.strip() for n in value.split(",") if n.strip()}


def _disabled(name: str, disabled: set[str]) -> bool:
    return name in disabled or name.rsplit(".", 1)[-1] in disabled


def load_plugins(
    builtins: Iterable[str] = DEFAULT_PLUGINS,
    *,
    entry_points: bool = True,
    extra: Iterable[object] = (),
    sources: bool | None = None,
) -> PluginSet:
    """Build a plugin set: built-ins, then entry points, then ``extra`` plugin objects.

    ``sources`` (default: as ``entry_points``) adds a plugin per tool source of
    ``agent.toml`` (``[[openapi]]``, ``[[mcp]]``): see ``agent.plugins.configured``.
    """
    plugins = PluginSet()
    disabled = _names("AGENT_DISABLE_PLUGINS") or set()
    for module_name in builtins:
        if _disabled(module_name, disabled):
            continue
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            plugins.fail(module_name, exc, "builtin", module=module_name)
            continue
        plugins.add(module, module_name, "builtin", module=module_name)
    if entry_points:
        _load_entry_points(plugins, disabled)
    if entry_points if sources is None else sources:
        from agent.plugins.configured import add_sources

        add_sources(plugins, lambda name: _disabled(name, disabled))
    for i, obj in enumerate(extra):
        name = getattr(obj, "__name__", None) or f"{type(obj).__name__}#{i}"
        plugins.add(obj, name, "object")
    return plugins


def _load_entry_points(plugins: PluginSet, disabled: set[str]) -> None:
    from importlib.metadata import entry_points

    only = _names("AGENT_LOAD_PLUGINS")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist else None
        version = ep.dist.version if ep.dist else None
        if only is not None and ep.name not in only and dist not in only:
            continue
        if _disabled(ep.name, disabled) or (dist and dist in disabled):
            continue
        if ep.name in plugins.infos:
            continue  # the same distribution seen twice on sys.path
        try:
            plugin = ep.load()
        except Exception as exc:
            plugins.fail(ep.name, exc, "entrypoint", module=ep.value, version=version)
            continue
        plugins.add(plugin, ep.name, "entrypoint", module=ep.value, version=version)
