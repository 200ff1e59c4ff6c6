"""Tool sources from ``agent.toml``: each ``[[openapi]]`` and ``[[mcp]]`` table is a plugin.

Each source is registered as a plugin of its own (``openapi:petstore``, ``mcp:files``; source
``config``), so the plugin manager's error isolation applies to it: a spec that cannot be read
or a server that does not start is listed with its error by ``agent plugins`` and
``agent tools``, and the other sources keep working. ``AGENT_DISABLE_PLUGINS=mcp:files`` skips
one source, ``AGENT_DISABLE_PLUGINS=config`` all of them.

A source's tools come from ``agent.plugins.openapi.tools_from_config(entry, base_dir)`` or
``agent.plugins.mcp_client.tools_from_config(entry, base_dir)``; ``base_dir`` is the directory
of the file that defines the source, so relative paths there mean what they say.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from agent.config import ConfigError, ToolSource, load_config
from agent.errors import AgentError, PluginError
from agent.hookspecs import hookimpl
from agent.plugin_manager import PluginSet
from agent.types import Tool

CONFIG_PLUGIN = "agent.toml"
SOURCE = "config"
LOADERS = {"openapi": "agent.plugins.openapi", "mcp": "agent.plugins.mcp_client"}


def load_source(src: ToolSource) -> list[Tool]:
    """The tools of one source; raises ``PluginError`` saying which table failed and why."""
    try:
        module = importlib.import_module(LOADERS[src.kind])
    except ImportError as exc:
        raise PluginError(f"{src.where}: [[{src.kind}]] needs {LOADERS[src.kind]}, which "
                          f"cannot be imported ({exc})") from exc
    try:
        tools: list[Tool] = list(module.tools_from_config(dict(src.entry), src.base_dir))
    except AgentError as exc:
        raise PluginError(f"{src.where}: {exc}") from exc
    except Exception as exc:
        raise PluginError(f"{src.where}: {type(exc).__name__}: {exc}") from exc
    return tools


class SourcePlugin:
    """A plugin object offering the tools of one configured source."""

    def __init__(self, source: ToolSource) -> None:
        self.source = source
        self.__name__ = source.label

    @hookimpl
    def register_tools(self, register: Callable[..., Any]) -> None:
        register(load_source(self.source))


def add_sources(plugins: PluginSet, skip: Callable[[str], bool]) -> None:
    """Register a plugin per tool source of the config files in force.

    A config file that does not validate is recorded as the failed plugin ``agent.toml``
    (commands that need its settings report it themselves); the built-ins keep working.
    """
    if skip(SOURCE):
        return
    try:
        config = load_config()
    except ConfigError as exc:
        plugins.fail(CONFIG_PLUGIN, exc, SOURCE, module=str(exc.path))
        return
    for src in config.sources:
        name, n = src.label, 2
        while name in plugins.infos:  # two sources with one label: keep both, distinctly
            name, n = f"{src.label}#{n}", n + 1
        if skip(name) or skip(src.label):
            continue
        plugins.add(SourcePlugin(src), name, SOURCE, module=src.where)
