"""Approval of tools with side effects: the policy from ``agent.toml``'s ``[approval]`` table.

``policy = "ask"`` (default) asks at a terminal (or whatever ``prompt`` the caller gives) and
refuses when nobody can be asked; ``"auto"`` approves every call; ``"deny"`` refuses every
call. Tools matching an ``allow`` pattern are approved without asking under ``ask`` and
``deny``. A pattern is a glob on the tool name (``"http_post"``, ``"github_*"``) or
``"PLUGIN:NAME"`` with globs on both (``"mcp:files:*"``: every tool of that source).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from agent.errors import ApprovalDenied
from agent.executor import Approver
from agent.types import Tool, maybe_await

POLICIES = ("ask", "auto", "deny")


@dataclass(frozen=True)
class ApprovalPolicy:
    """Who approves side-effect calls; ``source`` says where the policy came from."""

    policy: str = "ask"
    allow: tuple[str, ...] = ()
    source: str = "default"

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"approval policy must be one of {', '.join(POLICIES)}, "
                             f"got {self.policy!r}")

    def allows(self, tool: Tool) -> bool:
        """Does an ``allow`` pattern approve this tool without asking?"""
        for pattern in self.allow:
            plugin, sep, name = pattern.rpartition(":")
            if not sep:
                if fnmatchcase(tool.name, pattern):
                    return True
            elif fnmatchcase(tool.plugin or "", plugin) and fnmatchcase(tool.name, name):
                return True
        return False

    def approver(self, prompt: Approver | None = None, *,
                 yes: bool = False) -> Approver | bool | None:
        """What ``Agent(approve=...)`` takes: ``yes`` (``--yes``) approves everything.

        ``prompt(call, tool)`` asks someone; ``None`` means nobody can be asked.
        """
        if yes or self.policy == "auto":
            return True
        if self.policy == "ask" and not self.allow:
            return prompt  # None: the executor refuses and says how to approve

        async def approve(call: dict[str, Any], tool: Tool) -> bool:
            if self.allows(tool):
                return True
            if self.policy == "deny":
                raise ApprovalDenied(
                    f"tool {tool.name!r} has side effects and the approval policy is 'deny' "
                    f"({self.source}); add it to [approval] allow to permit it")
            if prompt is None:
                raise ApprovalDenied(
                    f"tool {tool.name!r} has side effects and needs approval; none was given "
                    "(CLI: answer the prompt or use --yes; agent.toml: [approval] allow)")
            return bool(await maybe_await(prompt(call, tool)))

        return approve
