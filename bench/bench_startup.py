"""CLI start-up: wall time of ``agent --help`` against ``python -c pass``.

What it measures
----------------
Whole fresh processes, bytecode caches warm, from this interpreter (the benchmark venv):

  python_bare   python -c pass                                                     (floor)
  import_agent  python -c 'import agent'        (the package root: lazy, should be ~free)
  agent_help    the ``agent`` console script next to this interpreter: ``agent --help``.
                If the project is not installed: ``python -c 'import sys; from agent.cli
                import main; sys.exit(main())' --help``, which is exactly what the console
                script runs (no runpy), and, as a second variant ``agent_help_m``,
                ``python -m agent.cli --help`` (runpy + importlib.util add a few ms). If
                ``agent.cli`` does not exist yet, this prints ``{"variant": "agent_help",
                "skipped": ...}``.

Uses hyperfine (``-N``, ``--warmup``, exported JSON) when it is on PATH, else a subprocess loop
with the commands interleaved in shuffled order each round.

Bytecode: if ``PYTHONDONTWRITEBYTECODE`` is set (it is in some sandboxes), every process would
compile every module from source and start-up would look several times slower than any user
sees. So the children run without it and with ``PYTHONPYCACHEPREFIX`` pointing at a temporary
directory: caches are warm after the warm-up runs and nothing is written into the source tree.
``--keep-env`` runs the children with the environment unchanged.

Goal: ``agent_help`` median < 50 ms wall. If it is over budget (or with ``--importtime``), the
top self-time modules of ``python -X importtime`` for the same command are printed as variant
``importtime:agent_help``.

Output: one JSON line per command: ms median/min/max/mean/stddev, ``ratio_to_floor``,
``paired_ratio_median`` (loop mode), ``import_ms`` (median - floor median); then a goal line.

Run:  PYTHONPATH=/work/main /work/benchvenv/bin/python bench/bench_startup.py [--runs 30]
      [--warmup 3] [--no-hyperfine] [--importtime] [--keep-env]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = "startup"
PY = sys.executable
GOAL_MS = 50.0
MAIN_SNIPPET = "import sys; from agent.cli import main; sys.argv[0] = 'agent'; sys.exit(main())"


def line(**rec):
    print(json.dumps({"bench": BENCH, **rec}), flush=True)


def child_env(keep: bool, cache_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    if not keep:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache_dir
    return env


def try_run(cmd: list[str], env: dict[str, str]) -> tuple[bool, str]:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    out = r.stdout + r.stderr
    if r.returncode != 0:
        return False, f"exit {r.returncode}: {out.strip().splitlines()[-1] if out.strip() else ''}"
    if "usage" not in out.lower():
        return False, "printed no usage text"
    return True, ""


def agent_help_commands(env: dict[str, str]) -> tuple[dict[str, list[str]], list[str]]:
    """Commands for ``agent --help`` (variant -> argv), and why any could not run."""
    cmds: dict[str, list[str]] = {}
    problems: list[str] = []
    script = shutil.which("agent", path=os.path.dirname(PY))
    if script:
        ok, err = try_run([script, "--help"], env)
        if ok:
            return {"agent_help": [script, "--help"]}, []
        problems.append(f"agent --help: {err}")
    try:
        has_cli = importlib.util.find_spec("agent.cli") is not None
    except ImportError:
        has_cli = False
    if not has_cli:
        problems.append("agent.cli not found (agent/cli.py not written yet?) and no agent script")
        return cmds, problems
    # What the console script runs, without runpy: the number the goal is checked on.
    main_cmd = [PY, "-c", MAIN_SNIPPET, "--help"]
    ok, err = try_run(main_cmd, env)
    if ok:
        cmds["agent_help"] = main_cmd
    else:
        problems.append(f"agent.cli.main() --help: {err}")
    # ``python -m agent.cli --help``: adds runpy + importlib.util (~ a few ms) to the above.
    m_cmd = [PY, "-m", "agent.cli", "--help"]
    ok, err = try_run(m_cmd, env)
    if ok:
        cmds["agent_help_m" if cmds else "agent_help"] = m_cmd
    else:
        problems.append(f"python -m agent.cli --help: {err}")
    return cmds, problems


def run_hyperfine(cmds, runs, warmup, env):
    out = {}
    with tempfile.TemporaryDirectory() as d:
        for name, cmd in cmds.items():
            js = os.path.join(d, f"{name}.json")
            quoted = " ".join(f'"{c}"' if any(ch in c for ch in " ,;'") else c for c in cmd)
            subprocess.run(["hyperfine", "-N", "--warmup", str(warmup), "--runs", str(runs),
                            "--export-json", js, "--style", "none", quoted],
                           check=True, capture_output=True, env=env)
            with open(js) as f:
                out[name] = [t * 1e3 for t in json.load(f)["results"][0]["times"]]
    return out


def run_loop(cmds, runs, warmup, env):
    for cmd in cmds.values():
        for _ in range(warmup):
            subprocess.run(cmd, check=True, capture_output=True, env=env)
    out = {k: [] for k in cmds}
    rng = random.Random(0)
    for _ in range(runs):
        order = list(cmds)
        rng.shuffle(order)
        for name in order:
            t0 = time.perf_counter()
            subprocess.run(cmds[name], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env=env)
            out[name].append((time.perf_counter() - t0) * 1e3)
    return out


def importtime_top(cmd: list[str], env: dict[str, str], n: int = 12):
    """(sum of self times in us, top modules, top packages) of ``-X importtime``."""
    if cmd[0] != PY:  # the console script: run what it runs under -X importtime
        cmd = [PY, "-c", MAIN_SNIPPET, *cmd[1:]]
    r = subprocess.run([PY, "-X", "importtime", *cmd[1:]], capture_output=True, text=True,
                       env=env)
    rows = []
    for ln in r.stderr.splitlines():
        if not ln.startswith("import time:") or "self [us]" in ln:
            continue
        parts = ln[len("import time:"):].split("|")
        rows.append((int(parts[0]), int(parts[1]), parts[2].rstrip()))
    total = sum(x[0] for x in rows)
    top = sorted(rows, key=lambda x: -x[0])[:n]
    pkgs: dict[str, int] = {}
    for self_us, _, name in rows:
        pkg = name.strip().split(".")[0]
        pkgs[pkg] = pkgs.get(pkg, 0) + self_us
    top_pkgs = sorted(pkgs.items(), key=lambda x: -x[1])[:n]
    cumulative = sorted(rows, key=lambda x: -x[1])[:n]
    return total, top, top_pkgs, cumulative


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", "--rounds", type=int, default=30, dest="runs")
    p.add_argument("--n", type=int, default=None, help="alias of --runs")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--no-hyperfine", action="store_true")
    p.add_argument("--importtime", action="store_true", help="always print the import profile")
    p.add_argument("--keep-env", action="store_true",
                   help="do not unset PYTHONDONTWRITEBYTECODE / set PYTHONPYCACHEPREFIX")
    ns = p.parse_args()
    runs = ns.n or ns.runs

    cache_dir = tempfile.mkdtemp(prefix="bench-startup-pycache-")
    env = child_env(ns.keep_env, cache_dir)
    use_hf = bool(shutil.which("hyperfine")) and not ns.no_hyperfine
    tool = "hyperfine" if use_hf else "subprocess-loop"
    line(python=sys.version.split()[0], tool=tool, executable=PY, runs=runs,
         pycache=("unchanged" if ns.keep_env else "PYTHONPYCACHEPREFIX (temp), bytecode written"))

    cmds = {"python_bare": [PY, "-c", "pass"], "import_agent": [PY, "-c", "import agent"]}
    ok, err = try_run([PY, "-c", "import agent; print('usage')"], env)
    if not ok:
        line(variant="import_agent", skipped=f"cannot import agent: {err}")
        del cmds["import_agent"]
    help_cmds, problems = agent_help_commands(env)
    if not help_cmds:
        line(variant="agent_help", skipped="; ".join(problems))
    elif problems:
        line(variant="agent_help", note="; ".join(problems))
    cmds.update(help_cmds)

    try:
        res = (run_hyperfine if use_hf else run_loop)(cmds, runs, ns.warmup, env)
        floor = res["python_bare"]
        fm = statistics.median(floor)
        for name, ms in res.items():
            med = statistics.median(ms)
            rec = {"variant": name, "unit": "ms_wall", "median": round(med, 2),
                   "min": round(min(ms), 2), "max": round(max(ms), 2),
                   "mean": round(statistics.mean(ms), 2),
                   "stddev": round(statistics.stdev(ms), 2) if len(ms) > 1 else 0.0,
                   "repeats": len(ms), "ratio_to_floor": round(med / fm, 3)}
            if not use_hf:  # interleaved runs: pair them
                rec["paired_ratio_median"] = round(
                    statistics.median(a / b for a, b in zip(ms, floor, strict=True)), 3)
            rec.update(import_ms=round(med - fm, 2), tool=tool, cmd=" ".join(cmds[name]))
            line(**rec)
        if "agent_help" in res:
            med = statistics.median(res["agent_help"])
            line(variant="agent_help", goal=f"< {GOAL_MS:g} ms wall", median=round(med, 2),
                 met=med < GOAL_MS)
            if med >= GOAL_MS or ns.importtime:
                total, top, top_pkgs, cumulative = importtime_top(cmds["agent_help"], env)
                line(variant="importtime:agent_help", sum_self_ms=round(total / 1e3, 1),
                     top_packages_self_ms={k: round(v / 1e3, 1) for k, v in top_pkgs},
                     top_modules_self_ms={m.strip(): round(s / 1e3, 1) for s, _, m in top},
                     top_modules_cumulative_ms={m.strip(): round(c / 1e3, 1)
                                                for _, c, m in cumulative})
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
