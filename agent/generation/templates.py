"""Query templates: how a tool (or a chain of tools) is asked for in words.

A template is text with ``{param}`` placeholders naming the tool's own parameters, and
``{other_tool.param}`` placeholders naming a parameter of a tool earlier in a chain (a chain
template: "Book the cheapest hotel in {search_hotels.city} ..."). Tools ship templates in
``Tool.templates``; a tool without any gets one derived from its description and its
parameters' descriptions. Every placeholder is checked when the templates are loaded, so a
typo fails at once with the tool, the template and the parameter named, never mid-job.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass

from agent.errors import UsageError
from agent.types import Tool


class TemplateError(UsageError):
    """A template names a parameter (or a tool) that does not exist, or leaves one out."""


@dataclass(frozen=True)
class Template:
    """A parsed template of ``tool``: its own fields, and fields of other tools in a chain."""

    tool: str
    text: str
    own: tuple[str, ...]  # the tool's own parameters, in order of appearance
    foreign: tuple[tuple[str, str], ...]  # (tool, parameter) of producers earlier in a chain
    derived: bool = False

    @property
    def producers(self) -> frozenset[str]:
        return frozenset(t for t, _ in self.foreign)


def placeholders(text: str) -> list[str]:
    """The field names of ``text`` (``{{`` and ``}}`` are literal braces)."""
    try:
        return [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise TemplateError(f"template {text!r}: {exc}") from None


def parse_template(tool: Tool, text: str, tools: Mapping[str, Tool],
                   derived: bool = False) -> Template:
    """Check every placeholder of ``text`` against ``tool`` (and the tools it names)."""
    props = tool.parameters.get("properties") or {}
    own: list[str] = []
    foreign: list[tuple[str, str]] = []
    for field in placeholders(text):
        where = f"tool {tool.name!r}, template {text!r}"
        if not field:
            raise TemplateError(f"{where}: an empty placeholder {{}}; name a parameter")
        if "." in field:
            other, _, param = field.partition(".")
            if other not in tools:
                raise TemplateError(f"{where}: placeholder {{{field}}} names unknown tool "
                                    f"{other!r}; use {{TOOL.PARAMETER}} with a selected tool")
            other_props = tools[other].parameters.get("properties") or {}
            if param not in other_props:
                raise TemplateError(
                    f"{where}: unknown parameter {param!r} of tool {other!r} in {{{field}}}; "
                    f"it has: {', '.join(other_props) or 'no parameters'}")
            if (other, param) not in foreign:
                foreign.append((other, param))
        elif field not in props:
            raise TemplateError(f"{where}: unknown parameter {field!r}; "
                                f"{tool.name} has: {', '.join(props) or 'no parameters'}")
        elif field not in own:
            own.append(field)
    template = Template(tool.name, text, tuple(own), tuple(foreign), derived)
    _check_complete(template, tool, tools)
    return template


def _check_complete(template: Template, tool: Tool, tools: Mapping[str, Tool]) -> None:
    """A query must say every value its calls get: each required parameter is mentioned,
    or (chain templates) produced by a tool the template names, or shared by name."""
    from agent.planners.concepts import outputs, param_concept

    props = tool.parameters.get("properties") or {}
    produced = {o.concept for p in template.producers for o in outputs(tools[p])}
    for name in tool.parameters.get("required") or ():
        if name in template.own:
            continue
        if param_concept(name, props.get(name) or {}) in produced:
            continue
        raise TemplateError(
            f"tool {tool.name!r}, template {template.text!r}: required parameter {name!r} "
            f"is not mentioned; add {{{name}}} (or name a tool that produces it)")
    for other in template.producers:
        mentioned = {p for t, p in template.foreign if t == other}
        for name in tools[other].parameters.get("required") or ():
            if name not in mentioned and name not in template.own:
                raise TemplateError(
                    f"tool {tool.name!r}, template {template.text!r}: required parameter "
                    f"{name!r} of {other!r} is not mentioned; add {{{other}.{name}}}")


def derive_template(tool: Tool) -> str:
    """A plain template from the description and each required parameter's description:
    "Find the airports that serve a city: city {city}." """
    first = re.split(r"(?<=[.!?])\s", tool.description.strip(), maxsplit=1)[0].rstrip(".!? ")
    lead = first or tool.name.replace("_", " ")
    parts = []
    for name in tool.parameters.get("required") or ():
        label = name.replace("_", " ")
        parts.append(f"{label} {{{name}}}")
    text = lead.replace("{", "{{").replace("}", "}}")
    if parts:
        text += ": " + ", ".join(parts)
    return text + "."


def load_templates(tool: Tool, tools: Mapping[str, Tool]) -> list[Template]:
    """The tool's own templates, checked; a derived one when it ships none."""
    if tool.templates:
        return [parse_template(tool, t, tools) for t in tool.templates]
    return [parse_template(tool, derive_template(tool), tools, derived=True)]


def render_value(value: object) -> str:
    """How a value reads in a query: enum-style words with spaces, numbers without noise."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if not value.is_integer() else str(
            int(value))
    if isinstance(value, str):
        return value.replace("_", " ") if re.fullmatch(r"[a-z]+(_[a-z]+)+", value) else value
    if isinstance(value, list):
        return ", ".join(render_value(v) for v in value)
    return str(value)


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill ``text``'s placeholders from ``values`` (already rendered to words)."""
    out = []
    for literal, field, _, _ in string.Formatter().parse(text):
        out.append(literal)
        if field is not None:
            out.append(values[field])
    return "".join(out)
