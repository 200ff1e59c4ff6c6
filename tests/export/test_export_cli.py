"""`agent export` and `agent datasets stats` end to end, in real subprocesses."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from agent.cli import main
from agent.export.openai import OPENAI_RECORD_SCHEMA


def test_newcomer_runs_then_exports_openai_and_a_parquet_dataset(run_cli, tmp_path: Path,
                                                                  hf_offline):
    datasets = pytest.importorskip("datasets")
    assert run_cli("run", "what is 15% of 240").returncode == 0
    done = run_cli("export", "--format", "openai", "-o", "train.jsonl")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("exported 1 run as openai")
    [record] = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    jsonschema.validate(record, OPENAI_RECORD_SCHEMA)
    assert record["messages"][1]["tool_calls"][0]["function"]["name"] == "calculate"
    done = run_cli("export", "--format", "hf", "-o", "ds")
    assert done.returncode == 0, done.stderr
    ds = datasets.load_dataset(str(tmp_path / "ds"))
    assert list(ds) == ["train"] and ds["train"][0]["query"] == "what is 15% of 240"


def test_export_to_stdout_and_files(run_cli, recorded, tmp_path: Path):
    db = str(recorded.path)
    done = run_cli("--db", db, "export", "--source", "synthetic")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["messages"][0]["content"] for r in lines] == ["add 1 and 2", "add 3 and 4",
                                                            "what is 9 squared"]
    assert "exported 3 runs as openai (3 -> stdout)" in done.stderr

    done = run_cli("--db", db, "export", "-f", "sharegpt", "-o", "-", "--label", "quality=good")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2
    assert all("conversations" in json.loads(line) for line in done.stdout.splitlines())

    done = run_cli("--db", db, "export", "-f", "parquet", "-o", "out/runs.parquet",
                   "--status", "any")
    assert done.returncode == 0, done.stderr
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "out" / "runs.parquet").num_rows == len(recorded.ok) + 1

    done = run_cli("--db", db, "export", "-o", "splits", "--split", "a=0.5,b=0.5",
                   "--split-by", "tool", "--seed", "4")
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / "splits").iterdir())
    assert written and set(written) <= {"a.jsonl", "b.jsonl"}


@pytest.mark.parametrize(("args", "code", "message"), [
    (["export", "-f", "csv"], 2, "error: unknown export format 'csv' (available: hf, openai, "
                                 "parquet, sharegpt)"),
    (["export", "--split", "train=0.9,test=0.2", "-o", "d"], 2,
     "error: bad --split 'train=0.9,test=0.2': the fractions add up to 1.1, not 1"),
    (["export", "-f", "parquet"], 2, "error: --format parquet writes a file: give -o PATH"),
    (["export", "--split", "train=0.5,test=0.5"], 2,
     "error: --split writes one file per split: give -o DIRECTORY"),
    (["export", "--tool", "nope", "-o", "x.jsonl"], 1, "error: no runs match status=ok, "
                                                       "tool=nope in "),
    (["datasets", "stats", "--since", "2999-01-01"], 1, "error: no runs match status=ok, "
                                                        "since=2999-"),
    (["export", "--status", "done"], 2, "error: unknown --status 'done': use any or one of"),
])
def test_bad_input_is_one_line_and_an_exit_code(recorded, tmp_path, monkeypatch, capsys,
                                                 args, code, message):
    monkeypatch.chdir(tmp_path)  # the CLI's own code, in-process (the subprocess path is
    assert main(["--db", str(recorded.path), *args]) == code  # covered above and below)
    out, err = capsys.readouterr()
    assert err.startswith(message) and err.count("\n") == 1, err
    assert "Traceback" not in err and out == ""
    assert not (tmp_path / "x.jsonl").exists() and not (tmp_path / "d").exists()


def test_nothing_matches_in_a_subprocess(run_cli, recorded, tmp_path: Path):
    done = run_cli("--db", str(recorded.path), "export", "--label", "quality=meh", "-o", "x.jsonl")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (f"error: no runs match status=ok, label=quality=meh in "
                           f"{recorded.path} (8 runs in all): loosen the filters (e.g. "
                           "--status any), or see `agent traces list`\n")
    assert not (tmp_path / "x.jsonl").exists()


def test_parquet_without_pyarrow_says_how_to_install(run_cli, recorded, tmp_path: Path):
    blocked = tmp_path / "blocked"
    (blocked / "pyarrow").mkdir(parents=True)
    (blocked / "pyarrow" / "__init__.py").write_text("raise ImportError('No module named pyarrow')")
    done = run_cli("--db", str(recorded.path), "export", "-f", "parquet", "-o", "x.parquet",
                   env={"PYTHONPATH": str(blocked)})
    assert done.returncode == 1
    assert done.stderr.strip().endswith("pip install 'agent[data]'")
    assert not (tmp_path / "x.parquet").exists()


def test_datasets_stats(run_cli, recorded):
    done = run_cli("--db", str(recorded.path), "datasets", "stats", "--json")
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["examples"] == len(recorded.ok)
    assert stats["tools"]["calculate"]["calls"] == 7
    done = run_cli("--db", str(recorded.path), "datasets", "stats", "--source", "synthetic")
    assert done.returncode == 0, done.stderr
    assert "examples: 3" in done.stdout and "synthetic 3" in done.stdout
    assert "calculate" in done.stdout and "tool calls" in done.stdout


def test_opening_the_store_does_not_import_pandas_or_numpy(tmp_path: Path):
    """`datasets` (dev extra) installs pandas and several dependencies numpy, which
    sqlite-utils would import on every store open (~0.6 s together): the store hides them for
    that import, and they still import afterwards."""
    import subprocess
    import sys

    code = ("import sys; from agent.store import TraceStore; "
            f"TraceStore({str(tmp_path / 't.db')!r}).close(); "
            "import importlib.util; "
            "print(*[m in sys.modules for m in ('pandas', 'numpy')]); "
            "print(*[importlib.util.find_spec(m) is not None for m in ('pandas', 'numpy')])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    imported, installed = done.stdout.split("\n")[:2]
    assert imported.split() == ["False", "False"]
    for name, present in zip(("pandas", "numpy"), installed.split(), strict=True):
        if present == "True":  # and it is still importable after the store opened
            check = code + f"; import {name}; print({name}.__name__)"
            done = subprocess.run([sys.executable, "-c", check], capture_output=True,
                                  text=True, cwd=tmp_path, timeout=60)
            assert done.stdout.split()[-1] == name, done.stderr
