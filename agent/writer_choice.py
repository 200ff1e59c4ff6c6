"""Who writes a trace: the writer thread or a writer process, and when ``auto`` switches.

In one process, the writer thread's Python and every SQLite call it makes wait for the event
loop's GIL, so a busy loop and its writer take turns on one core; a writer process
(``agent.writer_process``) writes beside the loop instead. ``auto``, the default, hands the
trace to one once records come faster than ``PROCESS_AFTER`` a second, where the thread
would cost the loop the most, unless the caller waits for a commit every few records
(``RECORDS_PER_FLUSH``), and goes back to the thread for good if it starts to.
"""

from __future__ import annotations

import time

from agent.errors import UsageError

WRITERS = ("auto", "thread", "process")
#: Records a second that make a writer process worth starting (a few hundred steps a second:
#: a scripted or replayed loop, ``agent generate``; not a chat with a model).
PROCESS_AFTER = 2000
#: Records per flush under which a writer process does not start, or is retired (after
#: ``FLUSHES_TO_DECIDE`` flushes in a second). A caller that waits for each run's commit
#: waits for a round trip to the child each time (a flush after every run of ten steps, ~55
#: records, cost ~1.5x with it), so it keeps the thread.
RECORDS_PER_FLUSH = 200
FLUSHES_TO_DECIDE = 20


def writer_choice(writer: str | None = None) -> str:
    """``writer``, else ``auto``; checked (``agent.config`` reads ``trace_writer`` and
    ``$AGENT_TRACE_WRITER``: an ``Agent`` itself reads no configuration)."""
    choice = writer or "auto"
    if choice not in WRITERS:
        raise UsageError(f"unknown trace writer {choice!r}: use one of {', '.join(WRITERS)} "
                         "(trace_writer in agent.toml or Agent(), or $AGENT_TRACE_WRITER)")
    return choice


class Pace:
    """Records written and flushes asked for in the current second: what ``auto`` goes by."""

    __slots__ = ("flushes", "records", "start")

    def __init__(self) -> None:
        self.start, self.records, self.flushes = 0.0, 0, 0

    def tick(self, records: int = 0, flushes: int = 0) -> None:
        now = time.monotonic()
        if now - self.start > 1.0:
            self.start, self.records, self.flushes = now, 0, 0
        self.records += records
        self.flushes += flushes

    def busy(self) -> bool:
        """Records come fast enough, and flushes seldom enough, for a writer process."""
        return self.records >= max(PROCESS_AFTER, self.flushes * RECORDS_PER_FLUSH)

    def waits_for_commits(self) -> bool:
        """The caller has flushed every few records for long enough: back to the thread."""
        return self.flushes >= FLUSHES_TO_DECIDE and \
            self.records < self.flushes * RECORDS_PER_FLUSH
