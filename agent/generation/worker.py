"""What runs in a worker: the registry (built once per process), and a run captured as the
store operations a live trace would have written.

Workers may be other processes (the Ray engine ships work to them), so everything that
crosses is plain data: a ``setup`` (environment variables and extra plugin modules, enough
to build the same registry anywhere) and, back, a record whose ``ops`` the one writer
applies to the trace store in one transaction.

Runs happen in a sandbox: a temporary directory per process that plugins populate through
the ``generation_sandbox`` hook (sample files and databases their examples name), with the
tool settings that point their tools at it. It is made in the worker, so a Ray node gets
its own, and removed when the process exits (or, for a killed worker, by the next one).
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agent.recorder import TraceRecorder, as_op
from agent.registry import Registry
from agent.store.rows import message_dict
from agent.types import Step

_REGISTRIES: dict[str, Registry] = {}
_SANDBOXES: dict[str, dict[str, Any]] = {}
_SANDBOX_LOCK = threading.Lock()
SANDBOX_PREFIX = "agent-generate-"  # then the pid of the process that made it


def make_setup(plugins: Iterable[str] = (), env: dict[str, str] | None = None) -> dict[str, Any]:
    """The setup a worker needs: this process's ``AGENT_*`` variables, extra plugin modules.

    Only ``AGENT_*`` variables travel (plugin configuration such as ``AGENT_TRAVEL_URL``);
    provider keys stay in each worker's own environment.
    """
    chosen = {k: v for k, v in os.environ.items() if k.startswith("AGENT_")} if env is None \
        else dict(env)
    return {"env": dict(sorted(chosen.items())), "plugins": list(plugins)}


def registry_for(setup: dict[str, Any]) -> Registry:
    """The registry this setup describes, built once per process."""
    key = json.dumps(setup, sort_keys=True)
    reg = _REGISTRIES.get(key)
    if reg is None:
        from agent.errors import UsageError
        from agent.plugin_manager import load_plugins
        from agent.registry import build_registry

        os.environ.update(setup.get("env") or {})
        extra = []
        for name in setup.get("plugins") or ():
            try:
                extra.append(importlib.import_module(name))
            except ImportError as exc:
                raise UsageError(f"cannot import plugin module {name!r} ({exc}); is it on "
                                 "PYTHONPATH or installed?") from None
        reg = _REGISTRIES[key] = build_registry(load_plugins(extra=extra))
    return reg


def sandbox_for(setup: dict[str, Any]) -> dict[str, Any]:
    """The tool settings of this setup's sandbox, made (and populated) once per process."""
    key = json.dumps(setup, sort_keys=True)
    with _SANDBOX_LOCK:
        settings = _SANDBOXES.get(key)
        if settings is None:
            registry = registry_for(setup)
            _remove_stale_sandboxes()
            root = Path(tempfile.mkdtemp(prefix=f"{SANDBOX_PREFIX}{os.getpid()}-"))
            atexit.register(shutil.rmtree, root, ignore_errors=True)
            settings = {}
            registry.plugins.call_each("generation_sandbox",
                                       lambda _plugin: {"root": root, "settings": settings})
            _SANDBOXES[key] = settings
    return dict(settings)


def _remove_stale_sandboxes() -> None:
    """Remove this user's sandboxes whose process is gone: a killed worker (Ray stops its
    workers without running ``atexit``) leaves its sandbox behind."""
    if os.name != "posix":  # os.kill(pid, 0) only probes on POSIX
        return
    for path in Path(tempfile.gettempdir()).glob(f"{SANDBOX_PREFIX}*-*"):
        pid = path.name[len(SANDBOX_PREFIX):].split("-", 1)[0]
        try:
            if not pid.isdigit() or path.stat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except OSError:  # alive under another user, or the path vanished: leave it
            continue


class OpsCapture(TraceRecorder):
    """A trace recorder that keeps the store operations instead of writing them.

    The run goes through the same environment and recorder calls as a live traced run, so
    the stored synthetic run has exactly the shape of a recorded one.
    """

    def __init__(self) -> None:  # no writer thread: nothing is written here
        self.store = None
        self.errors = []
        self._pending = []
        self._queued = set()
        self._closed = False

    def _wake(self) -> None:
        pass

    def kick(self) -> None:
        pass

    async def flush(self) -> None:
        pass

    async def keep_up(self) -> None:  # what it keeps is what it is for
        pass

    def flush_sync(self) -> None:
        pass

    def close(self) -> None:
        self._closed = True

    def ops(self) -> list[list[Any]]:
        """The operations as plain lists ``[name, args, kwargs]`` (steps as they are now,
        transcripts materialised)."""
        out: list[list[Any]] = []
        for entry in self._pending:
            op, args, kwargs = as_op(entry)
            if op == "record_step" and isinstance(args[0], Step):
                out.append(["record_step", [args[0].record()], {}])
                continue
            if op == "record_messages":
                args = (args[0], [message_dict(m) for m in args[1]], *args[2:])
            elif op == "record_tool_calls":
                args = (list(args[0]), *args[1:])
            out.append([op, list(args), dict(kwargs)])
        return out


def capture(agent: Any) -> OpsCapture:
    """Make ``agent`` (built with ``store=False``) record into an ``OpsCapture``."""
    recorder = OpsCapture()
    agent._trace = recorder  # the agent's own recorder slot; no store is ever opened
    return recorder
