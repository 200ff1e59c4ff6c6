"""The plugin's own tests: the conformance suite from ``agent.testing``, plus its behaviour.

The fixtures (``make_agent``, ``scripted_model``, ``agent_cli``, ...) come from the pytest
plugin that ``agent`` installs; nothing to import or configure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import agent_textstats
from agent.testing import ToolPluginConformance
from agent.testing.scripted import call


class TestTextstatsPlugin(ToolPluginConformance):
    plugin = agent_textstats
    entry_point = "textstats"  # pyproject.toml's [project.entry-points."agent.plugins"]
    expected_tools = ("text_stats", "top_words")
    sample_args: ClassVar[dict[str, dict[str, Any]]] = {
        "text_stats": {"text": "One sentence. Two sentences!"},
        "top_words": {"text": "the cat and the hat and the bat", "n": 2},
    }


def test_text_stats_counts_words_and_sentences() -> None:
    stats = agent_textstats.text_stats("It's late. Go home! Now?")
    assert stats["words"] == 5 and stats["sentences"] == 3
    assert stats["characters"] == len("It's late. Go home! Now?")


def test_top_words_ignores_case_and_short_words() -> None:
    rows = agent_textstats.top_words("The cat. THE hat. the bat. a a a", n=2)
    assert rows == [{"word": "the", "count": 3}, {"word": "cat", "count": 1}]


async def test_a_model_driven_run_uses_the_tool_and_is_traced(make_agent, scripted_model,
                                                              trace_store) -> None:
    model = scripted_model(call("text_stats", {"text": "Hello there. Bye."}), "4 words.")
    agent = make_agent([agent_textstats.text_stats], planner="react", model=model)
    run = await agent.run("how many words are in 'Hello there. Bye.'?")
    await agent.aflush()
    assert run.status == "ok" and run.answer == "4 words."
    assert run.results[0].content["words"] == 3
    recorded = trace_store.get_run(run.id)["tool_calls"]
    assert [c["tool_name"] for c in recorded] == ["text_stats"]


def test_the_command_prints_the_statistics(agent_cli, tmp_path: Path) -> None:
    (tmp_path / "essay.txt").write_text("Words and words. More words!", encoding="utf-8")
    done = agent_cli("textstats", "essay.txt", "--top", "1")
    assert done.returncode == 0, done.stderr
    lines = [" ".join(line.split()) for line in done.stdout.splitlines()]
    assert "words: 5" in lines and "sentences: 2" in lines
    assert lines[-1] == "words: 3"  # the top word, "words", three times
