"""What ``agent.toml`` costs: reading it in a warm process, and on a command's first use.

Variants, interleaved round by round in a shuffled order:

  parse_floor     ``tomllib.loads`` of the two files' text (home + project), nothing else:
                  the floor of reading them at all.                                   (floor)
  load_config     ``agent.config.load_config(cwd)``: read both files, parse, validate against
                  the JSON Schema (jsonschema), find each setting's line, merge, apply env.
  cold_no_file    a fresh ``python -c "from agent.config import load_config; load_config()"``
                  with no agent.toml anywhere (the process start is in the number).   (floor)
  cold_with_file  the same with both files: adds the first-use imports (jsonschema,
                  agent.tools.http for the allow-list check) that a warm process already has.

The warm pair and the cold pair are each reported against their own floor (``paired`` ratio:
the median over rounds of variant / floor measured in the same round). Goals: a warm
``load_config`` (validation, line lookup, merge, env) within 5x of bare TOML parsing, and the
files adding under 150 ms to a cold start on this 2-core machine. A valid file is checked
without importing jsonschema (``config_schema.fits``); what the files still add cold is
mostly the import of ``agent.tools.http`` (for the allow-list check), which every command
that loads the built-in plugins pays anyway.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

BENCH = "config"
HOME_TOML = """
model = "openai:gpt-4o-mini"
[approval]
policy = "ask"
allow = ["http_post", "openapi:notes:*"]
[[mcp]]
name = "files"
command = "mcp-files"
args = ["--root", "."]
"""
PROJECT_TOML = """
planner = "react"
[http]
allow = ["127.0.0.1:8765", "10.0.0.0/8", "intranet.local"]
[[openapi]]
spec = "specs/notes.yaml"
prefix = "notes_"
[[mcp]]
name = "files"
command = "./project-files"
env = { TOKEN = "${FILES_TOKEN}" }
"""
COLD = "from agent.config import load_config; load_config()"


def line(**rec: object) -> None:
    print(json.dumps({"bench": BENCH, **rec}), flush=True)


def report(samples: dict[str, list[float]], floor: str, unit: str) -> dict[str, float]:
    paired_all = {}
    for name, values in samples.items():
        paired = statistics.median(v / f for v, f in zip(values, samples[floor], strict=True))
        paired_all[name] = paired
        line(variant=name, unit=unit, median=round(statistics.median(values), 4),
             min=round(min(values), 4), max=round(max(values), 4), repeats=len(values),
             ratio_to_floor=round(statistics.median(values) / statistics.median(samples[floor]),
                                  3), paired_ratio_median=round(paired, 3),
             overhead=round(statistics.median(values) - statistics.median(samples[floor]), 4))
    return paired_all


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=9, help="rounds (default 9)")
    ap.add_argument("--n", type=int, default=200, help="warm loads per round (default 200)")
    args = ap.parse_args()
    from agent.config import load_config

    with tempfile.TemporaryDirectory() as tmp:
        home, project, empty = Path(tmp, "home"), Path(tmp, "project"), Path(tmp, "empty")
        for d in (home, project, empty):
            d.mkdir()
        (home / "agent.toml").write_text(HOME_TOML)
        (project / "agent.toml").write_text(PROJECT_TOML)
        os.environ["AGENT_HOME"] = str(home)
        texts = [HOME_TOML, PROJECT_TOML]
        config = load_config(project)  # warm-up, and a sanity check
        assert config.planner == "react" and len(config.sources) == 2

        def parse_floor() -> None:
            for text in texts:
                tomllib.loads(text)

        warm = {"parse_floor": parse_floor, "load_config": lambda: load_config(project)}
        cold_env = {name: {**os.environ, "AGENT_HOME": str(home if name == "cold_with_file"
                                                          else empty)}
                    for name in ("cold_no_file", "cold_with_file")}
        cold_cwd = {"cold_no_file": empty, "cold_with_file": project}
        warm_ms: dict[str, list[float]] = {k: [] for k in warm}
        cold_ms: dict[str, list[float]] = {k: [] for k in cold_env}
        rng = random.Random(0)
        for _ in range(args.rounds):
            order = [*warm, *cold_env]
            rng.shuffle(order)
            for name in order:
                if name in warm:
                    fn = warm[name]
                    t0 = time.perf_counter()
                    for _ in range(args.n):
                        fn()
                    warm_ms[name].append((time.perf_counter() - t0) * 1e3 / args.n)
                else:
                    t0 = time.perf_counter()
                    subprocess.run([sys.executable, "-c", COLD], check=True, env=cold_env[name],
                                   cwd=cold_cwd[name], capture_output=True)
                    cold_ms[name].append((time.perf_counter() - t0) * 1e3)
    warm_ratio = report(warm_ms, "parse_floor", "ms_per_load")
    report(cold_ms, "cold_no_file", "ms_per_process")
    added = statistics.median(c - f for c, f in zip(cold_ms["cold_with_file"],
                                                      cold_ms["cold_no_file"], strict=True))
    line(variant="load_config", goal="warm load_config < 5x bare TOML parsing",
         paired_ratio_median=round(warm_ratio["load_config"], 3),
         met=warm_ratio["load_config"] < 5.0)
    line(variant="cold_with_file", goal="the files add < 150 ms to a cold start",
         paired_added_ms_median=round(added, 1), met=added < 150.0)


if __name__ == "__main__":
    main()
