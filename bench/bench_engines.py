"""Execution engines: items/s of ``LocalEngine`` vs ``RayEngine`` with 2 workers.

What it measures
----------------
Throughput (items per second) of ``engine.map(fn, range(N))``, fully consumed, for two
functions shaped like generation work:

  cpu   ~1 ms of pure-Python work per item, seeded per item (programmatic generation:
        sampling a template, filling arguments, serialising an example)
  io    a 5 ms ``time.sleep`` per item plus a little work (solving: a tool or model call)

Variants, interleaved per round in shuffled order in one process:

  local           ``get_engine("local")``: sequential, in process             (floor)
  local_threads   ``LocalEngine(workers=T)``: T threads (default 2 for cpu, 8 for io)
  ray_2           ``RayEngine(workers=2)``: a local Ray cluster with 2 CPUs, adaptive
                  batches; started once before the rounds (its start-up is printed apart)

``ratio_to_floor`` / ``paired_ratio_median`` are variant/local items/s: > 1 means faster than
the in-process sequential engine. Every variant's output is checked equal to the floor's
(the engines must give the same dataset).

Ray is imported only for ray_2; without it that variant prints ``skipped``.

Run:  /work/venv/bin/python bench/bench_engines.py [--n-cpu 3000] [--n-io 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from agent.generation.engines import LocalEngine, get_engine

BENCH = "engines"


def cpu_fn(item: int) -> dict[str, Any]:
    """About a millisecond of pure Python (holds the GIL): a seeded sample, built and summed."""
    rng = random.Random(item)
    words = [rng.choice("abcdefghij") * rng.randint(1, 6) for _ in range(300)]
    text = " ".join(words)
    checksum = 0
    for ch in text:
        checksum = (checksum * 31 + ord(ch)) % 1_000_003
    return {"id": item, "checksum": checksum, "n": len(text)}


def io_fn(item: int) -> dict[str, Any]:
    """A 5 ms wait (a tool or model call) and a small seeded result."""
    time.sleep(0.005)
    rng = random.Random(item)
    return {"id": item, "value": rng.random()}


def summarize(variant: str, fn: str, samples: list[float], floor: list[float] | None,
              **extra: Any) -> None:
    rec: dict[str, Any] = {"bench": BENCH, "fn": fn, "variant": variant, "unit": "items_per_s",
                           "median": statistics.median(samples), "min": min(samples),
                           "max": max(samples), "repeats": len(samples)}
    if floor is not None:
        rec["ratio_to_floor"] = rec["median"] / statistics.median(floor)
        rec["paired_ratio_median"] = statistics.median(
            s / f for s, f in zip(samples, floor, strict=True))
    rec.update(extra)
    for key in ("median", "min", "max", "ratio_to_floor", "paired_ratio_median"):
        if key in rec:
            rec[key] = round(rec[key], 3)
    print(json.dumps(rec), flush=True)


def run_once(engine: Any, fn: Any, n: int) -> tuple[float, list[Any]]:
    began = time.perf_counter()
    out = list(engine.map(fn, range(n)))
    return n / (time.perf_counter() - began), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-cpu", type=int, default=3000)
    ap.add_argument("--n-io", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads-cpu", type=int, default=2)
    ap.add_argument("--threads-io", type=int, default=8)
    args = ap.parse_args()

    engines: dict[str, Any] = {"local": get_engine("local")}
    ray_engine = None
    try:
        import ray  # noqa: F401

        began = time.perf_counter()
        ray_engine = get_engine("ray", workers=2)
        ray_engine.map(cpu_fn, range(4)).__next__()  # workers up and the fn imported
        print(json.dumps({"bench": BENCH, "variant": "ray_2", "unit": "s",
                          "cluster_start_and_first_result": round(time.perf_counter() - began,
                                                                  3)}), flush=True)
        engines["ray_2"] = ray_engine
    except ImportError:
        print(json.dumps({"bench": BENCH, "variant": "ray_2", "skipped": "ray not installed"}))

    cases = [("cpu", cpu_fn, args.n_cpu, args.threads_cpu),
             ("io", io_fn, args.n_io, args.threads_io)]
    rng = random.Random(0)
    try:
        for name, fn, n, threads in cases:
            variants = dict(engines)
            variants["local_threads"] = LocalEngine(workers=threads)
            expected = list(get_engine("local").map(fn, range(n)))
            samples: dict[str, list[float]] = {v: [] for v in variants}
            for _ in range(args.rounds):
                order = list(variants)
                rng.shuffle(order)
                for variant in order:
                    rate, out = run_once(variants[variant], fn, n)
                    if out != expected:
                        raise SystemExit(f"{variant} gave a different result for {name}")
                    samples[variant].append(rate)
            variants["local_threads"].close()
            for variant, values in samples.items():
                extra = {"n": n}
                if variant == "local_threads":
                    extra["threads"] = threads
                if variant == "ray_2":
                    extra["workers"] = 2
                summarize(variant, name, values,
                          None if variant == "local" else samples["local"], **extra)
    finally:
        if ray_engine is not None:
            ray_engine.close()


if __name__ == "__main__":
    main()
