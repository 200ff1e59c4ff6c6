"""``agent chat``: the real REPL in a pseudo-terminal (pexpect), and with piped input.

A test plugin (a real entry point on PYTHONPATH) registers a scripted planner that asks which
unit to convert 5 km to, then calls ``convert_units``; ``slow ...`` waits on a slow tool (to be
cancelled with Ctrl-C) and ``note TEXT`` calls a tool with side effects (to be approved).
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pexpect
import pytest

from agent.repl import convert, field_label

PLUGIN = '''
"""A scripted planner and two tools for the chat REPL tests."""

import asyncio

from agent import Answer, hookimpl, tool

UNIT = {"type": "object", "required": ["to_unit"],
        "properties": {"to_unit": {"type": "string", "description": "target unit"}}}


@tool
async def slow_wait(seconds: float) -> str:
    """Wait a while.

    Args:
        seconds: how long to wait
    """
    await asyncio.sleep(seconds)
    return "done waiting"


@tool(side_effects=True)
def write_note(text: str) -> str:
    """Write a note somewhere.

    Args:
        text: the note
    """
    return f"noted: {text}"


class Planner:
    name = "scripted"

    async def run(self, task, env):
        query = task.query
        if query.startswith("slow"):
            [r] = await env.call_tools([{"name": "slow_wait", "args": {"seconds": 60}}])
            return r.text()
        if query == "count":
            answer = await env.ask("How many?", {"type": "object", "required": ["n"],
                                                 "properties": {"n": {"type": "integer"}}})
            return f"counted {answer['n']}"
        if query.startswith("note "):
            [r] = await env.call_tools([{"name": "write_note", "args": {"text": query[5:]}}])
            return r.text() if r.ok else Answer(r.text(), status="error")
        answer = await env.ask("Which unit should I convert to?", UNIT)
        [r] = await env.call_tools([{"name": "convert_units", "args": {
            "value": 5, "from_unit": "km", "to_unit": answer["to_unit"]}}])
        return r.content["text"] if r.ok else Answer(r.text(), status="error")


@hookimpl
def register_planners(register):
    register("scripted", lambda **kw: Planner())


@hookimpl
def register_tools(register):
    register([slow_wait, write_note])
'''

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\r")
PROMPT = "agent>"
TIMEOUT = 30  # start-up imports langchain-core; CI machines can be slow


def strip(text: str) -> str:
    return ANSI.sub("", text)


@pytest.fixture
def chat_env(tmp_path: Path, agent_home: Path) -> dict[str, str]:
    site = tmp_path / "site"
    dist = site / "chatplanner-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: chatplanner\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[agent.plugins]\nchatplanner = chatplanner\n")
    (site / "chatplanner.py").write_text(textwrap.dedent(PLUGIN))
    return {**os.environ, "AGENT_HOME": str(agent_home), "PYTHONPATH": str(site),
            "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", "NO_COLOR": "1",
            "COLUMNS": "160", "LINES": "40"}


def agent_cmd() -> list[str]:
    script = Path(sys.executable).with_name("agent")
    return [str(script)] if script.exists() else [sys.executable, "-m", "agent.cli"]


class Chat:
    """``agent chat`` in a pseudo-terminal; ``expect`` matches the text as shown (no ANSI)."""

    def __init__(self, env: dict[str, str], cwd: Path, *args: str) -> None:
        cmd, *rest = agent_cmd()
        self.child = pexpect.spawn(cmd, [*rest, "chat", *args], env=env, cwd=str(cwd),
                                   dimensions=(40, 160), encoding="utf-8", timeout=TIMEOUT)
        self.raw, self.pos = "", 0
        self.expect(PROMPT)

    def expect(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        regex, deadline = re.compile(pattern), time.monotonic() + timeout
        while True:
            text = strip(self.raw)
            match = regex.search(text, self.pos)
            if match:
                self.pos = match.end()
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not shown; the screen ends with:\n"
                                     f"{text[-1500:]}")
            try:
                self.raw += self.child.read_nonblocking(65536, timeout=0.2)
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                raise AssertionError(f"{pattern!r} not shown before the end:\n{text}") from None

    def send(self, line: str) -> None:
        """Type ``line`` and Enter; wait until the line is accepted."""
        self.child.sendline(line)
        self.expect(re.escape(line) + "\n")

    def reply(self, line: str) -> list[str]:
        """The non-empty lines the REPL prints for ``line``, up to the next prompt."""
        self.child.sendline(line)
        self.expect(re.escape(f"{PROMPT} {line}") + "\n")
        start = self.pos
        end = self.expect(PROMPT).start()
        return [ln.strip() for ln in strip(self.raw)[start:end].split("\n") if ln.strip()]

    def leave(self) -> int:
        self.child.sendcontrol("d")
        self.child.expect(pexpect.EOF)
        self.child.close()
        return int(self.child.exitstatus)


def runs(home: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(home / "traces.db") as db:
        return db.execute("SELECT query, status, session_id FROM runs ORDER BY started_at"
                          ).fetchall()


def test_chat_asks_answers_traces_cancels_and_leaves(
        chat_env: dict[str, str], tmp_path: Path, agent_home: Path) -> None:
    chat = Chat(chat_env, tmp_path, "--planner", "scripted")
    # A query that needs a follow-up question: asked inline, answered, the call shown.
    chat.send("convert 5 km")
    chat.expect(r"\? Which unit should I convert to\?\n")
    chat.expect(r"to_unit \(target unit\)>")
    chat.send("mile")
    chat.expect(r"convert_units\(value=5, from_unit=km, to_unit=mile\) …")  # started
    chat.expect(r"convert_units\(value=5, from_unit=km, to_unit=mile\) success [\d.]+ m?s\n"
                r"\s*→ .*3\.10686")  # finished: status, time, the result
    chat.expect("\n5 kilometer = 3.10686 mile\n")  # the answer
    chat.expect(r"run \w{16} ok in [\d.]+ m?s")
    chat.expect(PROMPT)
    # The step tree of that run.
    tree = "\n".join(chat.reply("/trace"))
    assert "ask Which unit should I convert to? ok" in tree
    assert "convert_units(from_unit=km, to_unit=mile, value=5) success" in tree
    # Ctrl-C cancels the run in flight, not the REPL.
    chat.send("slow down")
    chat.expect(r"slow_wait\(seconds=60\) …")
    time.sleep(0.3)
    chat.child.sendintr()
    chat.expect(r"run \w{16} cancelled in")
    chat.expect(PROMPT)
    chat.send("convert 5 km")
    chat.expect(r"to_unit \(target unit\)>")
    chat.send("m")
    chat.expect("5 kilometer = 5000 meter")
    chat.expect(PROMPT)
    # Ctrl-C at the prompt clears the line; bad commands get one line each.
    chat.child.send("abc")
    chat.expect("abc")
    chat.child.sendcontrol("c")
    chat.expect(PROMPT)
    assert chat.reply("/frobnicate") == ["unknown command /frobnicate (try /help)"]
    [line] = chat.reply("/planner nope")
    assert re.fullmatch(r"error: unknown planner 'nope' \(available: .*scripted.*\)", line)
    [line] = chat.reply("/planner")
    assert re.fullmatch(r"planner: scripted \(available: .*scripted.*\)", line)
    assert chat.reply("/model nope")[0].startswith("error: unknown model 'nope'")
    assert any(line.startswith("convert_units") for line in chat.reply("/tools convert"))
    assert chat.leave() == 0

    rows = runs(agent_home)
    assert [(q, s) for q, s, _ in rows] == [
        ("convert 5 km", "ok"), ("slow down", "cancelled"), ("convert 5 km", "ok")]
    assert len({sid for _, _, sid in rows}) == 1 and rows[0][2]
    history = (agent_home / "chat_history").read_text()
    assert "+convert 5 km" in history and "+/trace" in history and "abc" not in history
    assert "+mile" not in history  # answers to questions stay out of the history


def test_chat_approvals_and_cancelled_questions(
        chat_env: dict[str, str], tmp_path: Path, agent_home: Path) -> None:
    chat = Chat(chat_env, tmp_path, "--planner", "scripted")
    chat.send("note hello")
    chat.expect(re.escape('run write_note with {"text": "hello"}? [y/N]'))
    chat.send("n")
    chat.expect("did not approve")
    chat.expect(PROMPT)
    chat.send("note again")
    chat.expect(re.escape("[y/N]"))
    chat.send("y")
    chat.expect("noted: again")
    chat.expect(PROMPT)
    # Ctrl-C, or an empty answer, at a question cancels that run.
    chat.send("convert 5 km")
    chat.expect(r"to_unit \(target unit\)>")
    chat.child.sendcontrol("c")
    chat.expect(r"run \w{16} cancelled")
    chat.expect(PROMPT)
    chat.send("convert 5 km")
    chat.expect(r"to_unit \(target unit\)>")
    chat.child.sendline("")
    chat.expect(r"run \w{16} cancelled")
    chat.expect(PROMPT)
    chat.child.sendline("/quit")
    chat.child.expect(pexpect.EOF)
    chat.child.close()
    assert chat.child.exitstatus == 0
    assert [s for _, s, _ in runs(agent_home)] == ["error", "ok", "cancelled", "cancelled"]


def test_chat_with_yes_approves_without_asking(
        chat_env: dict[str, str], tmp_path: Path) -> None:
    chat = Chat(chat_env, tmp_path, "--planner", "scripted", "--yes")
    out = "\n".join(chat.reply("note quietly"))
    assert "noted: quietly" in out and "[y/N]" not in out
    assert chat.leave() == 0


def test_chat_reads_piped_input_and_ends_at_eof(
        chat_env: dict[str, str], tmp_path: Path, agent_home: Path) -> None:
    out = subprocess.run(
        [*agent_cmd(), "chat", "--planner", "scripted"],
        input="convert 5 km\nmile\n/bogus\ncount\nten\n3\n",
        capture_output=True, text=True, env=chat_env, cwd=tmp_path, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Which unit should I convert to?" in out.stdout
    assert "3.10686" in out.stdout
    assert "unknown command /bogus" in out.stdout
    # An answer that does not validate is asked for again, with the reason.
    assert "? How many? (n: 'ten' is not of type 'integer')" in out.stdout
    assert "counted 3" in out.stdout
    assert "Traceback" not in out.stderr
    # A question left unanswered at the end of input cancels that run; the REPL exits 0.
    out = subprocess.run(
        [*agent_cmd(), "chat", "--planner", "scripted"], input="convert 5 km\n",
        capture_output=True, text=True, env=chat_env, cwd=tmp_path, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [s for _, s, _ in runs(agent_home)] == ["ok", "ok", "cancelled"]


def test_chat_unknown_planner_flag_is_one_line(chat_env: dict[str, str], tmp_path: Path) -> None:
    out = subprocess.run([*agent_cmd(), "chat", "--planner", "nope"], input="",
                         capture_output=True, text=True, env=chat_env, cwd=tmp_path, timeout=60)
    assert out.returncode == 2
    assert re.fullmatch(r"error: unknown planner 'nope' \(available: .*scripted.*\)",
                        out.stderr.strip())


def test_chat_default_planner_asks_for_the_missing_unit(
        chat_env: dict[str, str], tmp_path: Path) -> None:
    chat = Chat(chat_env, tmp_path)
    chat.send("convert 5 km")
    chat.expect(r"\? .+\n")  # the planner's follow-up question
    chat.expect(">")
    chat.send("mile")
    chat.expect("3.10686")
    chat.expect(PROMPT)
    assert chat.leave() == 0


# Typed answers -> JSON values (no terminal needed) ------------------------------------------
@pytest.mark.parametrize(("text", "schema", "value"), [
    ("12", {"type": "integer"}, 12),
    ("2.5", {"type": "number"}, 2.5),
    ("3", {"type": "number"}, 3),
    ("Yes", {"type": "boolean"}, True),
    ("MILE", {"type": "string", "enum": ["km", "mile"]}, "mile"),
    ("a, b", {"type": "array", "items": {"type": "string"}}, ["a", "b"]),
    ("1,2", {"type": "array", "items": {"type": "integer"}}, [1, 2]),
    ('{"a": 1}', {"type": "object"}, {"a": 1}),
    ("ten", {"type": "integer"}, "ten"),  # left as typed: validation explains and asks again
    ("7", {"type": ["integer", "string"]}, 7),
    ("none", {"type": ["null", "string"]}, None),
])
def test_convert_typed_text(text: str, schema: dict, value: object) -> None:
    assert convert(text, schema) == value


def test_field_label_shows_description_type_and_choices() -> None:
    assert field_label("to_unit", {"type": "string", "description": "target unit"}) == (
        "to_unit (target unit)")
    assert field_label("n", {"type": "integer", "enum": [1, 2]}) == "n (integer; one of 1, 2)"
    assert field_label("x", {}) == "x"
