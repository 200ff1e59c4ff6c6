"""Benchmark programmatic generation (`agent generate`): examples per second, per engine.

Generates `--n` programmatic examples over the example travel domain (its aiohttp service
runs on 127.0.0.1 in this process; every example's gold plan is executed over HTTP) into a
fresh SQLite trace store per measurement, with the same seed every time:

- local_1 (floor): the local engine, sequential, in process
- local_W:         the local engine on W threads (`--workers`, default 2)
- ray_W:           with `--engine ray`: Ray with W workers (a local cluster, started before
                   the clock; its start-up is printed apart)

Each line has examples/s (median over `--rounds`, interleaved in a shuffled order) and
`paired_ratio_median`, the speed-up over local_1 measured in the same round. Every variant's
dataset (query and calls per index) is checked equal to the floor's: `same_dataset`.

Usage: python bench/bench_generate.py [--n 200] [--rounds 3] [--workers 2]
       [--engine local] [--engine ray] [--ray-address ADDRESS]
Needs the travel example installed (pip install -e examples/travel).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def dataset(store: Any, job: str) -> list[tuple[int, str, str]]:
    out = []
    for run in store.labelled_runs("job", job):
        out.append((int(run["labels"]["index"]), run["query"], run["labels"]["calls"]))
    return sorted(out)


def measure(engine: Any, n: int, job: str) -> tuple[float, list[tuple[int, str, str]]]:
    from agent.generation.job import GenerateOptions, generate
    from agent.store import TraceStore

    with tempfile.TemporaryDirectory() as tmp, TraceStore(Path(tmp) / "gen.db") as store:
        options = GenerateOptions(n=n, seed=0, tools=["travel"], job=job)
        began = time.perf_counter()
        report = generate(options, store, engine=engine)
        seconds = time.perf_counter() - began
        if not report.complete:
            raise RuntimeError(f"only {report.total} of {n} examples")
        return n / seconds, dataset(store, job)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine", action="append", choices=("local", "ray"),
                        help="engines to compare with local_1 (repeatable; default local)")
    parser.add_argument("--ray-address")
    args = parser.parse_args()

    from agent.generation.engines import get_engine
    from agent_travel.server import background

    with background() as url:
        os.environ["AGENT_TRAVEL_URL"] = url
        engines: dict[str, Any] = {"local_1": get_engine("local")}
        for name in args.engine or ["local"]:
            variant = f"{name}_{args.workers}"
            began = time.perf_counter()
            try:
                engines[variant] = get_engine(name, address=args.ray_address,
                                              workers=args.workers)
            except Exception as exc:  # Ray not installed or the cluster unreachable
                print(json.dumps({"bench": "generate", "variant": variant,
                                  "skipped": f"{type(exc).__name__}: {exc}"}))
                continue
            if name == "ray":
                print(json.dumps({"bench": "generate", "variant": variant,
                                  "startup_s": round(time.perf_counter() - began, 3)}))
        for engine in engines.values():  # warm up: imports, registry, caches, Ray workers
            measure(engine, 20, "warmup")
        rates: dict[str, list[float]] = {v: [] for v in engines}
        ratios: dict[str, list[float]] = {v: [] for v in engines}
        same: dict[str, bool] = dict.fromkeys(engines, True)
        floor_data = None
        for r in range(args.rounds):
            order = list(engines)
            random.Random(r).shuffle(order)
            got: dict[str, float] = {}
            for variant in order:
                rate, data = measure(engines[variant], args.n, f"bench-{r}")
                got[variant] = rate
                if variant == "local_1":
                    floor_data = floor_data or data
                elif floor_data is not None and data != floor_data:
                    same[variant] = False
                rates[variant].append(rate)
            for variant in engines:
                ratios[variant].append(got[variant] / got["local_1"])
        for variant, values in rates.items():
            print(json.dumps({
                "bench": "generate", "variant": variant, "unit": "examples_per_s",
                "n": args.n, "median": round(statistics.median(values), 1),
                "min": round(min(values), 1), "max": round(max(values), 1),
                "repeats": len(values),
                "paired_ratio_median": round(statistics.median(ratios[variant]), 2),
                "same_dataset": same[variant]}))
        for engine in engines.values():
            engine.close()


if __name__ == "__main__":
    main()
