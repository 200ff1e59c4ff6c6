"""Test kit for plugin authors, shipped as a pytest plugin (entry point ``pytest11: agent``).

Installed with ``agent``, these fixtures are available in any test suite without imports:

- ``agent_home``: a fresh ``AGENT_HOME`` (traces, ``agent.toml``) under ``tmp_path``.
- ``agent_config``: ``agent_config('model = "x"')`` writes ``agent_home/agent.toml``.
- ``trace_store``: a ``TraceStore`` on a real SQLite file in ``agent_home``.
- ``make_agent``: ``make_agent([tools], **options)`` -> ``Agent`` tracing to ``trace_store``,
  closed after the test.
- ``scripted_model``: ``scripted_model("reply", call("tool", {...}))`` -> a scripted
  langchain-core chat model (see ``agent.testing.scripted``).
- ``agent_cli``: ``agent_cli("tools", "--json")`` runs the real ``agent`` command in a
  subprocess with that home; returns ``CompletedProcess``.

``ToolPluginConformance`` (``from agent.testing import ToolPluginConformance``) is a test base
class: subclass it, set ``plugin``, and the plugin inherits the conformance tests.

Nothing here is autouse and importing this module stays cheap: it is loaded by every pytest
run in an environment where ``agent`` is installed. Nor does it need pytest: without it the
scripted models (``agent.testing.scripted``) still import, for a demo or a notebook; only
the fixtures and ``ToolPluginConformance`` need pytest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.testing.conformance import ToolPluginConformance

try:
    import pytest  # noqa: F401  (the fixtures below need it; the scripted models do not)
except ImportError:
    pass
else:
    from agent.testing.fixtures import (  # noqa: F401  (pytest finds fixtures by name here)
        agent_cli,
        agent_config,
        agent_home,
        make_agent,
        scripted_model,
        trace_store,
    )

__all__ = ["ToolPluginConformance"]


def __getattr__(name: str) -> Any:
    """``ToolPluginConformance`` on first use: it is a pytest test class, and importing this
    package must not need pytest."""
    if name == "ToolPluginConformance":
        from agent.testing.conformance import ToolPluginConformance

        return ToolPluginConformance
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
