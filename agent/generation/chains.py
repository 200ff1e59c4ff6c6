"""Turn templates into work specs: which calls run, which arguments are sampled, which are
fed from another call's output (``{"$ref": ...}``), and how each placeholder is filled.

Chains come from the dataflow between tools (the concepts of ``agent.planners.concepts``):
- a chain template names its producers (``{search_hotels.city}``): the target's required
  parameters the template leaves out are fed from a producer's output of the same concept;
- an identifier a person would not say (an ``airport_code`` without an enum) is, in a second
  variant, produced by a one-argument lookup tool and said by that argument instead: the
  template's ``{origin}`` then reads "Paris" and the plan runs ``find_airports`` first.

A spec is plain data (it crosses process boundaries to workers); ``sample_example`` in
``agent.generation.programmatic`` fills it in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.types import Tool

from .sampling import can_sample
from .templates import Template, load_templates

MAX_CALLS = 6


@dataclass
class Catalog:
    """The specs per target tool, and why other selected tools have none."""

    specs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def tools(self) -> list[str]:
        return sorted(self.specs)


def _props(tool: Tool) -> dict[str, Any]:
    return dict(tool.parameters.get("properties") or {})


def _concept(tool: Tool, param: str) -> str:
    from agent.planners.concepts import param_concept

    return param_concept(param, _props(tool).get(param) or {})


def _pointer(producer: Tool, concept: str) -> str | None:
    from agent.planners.concepts import outputs

    for out in outputs(producer):
        if out.concept == concept:
            return out.pointer
    return None


def _lookup_producers(tools: Mapping[str, Tool], concept: str, consumer: str) -> list[str]:
    """One-argument tools that turn something a person says into ``concept``.

    Not a lookup from what the consumer itself tells ("which city is airport <city> in"
    would look a city up to ask for its city).
    """
    from agent.planners.concepts import outputs

    told = {o.concept for o in outputs(tools[consumer])}
    found = []
    for name, t in tools.items():
        required = list(t.parameters.get("required") or ())
        if name == consumer or len(required) != 1:
            continue
        said = _concept(t, required[0])
        if said == concept or said in told or _needs_lookup(t, required[0]) \
                or not can_sample(_props(t).get(required[0])):
            continue
        if _pointer(t, concept) is not None:
            found.append(name)
    return sorted(found)


def _needs_lookup(tool: Tool, param: str) -> bool:
    from agent.planners.concepts import expects_identifier

    schema = _props(tool).get(param) or {}
    return expects_identifier(_concept(tool, param)) and not schema.get("enum")


class _Builder:
    def __init__(self, tools: Mapping[str, Tool]) -> None:
        self.tools = tools
        self.calls: list[dict[str, Any]] = []

    def add(self, name: str, literal: list[str], *, before: int | None = None) -> dict[str, Any]:
        call = {"id": "", "name": name, "literal": list(literal), "refs": {}, "mentions": {},
                "share": []}
        self.calls.insert(len(self.calls) if before is None else before, call)
        return call

    def finish(self, template: Template) -> dict[str, Any]:
        ids: dict[int, str] = {}
        for i, call in enumerate(self.calls, 1):
            ids[id(call)] = str(i)
            call["id"] = str(i)
        for call in self.calls:  # producer references were kept as objects until now
            call["refs"] = {p: f"{ids[id(src)]}#{ptr}" for p, (src, ptr) in call["refs"].items()}
            call["mentions"] = {p: ids[id(src)] for p, src in call["mentions"].items()}
        target = self.calls[-1]
        fields: dict[str, list[str]] = {p: [target["id"], p] for p in template.own}
        for other, param in template.foreign:
            first = next(c for c in self.calls if c["name"] == other)
            fields[f"{other}.{param}"] = [first["id"], param]
        return {"tool": template.tool, "template": template.text, "derived": template.derived,
                "calls": self.calls, "fields": fields,
                "tools": sorted({c["name"] for c in self.calls})}


def _base(template: Template, tools: Mapping[str, Tool]) -> dict[str, Any] | str:
    """The spec that says every value literally (chain templates: through their producers)."""
    target = tools[template.tool]
    b = _Builder(tools)
    producers: dict[str, dict[str, Any]] = {}
    for other in dict.fromkeys(t for t, _ in template.foreign):
        mentioned = [p for t, p in template.foreign if t == other]
        required = [p for p in tools[other].parameters.get("required") or ()
                    if p not in mentioned]
        call = b.add(other, mentioned + required)
        call["share"] = required  # said once, for the target: the same value for both
        producers[other] = call
    own = b.add(template.tool, list(template.own))
    for param in target.parameters.get("required") or ():
        if param in template.own:
            continue
        concept = _concept(target, param)
        for name, call in producers.items():
            ptr = _pointer(tools[name], concept)
            if ptr is not None:
                own["refs"][param] = (call, ptr)
                break
    for call in b.calls:
        tool = tools[call["name"]]
        for param in call["literal"]:
            if not can_sample(_props(tool).get(param)):
                return f"parameter {param!r} of {tool.name} has no enum, examples or format " \
                       "to sample from, and no tool produces it"
    return b.finish(template) if len(b.calls) <= MAX_CALLS else "chain too long"


def _expand(spec: dict[str, Any], template: Template,
            tools: Mapping[str, Tool]) -> dict[str, Any] | None:
    """The variant where identifiers are looked up from what a person would say."""
    calls = [dict(c, literal=list(c["literal"]), refs=dict(c["refs"]),
                  mentions=dict(c["mentions"])) for c in spec["calls"]]
    by_id = {c["id"]: c for c in calls}
    b = _Builder(tools)
    b.calls = calls
    for call in calls:  # keep references as objects while calls are inserted
        call["refs"] = {p: (by_id[r.split("#")[0]], "#".join(r.split("#")[1:]))
                        for p, r in call["refs"].items()}
        call["mentions"] = {p: by_id[m] for p, m in call["mentions"].items()}
    changed = False
    for call in list(calls):
        tool = tools[call["name"]]
        for param in list(call["literal"]):
            if param in call["share"] or not _needs_lookup(tool, param):
                continue
            concept = _concept(tool, param)
            producers = _lookup_producers(tools, concept, call["name"])
            if not producers:
                continue
            name = producers[0]
            lookup = b.add(name, list(tools[name].parameters.get("required") or ()),
                           before=b.calls.index(call))
            call["literal"].remove(param)
            call["refs"][param] = (lookup, _pointer(tools[name], concept))
            call["mentions"][param] = lookup
            changed = True
    if not changed or len(b.calls) > MAX_CALLS:
        return None
    return b.finish(template)


def build_catalog(tools: Mapping[str, Tool], selected: list[str]) -> Catalog:
    """Specs for every selected tool (its templates, each with its chain variant).

    Raises ``TemplateError`` for a template that names an unknown parameter or tool.
    """
    pool = {n: tools[n] for n in selected}
    catalog = Catalog()
    for name in selected:
        specs: list[dict[str, Any]] = []
        reason = ""
        for template in load_templates(pool[name], pool):
            base = _base(template, pool)
            if isinstance(base, str):
                reason = reason or base
                continue
            specs.append(base)
            expanded = _expand(base, template, pool)
            if expanded is not None:
                specs.append(expanded)
        if specs:
            catalog.specs[name] = specs
        else:
            catalog.skipped[name] = reason or "no usable template"
    return catalog
