"""Generation jobs end to end on a real SQLite store: labels, real chained outputs, failing
tools dropped and counted, determinism across engines, model mode, resume after SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.generation.engines import get_engine
from agent.generation.job import GenerateOptions, generate
from agent.store import TraceStore

HERE = Path(__file__).resolve().parent


class SequentialEngine:
    """The plainest engine there is: a for loop."""

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        return (fn(item) for item in items)

    def close(self) -> None:
        pass


def options(**kw: Any) -> GenerateOptions:
    base: dict[str, Any] = {"n": 30, "seed": 3, "tools": ["gentest"], "plugins": ["gen_domain"],
                            "job": "j"}
    return GenerateOptions(**{**base, **kw})


def dataset(store: TraceStore, job: str) -> list[tuple[Any, ...]]:
    """What a dataset is: per index, the query and every call with its real output."""
    out = []
    for run in store.labelled_runs("job", job):
        full = store.get_run(run["id"])
        calls = tuple((c["tool_name"], str(c["args"]), str(c["content"]), c["status"])
                      for c in full["tool_calls"])
        out.append((int(run["labels"]["index"]), full["query"], calls, full["status"],
                    full["source"]))
    return sorted(out)


def test_a_job_stores_labelled_runs_with_real_chained_outputs(tmp_path: Path) -> None:
    with TraceStore(tmp_path / "t.db") as store:
        report = generate(options(n=40), store, engine=SequentialEngine())
        assert report.complete and report.total == 40 and report.resumed == 0
        data = dataset(store, "j")
        assert len(data) == 40 and len({d[1].lower() for d in data}) == 40
        assert all(d[3] == "ok" and d[4] == "synthetic" for d in data)
        assert all(c[3] == "success" for d in data for c in d[2])
        labels = store.labelled_runs("job", "j")[0]["labels"]
        assert labels["source"] == "synthetic" and labels["mode"] == "programmatic"
        # a chain ran for real: the station found is what the train search was given
        chained = [store.get_run(r["id"]) for r in store.labelled_runs("job", "j")
                   if "find_station" in r["labels"]["calls"]
                   and "train_times" in r["labels"]["calls"]]
        assert chained
        for run in chained:
            found = [c["content"]["stations"][0]["code"] for c in run["tool_calls"]
                     if c["tool_name"] == "find_station"]
            search = next(c for c in run["tool_calls"] if c["tool_name"] == "train_times")
            assert [search["args"]["origin"], search["args"]["destination"]] == found
            assert {"Oslo": "OSL", "Bergen": "BER"}.get(
                run["tool_calls"][0]["args"]["city"], found[0]) == found[0]
    assert set(report.skipped_tools) == {"evaluate"}
    assert sum(row["examples"] for row in report.tools.values()) == 40


def test_a_failing_tool_drops_its_example_counts_it_and_the_job_goes_on(tmp_path: Path) -> None:
    with TraceStore(tmp_path / "t.db") as store:
        report = generate(options(n=9, tools=["echo_word"], max_attempts=150), store,
                          engine=SequentialEngine())
        data = dataset(store, "j")
    # 4 words that do not fail x 2 templates: 8 distinct examples exist, not 9
    assert not report.complete and report.total == len(data) == 8
    assert report.attempts == 150
    assert report.dropped["failed"] == report.tools["echo_word"]["failed"] > 0
    assert report.reasons == {"echo_word: the echo service fell over on 'boom'":
                              report.dropped["failed"]}
    assert not any("boom" in d[1] for d in data)
    assert report.dropped["exact_duplicates"] == report.tools["echo_word"]["duplicates"] > 0


def test_same_seed_same_dataset_on_any_engine(tmp_path: Path) -> None:
    with TraceStore(tmp_path / "a.db") as a, TraceStore(tmp_path / "b.db") as b, \
            TraceStore(tmp_path / "c.db") as c:
        generate(options(), a, engine=SequentialEngine())
        threaded = get_engine("local", workers=3)
        try:
            generate(options(), b, engine=threaded)
        finally:
            threaded.close()
        generate(options(seed=4), c, engine=SequentialEngine())
        assert dataset(a, "j") == dataset(b, "j")
        assert [d[1] for d in dataset(a, "j")] != [d[1] for d in dataset(c, "j")]


def test_a_job_resumes_where_it_stopped_and_refuses_other_options(tmp_path: Path) -> None:
    from agent.errors import UsageError

    with TraceStore(tmp_path / "whole.db") as whole, TraceStore(tmp_path / "parts.db") as parts:
        generate(options(n=30), whole, engine=SequentialEngine())
        first = generate(options(n=12), parts, engine=SequentialEngine())
        second = generate(options(n=30), parts, engine=SequentialEngine())
        again = generate(options(n=30), parts, engine=SequentialEngine())
        assert (first.total, second.resumed, second.total) == (12, 12, 30)
        assert again.attempts == 0 and again.total == 30
        assert dataset(parts, "j") == dataset(whole, "j")
        with pytest.raises(UsageError, match="was made with --mode programmatic --seed 3"):
            generate(options(n=31, seed=9), parts, engine=SequentialEngine())


def test_model_mode_keeps_only_runs_the_planner_solved(tmp_path: Path) -> None:
    opts = options(n=4, mode="model", model="gen-scripted", tools=["find_station", "echo_word"])
    with TraceStore(tmp_path / "m.db") as store:
        report = generate(opts, store, engine=SequentialEngine())
        runs = [store.get_run(r["id"]) for r in store.labelled_runs("job", "j")]
    assert report.complete and len(runs) == 4
    assert report.dropped["failed"] > 0  # tool sets without find_station: the model gives up
    for run in runs:
        assert run["planner"] == "dfsdt" and run["status"] == "ok"
        assert run["query"].startswith("Which railway stations does")
        assert [c["tool_name"] for c in run["tool_calls"]] == ["find_station"]
        assert {lab["key"]: lab["value"] for lab in run["labels"]}["mode"] == "model"
    assert report.tools["find_station"]["calls"] == 4


def _count(db: Path, job: str) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(db, timeout=10)
    try:
        return int(conn.execute("SELECT count(*) FROM labels WHERE key = 'job' AND value = ?",
                                [job]).fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0
    finally:
        conn.close()


def test_a_killed_job_resumes_without_duplicates(tmp_path: Path, agent_home: Path) -> None:
    db = tmp_path / "kill.db"
    env = {**os.environ, "AGENT_HOME": str(agent_home),
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    cmd = [str(Path(sys.executable).with_name("agent")), "--db", str(db), "generate", "-n",
           "80", "--seed", "5", "--tools", "slow", "--plugin", "gen_domain", "--job", "k",
           "--no-progress", "--dedupe-threshold", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _count(db, "k") == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored = _count(db, "k")
    assert 0 < stored < 80, proc.stderr.read() if proc.stderr else ""
    done = subprocess.run([*cmd, "--workers", "4", "--json"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f'"resumed": {stored}' in done.stdout
    engine = get_engine("local", workers=8)
    with TraceStore(db) as store, TraceStore(tmp_path / "clean.db") as clean:
        data = dataset(store, "k")
        generate(GenerateOptions(n=80, seed=5, tools=["slow"], plugins=["gen_domain"],
                                 job="k", dedupe_threshold=1.0), clean, engine=engine)
        engine.close()
        reference = dataset(clean, "k")
    assert len(data) == 80 and len({d[0] for d in data}) == 80
    assert len({d[1] for d in data}) == 80
    assert data == reference
