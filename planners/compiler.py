"""``compiler``: LLMCompiler: a streamed plan of tool calls, run as a dataflow graph.

The model writes a numbered plan (format in ``prompts/compiler_planner``)::

    1. search(query="Oslo")
    2. search(query="Rome")
    3. compare(a=$1, b=$2.temp)
    4. join()

The plan is streamed: each line is parsed as soon as it is complete, and its task starts as
soon as the tasks it references are done, while the model is still writing the rest. A
reference ``$N`` (a whole argument value, never inside a string) is our ``{"$ref": "N"}``;
``$N.field`` and ``$N[0]`` become JSON Pointers (``{"$ref": "N#/field"}``). Each task runs
as its own ``env.call_tools`` step (a child of the plan's model step), so independent tasks
start independently. Then a joiner step (``prompts/compiler_joiner``) answers, or asks for
a new plan (at most ``max_replans`` times) with the results so far as context.

A task whose dependency failed, or whose line cannot be parsed, does not run; the joiner is
told why. Nor does a task that repeats an earlier task's call: its ``$N`` is that result.
A task's arguments are checked by the executor like any other call. A model that decodes
under a grammar (``accepts_grammar``: the embedded ``local:`` model) writes the plan under
one (``compiler_grammar``), so even a small model's plan is lines of valid calls.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agent.environment import Environment
from agent.refs import LITERAL, REF, find_refs, substitute
from agent.types import Answer, Step, Task, Tool, ToolResult

from .compiler_grammar import GRAMMAR_TASKS, plan_grammar
from .llm import (
    FittingTools,
    describe_tools,
    literal_args,
    offered_tools,
    prompt,
    refuse_unoffered,
    stream_model,
    wrap_output,
)

TASK_LINE = re.compile(r"^\s*(?:[-*]\s*)?(\d+)\s*[.)]\s*([A-Za-z_][\w.-]*)\s*\((.*)\)\s*;?\s*$")
IGNORED = re.compile(r"^\s*(?:thought\s*:|#|```|$)", re.I)
REF_NAME = "__ref_"
JOIN = "join"


class PlanSyntaxError(ValueError):
    """A plan line that does not follow the format."""


@dataclass
class PlanTask:
    id: str
    name: str
    args: dict[str, Any]
    line: str
    deps: list[str] = field(default_factory=list)


# Parsing ---------------------------------------------------------------------------------
def _mark_refs(text: str) -> str:
    """Replace ``$N`` outside string literals by a Python name ``__ref_N``."""
    out: list[str] = []
    quote: str | None = None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            out.append(ch)
        elif ch == "$" and i + 1 < n and text[i + 1].isdigit():
            j = i + 1
            while j < n and text[j].isdigit():
                j += 1
            out.append(f"{REF_NAME}{text[i + 1:j]}")
            i = j
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


_CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False,
              "None": None}


def _pointer_part(part: Any) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


def _value(node: ast.expr) -> Any:
    """A JSON value, or a reference, from an argument's syntax tree (nothing is evaluated)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float, bool,
                                                                   type(None))):
        return node.value
    if isinstance(node, ast.Name):
        if node.id.startswith(REF_NAME):
            return {REF: node.id[len(REF_NAME):]}
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise PlanSyntaxError(f"unknown name {node.id!r} (strings are written in quotes)")
    if isinstance(node, (ast.Attribute, ast.Subscript)):
        base = _value(node.value)
        if not (type(base) is dict and REF in base):
            raise PlanSyntaxError("only a reference ($N) can be followed by .field or [index]")
        if isinstance(node, ast.Attribute):
            part: Any = node.attr
        elif isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, (str, int)):
            part = node.slice.value
        else:
            raise PlanSyntaxError("an index must be a number or a quoted key")
        return {REF: f"{base[REF]}{'' if '#' in base[REF] else '#'}/{_pointer_part(part)}"}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _value(node.operand)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner if isinstance(node.op, ast.USub) else inner
        raise PlanSyntaxError("a sign must precede a number")
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_value(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        out: dict[str, Any] = {}
        for k, v in zip(node.keys, node.values, strict=True):
            if not (isinstance(k, ast.Constant) and isinstance(k.value, str)):
                raise PlanSyntaxError("object keys must be quoted strings")
            out[k.value] = _value(v)
        if len(out) == 1 and (REF in out or LITERAL in out):
            return {LITERAL: out}  # an object the model wrote, not one of our references
        return out
    raise PlanSyntaxError(f"unsupported value: {ast.unparse(node)}")


def parse_args(text: str, tool: Tool | None) -> dict[str, Any]:
    """``a=1, b=$2`` as arguments; positional values take the tool's parameters in order."""
    try:
        tree = ast.parse(f"_({_mark_refs(text)})", mode="eval")
    except SyntaxError as exc:
        raise PlanSyntaxError(f"cannot read the arguments: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # null bytes, absurd nesting
        raise PlanSyntaxError(f"cannot read the arguments: {exc}") from None
    call = tree.body
    assert isinstance(call, ast.Call)
    args: dict[str, Any] = {}
    if call.args:
        names = list((tool.parameters.get("properties") or {}) if tool else {})
        if len(call.args) > len(names):
            raise PlanSyntaxError(f"{len(call.args)} positional values for "
                                  f"{len(names)} parameters; use name=value")
        for name, node in zip(names, call.args, strict=False):
            args[name] = _value(node)
    for kw in call.keywords:
        if kw.arg is None:
            raise PlanSyntaxError("** is not allowed; use name=value")
        if kw.arg in args:
            raise PlanSyntaxError(f"argument {kw.arg!r} given twice")
        args[kw.arg] = _value(kw.value)
    return args


def parse_line(line: str, tools: dict[str, Tool], known: set[str]) -> PlanTask | None:
    """A task, ``None`` for lines without one; ``PlanSyntaxError`` for a malformed line."""
    if IGNORED.match(line):
        return None
    m = TASK_LINE.match(line)
    if m is None:
        raise PlanSyntaxError("not a task line like '1. tool(arg=value)'")
    task_id, name, arg_text = m.groups()
    if task_id in known:
        raise PlanSyntaxError(f"task {task_id} appears twice")
    if name == JOIN:
        return PlanTask(task_id, JOIN, {}, line.strip())
    args = parse_args(arg_text, tools.get(name))
    deps = sorted(find_refs(args), key=int)
    for d in deps:
        if d not in known:
            raise PlanSyntaxError(f"${d} is not an earlier task")
    return PlanTask(task_id, name, args, line.strip(), deps)


# Running ---------------------------------------------------------------------------------
@dataclass
class Round:
    """One plan: its text, its tasks and their outcomes."""

    tasks: dict[str, PlanTask] = field(default_factory=dict)
    running: dict[str, asyncio.Task[ToolResult | None]] = field(default_factory=dict)
    results: dict[str, ToolResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    joined: bool = False
    buffer: str = ""
    calls: dict[str, str] = field(default_factory=dict)  # a call's key -> its first task
    aliases: dict[str, str] = field(default_factory=dict)  # a repeated task -> that task


class CompilerPlanner:
    """LLMCompiler: streamed DAG plans, tasks started while the plan streams, a joiner.

    max_replans: new plans after the first; max_tasks: tasks per plan (more are not run);
    max_tools: offer at most this many tools (the retriever picks them).
    first_tools: the tools the first plan's prompt describes: ``"fitting"`` (default) the
    ones that fit the query (``FittingTools``; all when none fit), ``"all"`` every offered
    tool. Replans describe them all, and a plan may call any offered tool.
    """

    name = "compiler"

    def __init__(self, *, max_replans: int = 2, max_tasks: int = 20, max_tools: int = 40,
                 first_tools: str = "fitting") -> None:
        if first_tools not in ("fitting", "all"):
            raise ValueError(f"first_tools must be 'fitting' or 'all', not {first_tools!r}")
        self.max_replans = max_replans
        self.max_tasks = max_tasks
        self.max_tools = max_tools
        self.first_tools = first_tools
        self._fitting = FittingTools()

    async def run(self, task: Task, env: Environment) -> Answer:
        tools = offered_tools(env, task.query, self.max_tools)
        every = tools.values()
        fitting = self._fitting(env, task.query, tools) if self.first_tools == "fitting" else []
        history = ""
        reason = ""
        for attempt in range(self.max_replans + 1):
            shown = every if attempt or not fitting else fitting
            system = SystemMessage(prompt("compiler_planner", tools=describe_tools(shown)))
            messages: list[BaseMessage] = [system, HumanMessage(task.query)]
            if attempt:
                messages.append(HumanMessage(prompt("compiler_replan", history=history,
                                                    reason=reason)))
            options = ({"grammar": plan_grammar(shown, min(self.max_tasks, GRAMMAR_TASKS))}
                       if getattr(env.agent.model, "accepts_grammar", False) and shown else {})
            rnd = await self._plan_and_execute(messages, tools, env, **options)
            report = _report(rnd)
            history = f"{history}\n\n{report}".strip() if history else report
            verdict, text = await self._join(task, report, env)
            if verdict == "answer":
                return Answer(text)
            reason = text
        return Answer(f"Could not answer after {self.max_replans + 1} plans: {reason}",
                      status="error")

    async def _plan_and_execute(self, messages: list[BaseMessage], tools: dict[str, Tool],
                                env: Environment, **options: Any) -> Round:
        rnd = Round()
        held = "grammar" in options  # the grammar keeps the model writing tasks

        def on_text(text: str, step: Step) -> bool:
            rnd.buffer += text
            while "\n" in rnd.buffer:
                line, rnd.buffer = rnd.buffer.split("\n", 1)
                self._line(line, rnd, tools, env, step, held)
            return rnd.joined and held  # the plan is over: stop the model writing more

        try:
            _, step = await stream_model(env, messages, on_text, **options)
            if rnd.buffer.strip():
                self._line(rnd.buffer, rnd, tools, env, step, held)
            rnd.buffer = ""
            if rnd.running:
                await asyncio.gather(*rnd.running.values())
        except BaseException:
            for t in rnd.running.values():
                t.cancel()
            await asyncio.gather(*rnd.running.values(), return_exceptions=True)
            raise
        return rnd

    def _line(self, line: str, rnd: Round, tools: dict[str, Tool], env: Environment,
              step: Step, held: bool = False) -> None:
        if rnd.joined or not line.strip():
            return
        try:
            task = parse_line(line, tools, set(rnd.tasks))
        except PlanSyntaxError as exc:
            rnd.notes.append(f"Line not run: {line.strip()!r}: {exc}")
            return
        if task is None:
            return
        if task.name == JOIN:
            rnd.joined = True
            return
        if len(rnd.tasks) >= self.max_tasks:
            rnd.notes.append(f"Task {task.id} not run: a plan has at most {self.max_tasks} tasks")
            return
        key = json.dumps([task.name, task.args], sort_keys=True, default=str)
        first = rnd.calls.get(key)
        if first is not None:
            self._repeated(task, first, rnd, held)
            return
        rnd.calls[key] = task.id
        rnd.tasks[task.id] = task
        rnd.running[task.id] = asyncio.get_running_loop().create_task(
            self._execute(task, rnd, tools, env, step.id))

    @staticmethod
    def _repeated(task: PlanTask, first: str, rnd: Round, held: bool) -> None:
        """A task that makes the very call an earlier task of the plan makes (same tool, same
        arguments) is not run again: a model repeats a call when it is looping, and a second
        send or purchase is the costly way to find out. Under a grammar, which lets a plan
        end only with ``join()``, a small model repeats its last task until the grammar's
        last line: there the repeat ends the plan (and the model's writing)."""
        if held:
            rnd.notes.append(f"Task {task.id} repeats task {first} ({task.name}): the plan "
                             "ends there")
            rnd.joined = True
            return
        rnd.notes.append(f"Task {task.id} ({task.name}) not run: the same call as task "
                         f"{first}, whose result stands for both")
        rnd.tasks[task.id] = task
        rnd.aliases[task.id] = first
        rnd.running[task.id] = rnd.running[first]

    async def _execute(self, task: PlanTask, rnd: Round, tools: dict[str, Tool],
                       env: Environment, parent_id: str) -> ToolResult | None:
        outputs: dict[str, Any] = {}
        for dep in task.deps:
            await rnd.running[dep]
            result = rnd.results.get(rnd.aliases.get(dep, dep))
            if result is None or not result.ok:
                rnd.notes.append(f"Task {task.id} ({task.name}) not run: task {dep} it "
                                 "depends on failed")
                return None
            outputs[dep] = result.content
        try:
            args = literal_args(substitute(task.args, outputs))
        except LookupError as exc:
            rnd.notes.append(f"Task {task.id} ({task.name}) not run: {exc}")
            return None
        call = {"name": task.name, "args": args, "id": task.id}
        allowed, refused = refuse_unoffered(env, [call], tools, parent_id)
        if refused:
            result = refused[0]
        else:
            [result] = await env.call_tools(allowed, name=f"${task.id} {task.name}",
                                            parent_id=parent_id)
        rnd.results[task.id] = result
        return result

    async def _join(self, task: Task, report: str, env: Environment) -> tuple[str, str]:
        messages: list[BaseMessage] = [
            SystemMessage(prompt("compiler_joiner")),
            HumanMessage(f"Request: {task.query}\n\n{report}")]
        reply = await env.call_model(messages)
        return parse_verdict(reply.text)


def _report(rnd: Round) -> str:
    """The plan and its outcomes, tool output delimited as data."""
    lines = ["Plan:"]
    lines.extend(t.line for t in rnd.tasks.values())
    lines.append("")
    lines.append("Results:")
    for task_id, t in rnd.tasks.items():
        result = rnd.results.get(task_id)
        if result is not None:
            lines.append(f"Task {task_id} ({t.name}):\n{wrap_output(result)}")
    lines.extend(rnd.notes)
    if not rnd.tasks and not rnd.notes:
        lines.append("(the plan had no tasks)")
    return "\n".join(lines)


def parse_verdict(text: str) -> tuple[str, str]:
    """``("answer", text)`` or ``("replan", reason)`` from the joiner's reply.

    The last ``Answer:`` or ``Replan:`` line decides (an answer runs to the end of the
    reply); a reply with neither is taken as the answer.
    """
    lines = text.strip().splitlines()
    for i in range(len(lines) - 1, -1, -1):
        head, sep, rest = lines[i].strip().partition(":")
        key = head.strip().lower()
        if sep and key in ("answer", "replan"):
            body = "\n".join([rest.strip(), *lines[i + 1:]]).strip()
            return key, body
    return "answer", text.strip()


__all__ = ["CompilerPlanner", "PlanSyntaxError", "parse_line", "parse_verdict"]
