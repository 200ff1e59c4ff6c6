"""One exception hierarchy for the library.

The library raises these; only the CLI turns them into one-line messages and exit codes.
Each carries ``exit_code`` so the CLI needs no per-class table.
"""

from __future__ import annotations


class AgentError(Exception):
    """Base class of every error the framework raises on purpose."""

    exit_code = 1


class UsageError(AgentError):
    """The caller asked for something malformed (bad argument, bad file, bad flag)."""

    exit_code = 2


class ToolDefinitionError(AgentError):
    """A function, schema or object could not be turned into a tool."""


class DuplicateToolError(AgentError):
    """Two tools were given the same name; we never overwrite one silently."""


class ToolNotFoundError(UsageError):
    """No tool has this name; ``suggestions`` holds close names."""

    def __init__(self, name: str, suggestions: list[str] | None = None) -> None:
        self.name = name
        self.suggestions = suggestions or []
        names = ", ".join(map(repr, self.suggestions))
        hint = f"; did you mean {names}?" if self.suggestions else ""
        super().__init__(f"unknown tool {name!r}{hint} (see `agent tools`)")


class InvalidArgumentsError(UsageError):
    """Arguments do not validate against a tool's schema."""

    def __init__(self, tool: str, message: str, field: str | None = None) -> None:
        self.tool = tool
        self.field = field
        self.detail = message
        where = f"argument {field!r}" if field else "arguments"
        super().__init__(f"{tool}: {where}: {message}")


class PlanError(UsageError):
    """An explicit plan is malformed: unknown references, cycles, duplicate ids."""


class PlannerNotFoundError(UsageError):
    """No planner is registered under this name."""


class PlannerOptionError(UsageError):
    """A planner was given an option it does not have, or a value it refuses; ``option``
    names it when known (the CLI then says where it was set)."""

    def __init__(self, message: str, option: str | None = None) -> None:
        self.option = option
        super().__init__(message)


class ModelNotFoundError(UsageError):
    """No model is registered under this id."""


class ExporterNotFoundError(UsageError):
    """No exporter is registered under this format name."""


class PluginError(AgentError):
    """A plugin failed to load or raised in a hook."""


class ApprovalDenied(AgentError):
    """A tool with side effects was not approved."""


class NeedsInput(AgentError):
    """The planner needs information only the user can give, and nobody can be asked.

    A non-interactive run ends with status ``needs_input``; ``fields`` says what is missing.
    """

    def __init__(self, question: str, fields: dict[str, object] | None = None) -> None:
        self.question = question
        self.fields = fields or {}
        super().__init__(question)


class ToolError(Exception):
    """Raise inside a tool to report a failure whose message is meant for the planner.

    The runtime turns it into an error result with exactly this message (no traceback, no
    exception class name), so tools can explain what went wrong in plain words.
    """
