"""Text statistics for agent: a complete third-party plugin in one module.

It shows the three things a plugin usually does: offer tools (``register_tools``), describe
their outputs so planners can chain them (``output_schema``), and add a CLI command
(``register_commands``).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from agent import hookimpl, tool

WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
WORDS_PER_MINUTE = 230


@tool(
    output_schema={
        "type": "object",
        "properties": {
            "characters": {"type": "integer"},
            "words": {"type": "integer"},
            "sentences": {"type": "integer"},
            "reading_minutes": {"type": "number"},
        },
    },
    examples=("how many words are in this text", "how long does it take to read this"),
    templates=(
        'How many words are in "{text}"?',
        'Count the characters, words and sentences of this text: {text}',
        'How long does it take to read "{text}"?',
        'Give me the statistics of this text: "{text}"',
        'How many sentences does "{text}" have?',
    ),
)
def text_stats(text: str) -> dict[str, float]:
    """Count characters, words and sentences in a text, and estimate its reading time.

    Args:
        text: the text to measure, e.g. "The quick brown fox jumps over the lazy dog.",
            "Rain is expected in Oslo on Friday. Bring a jacket!", "To be, or not to be:
            that is the question." or "Our shop opens at nine. Deliveries arrive at noon."
    """
    words = WORD.findall(text)
    sentences = len(SENTENCE_END.findall(text.strip())) or (1 if words else 0)
    return {
        "characters": len(text),
        "words": len(words),
        "sentences": sentences,
        "reading_minutes": round(len(words) / WORDS_PER_MINUTE, 2),
    }


@tool(templates=(
    'What are the {n} most frequent words in "{text}"?',
    'Which words appear most often in this text: {text}',
    'List the top {n} words of "{text}", ignoring words shorter than {min_length} letters.',
))
def top_words(text: str, n: int = 5, min_length: int = 3) -> list[dict[str, object]]:
    """The most frequent words of a text, case-insensitive.

    Args:
        text: the text to analyse, e.g. "the cat sat on the mat and the dog sat on the
            rug", "buy milk, buy bread, buy eggs and call the bank" or "a rose is a rose
            is a rose"
        n: how many words to return, e.g. 2, 3 or 5
        min_length: ignore words shorter than this, e.g. 2, 3 or 4
    """
    counts = Counter(w.lower() for w in WORD.findall(text) if len(w) >= min_length)
    return [{"word": w, "count": c} for w, c in counts.most_common(n)]


@hookimpl
def register_tools(register):  # type: ignore[no-untyped-def]
    register([text_stats, top_words])


def _textstats_command(args: argparse.Namespace) -> int:
    text = Path(args.file).read_text(encoding="utf-8", errors="replace")
    stats = text_stats(text)
    for key, value in stats.items():
        print(f"{key:>16}: {value}")
    for row in top_words(text, n=args.top):
        print(f"{row['word']:>16}: {row['count']}")
    return 0


@hookimpl
def register_commands(cli):  # type: ignore[no-untyped-def]
    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", help="a text file")
        parser.add_argument("--top", type=int, default=5, help="how many frequent words")

    cli.add("textstats", "statistics of a text file (example plugin)", _textstats_command,
            configure)
