"""The loop check of the embedded local model (``agent.plugins.llamacpp_repeat``): pure text,
no model. The texts are replies SmolLM2-135M really gave before the check existed."""

from __future__ import annotations

import random

import pytest

from agent.plugins.llamacpp_repeat import LoopGuard, cut_repetition, loop_start, shown_end

CYCLE = ("12 * 7 is 84. 84 is the result of 12 multiplied by 7. 12 * 7 is 84. 84 is the result "
         "of 12 multiplied by 7. 12 * 7 is 84. 84 is the result of 12 multiplied by 7. 12 * 7 is")
POEM = ("In twilight's cloak, where shadows play,\nA gentle rain, a gentle soul,\n"
        "A gentle rain, a gentle soul,\nA gentle Rain, a gentle soul.\n\nA gentle rain, a ge")
PHRASE = ("15% of 240 is 240 * 0.15 = 32.5% of 240, which is 240 / 250 = 0.025 of 240, which is "
          "240 / 250 = 0.025 of 240, which is 240 / 250 = 0.025 of 240, which is 240 / 250 = 0.0")


@pytest.mark.parametrize(("text", "kept"), [
    (CYCLE, "12 * 7 is 84. 84 is the result of 12 multiplied by 7."),
    (POEM, "In twilight's cloak, where shadows play,\nA gentle rain, a gentle soul,"),
    (PHRASE, "15% of 240 is 240 * 0.15 = 32.5% of 240, which is 240 / 250 = 0.025 of 240,"),
    ("A b c.\n\nA b c.\n\nA b c.\n\nmore", "A b c."),  # blank lines do not hide a loop
])
def test_a_loop_is_cut_where_the_repeating_began(text: str, kept: str) -> None:
    assert cut_repetition(text) == kept
    assert loop_start(text, final=True) is not None


def test_the_last_sentence_counts_only_once_the_text_is_complete() -> None:
    text = "Paris is big. Paris is big. Paris is big."
    assert loop_start(text) is None  # still generating: "big." may go on
    assert cut_repetition(text) == "Paris is big."


@pytest.mark.parametrize("text", [
    "Paris is big. Paris is big. Then it rains.",  # twice is not a loop
    "Yes. Yes. Yes. Yes. Done.",  # one-word sentences never count
    "very, very, very, very good",  # nor do short phrases
    "Fruits:\n1. Banana\n2. Apple\n\nMore:\n1. Kiwi\n2. Pear\n\nAnd:\n1. Fig\n2. Lime\n",
    "```python\nprint(x, y)\nprint(x, y)\nprint(x, y)\n```\nDone.",  # code repeats lines
    "The value is 3.14 and 3.14 and 3.14 here. OK then.",  # no sentence end inside 3.14
])
def test_text_that_does_not_loop_is_left_alone(text: str) -> None:
    assert loop_start(text, final=True) is None
    assert cut_repetition(text) == text


def test_repeats_sets_how_many_times_and_below_two_turns_it_off() -> None:
    text = "Paris is big. Paris is big. Then it rains."
    assert cut_repetition(text, repeats=2) == "Paris is big."
    assert cut_repetition(CYCLE, repeats=0) == CYCLE
    assert cut_repetition(CYCLE, repeats=1) == CYCLE
    assert cut_repetition(CYCLE, repeats=4) == CYCLE  # each sentence only three times


def test_a_possible_repeat_is_held_back_while_streaming() -> None:
    said = "Paris is big. It rains. Paris is b"
    assert said[:shown_end(said)] == "Paris is big. It rains."  # may become a repeat
    assert shown_end("Paris is big. It rains. Parrots") == len("Paris is big. It rains. Parrots")


def stream(text: str, guard: LoopGuard, rng: random.Random) -> tuple[str, int]:
    """Feed ``text`` as a model would, a few characters at a time; (shown, fed) at the end."""
    shown, fed = "", 0
    while fed < len(text) and not guard.looped:
        fed = min(len(text), fed + rng.randint(1, 6))
        shown += guard.update(text[:fed])
    return shown + guard.finish(text[:fed]), fed


@pytest.mark.parametrize("text", [CYCLE, POEM, PHRASE])
def test_the_guard_stops_a_loop_early_and_shows_only_the_cut_text(text: str) -> None:
    guard = LoopGuard(3)
    shown, fed = stream(text, guard, random.Random(0))
    assert guard.looped and fed < len(text)  # generation could stop before the end
    assert shown == guard.final_text(text[:fed]) == cut_repetition(text)


def test_streamed_text_always_equals_the_cut_text() -> None:
    """Random replies made of a few phrases: what a stream showed is what is kept."""
    rng = random.Random(7)
    phrases = ["The sky is blue", "it rains a lot", "Paris is big", "no", "1"]
    ends = [". ", ", ", "\n", "! ", " "]
    for _ in range(300):
        text = "".join(rng.choice(phrases) + rng.choice(ends) for _ in range(rng.randint(1, 14)))
        guard = LoopGuard(3)
        shown, fed = stream(text, guard, rng)
        assert shown == guard.final_text(text[:fed]), text
        assert shown == cut_repetition(text[:fed]), text
