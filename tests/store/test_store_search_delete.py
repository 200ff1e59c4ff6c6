"""Full-text search over transcripts, and deleting a run with everything it owns."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.store import TraceStore

RecordRun = Callable[..., str]


def test_search_finds_runs_by_message_content(store: TraceStore, record_run: RecordRun) -> None:
    paris = record_run(store, query="weather please", started_at=1.0)
    store.record_messages(paris, [("ai", "Umbrellas recommended in Montmartre")], start_seq=5)
    other = record_run(store, query="add two numbers", started_at=2.0)
    store.record_messages(other, [("ai", "The sum is 42")], start_seq=0)

    assert [r["id"] for r in store.search("montmartre")] == [paris]
    assert [r["id"] for r in store.search("umbrellas recommended")] == [paris]
    assert [r["id"] for r in store.search("42")] == [other]
    hit = store.search("montmartre")[0]
    assert hit["query"] == "weather please" and hit["tool_call_count"] == 2


def test_search_matches_the_query_text_too(store: TraceStore, record_run: RecordRun) -> None:
    run_id = record_run(store, query="Convert 3 MILES to km")
    assert [r["id"] for r in store.search("miles to")] == [run_id]


def test_search_results_are_newest_first_and_limited(
    store: TraceStore, record_run: RecordRun
) -> None:
    ids = [record_run(store, started_at=float(i)) for i in range(5)]
    assert [r["id"] for r in store.search("Paris")] == ids[::-1]
    assert len(store.search("Paris", limit=2)) == 2


@pytest.mark.parametrize(
    "text",
    ['"foo AND (', "foo AND (", "NEAR(", '"', '""', "*", "a:b", "-x", "^start", "x OR",
     "(", ")", "'", "%", "_", "NOT", "col:", "\\", "{a b}", "  ", "", "é", "a\"b\"c"],
)
def test_fts_syntax_in_user_text_never_raises(
    store: TraceStore, record_run: RecordRun, text: str
) -> None:
    record_run(store)
    assert isinstance(store.search(text), list)


def test_search_treats_operators_literally(store: TraceStore, record_run: RecordRun) -> None:
    run_id = record_run(store)
    store.record_messages(run_id, [("ai", "cats AND dogs (mostly)")], start_seq=9)
    assert [r["id"] for r in store.search('cats AND dogs (')] == [run_id]
    assert store.search("cats NOT dogs") == []  # NOT is a word here, and it is absent


def _counts(store: TraceStore, run_id: str) -> dict[str, int]:
    counts = {}
    for table in ("steps", "tool_calls", "messages", "run_tools", "labels"):
        counts[table] = store.db.execute(
            f"SELECT count(*) FROM {table} WHERE run_id = ?", [run_id]).fetchone()[0]
    counts["runs"] = store.db.execute(
        "SELECT count(*) FROM runs WHERE id = ?", [run_id]).fetchone()[0]
    return counts


def test_delete_removes_the_run_and_all_its_rows(
    store: TraceStore, record_run: RecordRun
) -> None:
    doomed = record_run(store, query="doomed query")
    store.set_label(doomed, "k", "v")
    keep = record_run(store)
    store.start_run({"id": "solo"}, tools=[{"name": "only_mine", "description": "x"}])
    before_keep = _counts(store, keep)
    assert all(_counts(store, doomed).values())

    assert store.delete_run(doomed[:24]) == doomed
    assert set(_counts(store, doomed).values()) == {0}
    assert _counts(store, keep) == before_keep
    assert store.search("doomed") == []
    fts_rows = store.db.execute("SELECT count(*) FROM messages_fts").fetchone()[0]
    assert fts_rows == store.db.execute("SELECT count(*) FROM messages").fetchone()[0]
    # A tool still offered by another run stays; one offered by no run is pruned.
    assert store.get_run(keep)["tools"][0]["name"] == "get_weather"
    store.delete_run("solo")
    assert store.db.execute(
        "SELECT count(*) FROM tools WHERE name = 'only_mine'").fetchone()[0] == 0
    assert [r["id"] for r in store.list_runs()] == [keep]


def _fts_consistent(store: TraceStore) -> bool:
    """FTS5's own check that the index matches the `messages` rows exactly."""
    try:
        store.index_messages()
        store.db.execute(
            "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
    except Exception:
        return False
    return True


def test_rewritten_messages_are_searched_by_their_new_text_only(
    store: TraceStore, record_run: RecordRun
) -> None:
    run_id = record_run(store, query="q")
    store.record_messages(run_id, [("human", "alpha"), ("ai", "bravo")], start_seq=0)
    # seq 1 rewritten and seq 2 new, in one write: the conflict path of the bulk index
    store.record_messages(run_id, [("ai", "charlie"), ("ai", "delta")], start_seq=1)
    store.apply([("record_messages", (run_id, [("ai", "echo"), ("ai", "foxtrot")]),
                  {"start_seq": 2})])
    assert _fts_consistent(store)
    for word, found in (("alpha", True), ("bravo", False), ("charlie", True),
                        ("delta", False), ("echo", True), ("foxtrot", True)):
        assert bool(store.search(word)) is found, word
    store.delete_run(run_id)
    assert _fts_consistent(store)
    assert store.search("charlie") == []


def _unindexed(store: TraceStore) -> int:
    row = store.db.execute(
        "SELECT (SELECT count(*) FROM messages WHERE id > indexed_to) FROM _fts_state"
    ).fetchone()
    return int(row[0])


def test_messages_are_indexed_by_the_first_search_after_them(
    store: TraceStore, record_run: RecordRun
) -> None:
    run_id = record_run(store)
    store.record_messages(run_id, [("ai", "golf"), ("ai", "hotel")], start_seq=0)
    assert _unindexed(store) == 2  # the write did not index them
    assert [r["id"] for r in store.search("hotel")] == [run_id]
    assert _unindexed(store) == 0 and _fts_consistent(store)
    assert store.index_messages() == 0  # nothing left: no write transaction either


def test_rewrites_before_and_after_indexing_leave_one_entry_each(
    store: TraceStore, record_run: RecordRun
) -> None:
    run_id = record_run(store)
    store.record_messages(run_id, [("ai", "india"), ("ai", "juliett")], start_seq=0)
    store.record_messages(run_id, [("ai", "kilo")], start_seq=1)  # not indexed yet: no trigger
    assert store.search("kilo") and not store.search("juliett")
    store.record_messages(run_id, [("ai", "lima")], start_seq=0)  # indexed: the trigger
    assert _fts_consistent(store)
    assert store.search("lima") and not store.search("india")


def test_ids_given_again_after_a_delete_are_indexed(
    store: TraceStore, record_run: RecordRun
) -> None:
    """SQLite gives a new message the largest id + 1, so deleting the newest run's messages
    makes their ids free again: the mark must come down with them, or the next messages
    would count as indexed."""
    keep = record_run(store)
    doomed = record_run(store)
    store.record_messages(doomed, [("ai", "mike"), ("ai", "november")], start_seq=0)
    assert store.search("november")
    freed = store.db.execute("SELECT max(id) FROM messages").fetchone()[0]
    store.delete_run(doomed)
    store.record_messages(keep, [("ai", "oscar"), ("ai", "papa")], start_seq=50)
    reused = store.db.execute("SELECT max(id) FROM messages").fetchone()[0]
    assert reused <= freed  # the ids did come round again
    assert [r["id"] for r in store.search("papa")] == [keep]
    assert store.search("november") == [] and _fts_consistent(store)
