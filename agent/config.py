"""``agent.toml``: defaults for the CLI and ``Agent.from_config``, and the tool sources.

Two files are read, if they exist: ``$AGENT_HOME/agent.toml`` (the user's; without
``AGENT_HOME`` the user data directory, next to ``traces.db``) and ``./agent.toml`` (the
project's). Precedence, highest first: command-line flags, environment variables, the working
directory's file, the home file, built-in defaults. Settings are merged key by key; the tool
sources (``[[openapi]]``, ``[[mcp]]``) of both files are used, a working-directory source
replacing a home one of the same name. Planner options (``[planners.NAME]`` tables: the
planner's constructor arguments) merge option by option.

Every setting keeps where it came from, which ``agent config show`` prints.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import PlannerOptionError, UsageError

if TYPE_CHECKING:
    from agent.approval import ApprovalPolicy

CONFIG_FILENAME = "agent.toml"
DEFAULTS: dict[str, Any] = {
    "model": None,
    "planner": "dataflow",
    "approval.policy": "ask",
    "approval.allow": [],
    "http.allow_private": False,
    "http.allow": [],
    "trace_writer": "auto",
}
ENV_VARS = {
    "model": "AGENT_MODEL",
    "planner": "AGENT_PLANNER",
    "http.allow_private": "AGENT_HTTP_ALLOW_PRIVATE",
    "http.allow": "AGENT_HTTP_ALLOW",
    "trace_writer": "AGENT_TRACE_WRITER",
}
SOURCE_KINDS = ("openapi", "mcp")


class ConfigError(UsageError):
    """``agent.toml`` is not valid TOML or does not fit the schema (file, line, what)."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path, self.line = Path(path), line
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Setting:
    """One setting in force and where it came from: "default", "FILE:LINE" or "$ENV"."""

    value: Any
    source: str


@dataclass(frozen=True)
class ToolSource:
    """One ``[[openapi]]`` or ``[[mcp]]`` table; ``base_dir`` resolves its relative paths."""

    kind: str
    entry: dict[str, Any]
    base_dir: Path
    file: Path
    line: int | None
    index: int

    @property
    def identity(self) -> str:
        """What makes two sources the same one (a later file's replaces an earlier's)."""
        if self.kind == "mcp":
            name = self.entry.get("name")
            return str(name) if name else f"{self.entry.get('command') or self.entry.get('url')}"
        return f"{self.entry.get('prefix') or ''}|{self.entry.get('spec')}"

    @property
    def label(self) -> str:
        """A short name for ``agent plugins``: ``mcp:files``, ``openapi:petstore``."""
        e = self.entry
        if self.kind == "mcp":
            name = e.get("name") or Path(str(e.get("command") or e.get("url") or "")).name
        else:
            prefix = str(e.get("prefix") or "").strip("_-")
            name = prefix or Path(str(e.get("spec") or "")).stem
        return f"{self.kind}:{name or self.index}"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else str(self.file)


@dataclass
class Config:
    """The settings in force, each with its source, plus the tool sources and files read."""

    settings: dict[str, Setting]
    sources: list[ToolSource] = field(default_factory=list)
    files: list[tuple[str, Path, bool]] = field(default_factory=list)  # (scope, path, read)
    #: ``[planners.NAME]`` options, each with its source: ``{"react": {"max_tools": ...}}``.
    planners: dict[str, dict[str, Setting]] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        return self.settings[key].value

    @property
    def model(self) -> str | None:
        value: str | None = self.get("model")
        return value

    @property
    def planner(self) -> str:
        return str(self.get("planner"))

    @property
    def trace_writer(self) -> str:
        """Who writes traces: auto, thread or process (``Agent(trace_writer=)``)."""
        return str(self.get("trace_writer"))

    def planner_options(self) -> dict[str, dict[str, Any]]:
        """``Agent(planner_options=)``: each planner's options, by planner name."""
        return {name: {k: s.value for k, s in options.items()}
                for name, options in self.planners.items()}

    def options_with(self, planner: str, flags: list[str] | None) -> dict[str, dict[str, Any]]:
        """The planner options in force with ``--planner-option`` ``flags`` for ``planner``
        (the one the command runs) over the files' ``[planners.NAME]`` tables."""
        return merged_options(self.planner_options(), {planner: parse_planner_options(flags)})

    def located(self, exc: PlannerOptionError, planner: str,
                flags: list[str] | None) -> PlannerOptionError:
        """``exc`` with where its option was set: the flag, or the file and line."""
        option = exc.option
        if option is not None and option in parse_planner_options(flags):
            where = f"--planner-option {option}"
        elif option is not None and option in self.planners.get(planner, {}):
            where = self.planners[planner][option].source
        else:
            return exc
        return PlannerOptionError(f"{exc} (set by {where})", option)

    def tool_settings(self) -> dict[str, Any]:
        """What tools read from ``ToolContext.settings``: the HTTP tools' address policy.

        The HTTP tools also read ``AGENT_HTTP_*`` themselves; the merged values here already
        hold those, and adding them twice changes nothing.
        """
        return {"http_allow_private": bool(self.get("http.allow_private")),
                "http_allow": list(self.get("http.allow"))}

    def approval(self) -> ApprovalPolicy:
        from agent.approval import ApprovalPolicy

        policy = self.settings["approval.policy"]
        return ApprovalPolicy(policy.value, tuple(self.get("approval.allow")), policy.source)


def home_dir() -> Path:
    """``$AGENT_HOME``, else the user data directory (where ``traces.db`` lives too)."""
    from agent.store.paths import default_db_path

    return default_db_path(create=False).parent


def config_files(cwd: Path | None = None) -> list[tuple[str, Path]]:
    """The files to read, lowest precedence first: ``("home", path)``, ``("cwd", path)``."""
    home = home_dir() / CONFIG_FILENAME
    here = (cwd or Path.cwd()) / CONFIG_FILENAME
    files = [("home", home)]
    try:  # working in AGENT_HOME itself: one file, read once
        same = here == home or os.path.samefile(here, home)
    except OSError:  # one of them does not exist
        same = False
    if not same:
        files.append(("cwd", here))
    return files


def read_file(path: Path) -> tuple[dict[str, Any], str]:
    """Parse and validate one file; raises ``ConfigError`` naming the file and line."""
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(path, None, "is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read it: {exc.strerror or exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, message = _toml_position(str(exc))
        raise ConfigError(path, line, f"invalid TOML: {message}") from None
    found = _problems(doc, text)
    if found:
        line, message = found[0]
        more = f" (and {len(found) - 1} more problem{'s' * (len(found) > 2)})" \
            if len(found) > 1 else ""
        raise ConfigError(path, line, message + more)
    return doc, text


def _problems(doc: dict[str, Any], text: str) -> list[tuple[int | None, str]]:
    from agent.config_schema import locate, problems

    found = problems(doc, text)
    if found:
        return found
    for i, entry in enumerate(doc.get("http", {}).get("allow", [])):
        if not _http_entry_ok(entry):
            found.append((locate(text, ["http", "allow"]),
                          f"http.allow[{i}]: expected a host name, IP address, CIDR network or "
                          f"host:port, got {entry!r}"))
    for kind in SOURCE_KINDS:  # duplicates inside one file are a mistake, not an override
        seen: dict[str, int] = {}
        for i, entry in enumerate(doc.get(kind, [])):
            ident = ToolSource(kind, entry, Path(), Path(), None, i).identity
            if ident in seen:
                line = locate(text, [kind, i])
                what = f"name {entry.get('name')!r}" if kind == "mcp" else "spec and prefix"
                found.append((line, f"{kind}[{i}] has the same {what} as {kind}[{seen[ident]}]"
                              "; give each source its own"))
            seen.setdefault(ident, i)
    return found


def _http_entry_ok(entry: str) -> bool:
    import ipaddress
    import re

    from agent.tools.http import split_host_port

    entry = entry.strip().lower().rstrip(".")
    try:
        ipaddress.ip_network(entry.strip("[]"), strict=False)
        return True
    except ValueError:
        pass
    host_port = split_host_port(entry)
    host = host_port[0] if host_port else entry
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        label = r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?"
        return re.fullmatch(rf"{label}(\.{label})*", host) is not None


def _toml_position(message: str) -> tuple[int | None, str]:
    import re

    m = re.search(r"\s*\(at line (\d+), column \d+\)\s*$", message)
    if m is None:
        return None, message
    return int(m.group(1)), message[:m.start()]


def load_config(cwd: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read the files and the environment into a ``Config`` (see the module docstring)."""
    env = os.environ if env is None else env
    settings = {k: Setting(v, "default") for k, v in DEFAULTS.items()}
    sources: dict[str, ToolSource] = {}
    files: list[tuple[str, Path, bool]] = []
    planners: dict[str, dict[str, Setting]] = {}
    for scope, path in config_files(cwd):
        if not path.is_file():
            files.append((scope, path, False))
            continue
        doc, text = read_file(path)
        files.append((scope, path, True))
        _merge(settings, sources, doc, text, path)
        _merge_planners(planners, doc, text, path)
    _apply_env(settings, env)
    return Config(settings, list(sources.values()), files, planners)


def _merge_planners(planners: dict[str, dict[str, Setting]], doc: dict[str, Any], text: str,
                    path: Path) -> None:
    from agent.config_schema import locate

    for name, options in doc.get("planners", {}).items():
        for option, value in options.items():
            line = locate(text, ["planners", name, option])
            planners.setdefault(name, {})[option] = Setting(
                value, f"{path}:{line}" if line else str(path))


def merged_options(base: Mapping[str, Mapping[str, Any]] | None,
                   over: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """Planner options by planner name, ``over``'s winning option by option."""
    out = {name: dict(options) for name, options in (base or {}).items()}
    for name, options in (over or {}).items():
        out.setdefault(name, {}).update(options)
    return out


def _merge(settings: dict[str, Setting], sources: dict[str, ToolSource], doc: dict[str, Any],
           text: str, path: Path) -> None:
    from agent.config_schema import locate

    for key in DEFAULTS:
        parts = key.split(".")
        value: Any = doc
        for part in parts:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        line = locate(text, parts)
        where = f"{path}:{line}" if line else str(path)
        settings[key] = Setting(value, where)
    for kind in SOURCE_KINDS:
        for i, entry in enumerate(doc.get(kind, [])):
            src = ToolSource(kind, entry, path.parent, path, locate(text, [kind, i]), i)
            key = f"{kind}\x00{src.identity}"
            sources.pop(key, None)  # a later file's source replaces (and follows) the earlier
            sources[key] = src


def _apply_env(settings: dict[str, Setting], env: Mapping[str, str]) -> None:
    for key, var in ENV_VARS.items():
        raw = env.get(var, "").strip()
        if not raw:
            continue
        current = settings[key]
        if key == "http.allow_private":
            # The HTTP tools OR the variable with the files' value: it can only widen.
            if raw.lower() in {"1", "true", "yes", "on"}:
                settings[key] = Setting(True, f"${var}")
        elif key == "http.allow":
            # ... and add the variable's hosts to the files' ones.
            extra = [h.strip() for h in raw.split(",") if h.strip()]
            source = f"${var}" if current.source == "default" else f"{current.source} + ${var}"
            settings[key] = Setting([*current.value, *extra], source)
        else:
            settings[key] = Setting(raw, f"${var}")


def describe_source(src: ToolSource) -> str:
    """A one-line summary of a tool source for ``agent config show``."""
    e = src.entry
    if src.kind == "openapi":
        what = str(e.get("spec", "?"))
        if e.get("prefix"):
            what += f" (prefix {e['prefix']})"
    else:
        what = str(e.get("url") or " ".join([str(e.get("command", "?")),
                                              *map(str, e.get("args", []))]))
    return f"{src.label}: {what}"


def redacted_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A source entry safe to print: ``env`` and ``headers`` values are hidden."""
    from agent.store.redact import REDACTED, redact

    out: dict[str, Any] = redact(dict(entry))
    for key in ("env", "headers"):
        if isinstance(out.get(key), dict):
            out[key] = {k: REDACTED for k in out[key]}
    return out


def parse_planner_options(pairs: list[str] | None) -> dict[str, Any]:
    """``--planner-option KEY=VALUE`` flags as options: each value read as a TOML value
    (``10``, ``true``, ``"a b"``, ``[1, 2]``), else taken as the text it is (``auto``)."""
    import tomllib

    options: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--planner-option takes KEY=VALUE, got {pair!r}: "
                             "e.g. --planner-option max_tools=10")
        try:
            options[key] = tomllib.loads(f"value = {raw.strip()}")["value"]
        except tomllib.TOMLDecodeError:
            options[key] = raw.strip()
    return options
