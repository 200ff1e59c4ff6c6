"""A generation job: pick work per example index, map it over an engine, keep the good
examples, write them to the trace store from this one process, resume after a kill.

Example ``i`` of a job is a pure function of (seed, i): its spec or tool set is drawn from
``Random(f"{seed}:{i}:...")`` and a worker samples its arguments the same way. Results come
back in index order, and the keep/drop decisions (failed, invalid, duplicate) are taken
here in that order, so the same seed gives the same dataset on any engine with any number
of workers. Kept examples are written in batches, each one transaction; each carries the
labels ``source=synthetic``, ``job``, ``index``. A rerun of the job starts after the
highest index written, with the duplicate filter rebuilt from the stored queries, so a
killed job resumes without duplicates and ends with exactly ``n`` examples.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from agent.errors import UsageError
from agent.types import Tool

from .chains import build_catalog
from .modeled import sample_toolset, solve_one
from .programmatic import derived_rng, generate_one
from .quality import Balance, Deduper
from .worker import make_setup, registry_for

SOURCE = "synthetic"
MODES = ("programmatic", "model")
WRITE_BATCH = 64
WRITE_SECONDS = 1.0


@dataclass
class GenerateOptions:
    n: int
    seed: int = 0
    mode: str = "programmatic"
    tools: list[str] = field(default_factory=list)  # name/plugin/tag patterns; [] = all
    job: str | None = None
    model: str | None = None
    planner: str = "dfsdt"
    side_effects: bool = False
    plugins: list[str] = field(default_factory=list)  # extra plugin modules to load
    dedupe_threshold: float = 0.9
    max_attempts: int | None = None  # example indices to try at most (default 20 n + 100)


@dataclass
class Report:
    job: str
    mode: str
    seed: int
    requested: int
    total: int = 0  # examples of this job in the store now
    resumed: int = 0  # of which were there before this run
    attempts: int = 0  # indices processed by this run
    dropped: dict[str, int] = field(default_factory=dict)
    tools: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped_tools: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    rate: float = 0.0  # new examples per second

    @property
    def complete(self) -> bool:
        return self.total >= self.requested

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "complete": self.complete}


class Progress:
    """What ``generate`` reports to while it works (the CLI draws a bar from it)."""

    def start(self, total: int, done: int) -> None: ...
    def update(self, done: int, dropped: int) -> None: ...
    def stop(self) -> None: ...


def select_tools(tools: dict[str, Tool], patterns: list[str], side_effects: bool,
                 ) -> tuple[list[str], dict[str, str]]:
    """Tools matching any pattern (name, plugin or tag; shell-style), and those left out."""
    skipped: dict[str, str] = {}
    chosen = []
    for name in sorted(tools):
        t = tools[name]
        keys = [name, t.plugin or "", *t.tags]
        if patterns and not any(fnmatchcase(k, p) for p in patterns for k in keys):
            continue
        if t.side_effects and not side_effects:
            skipped[name] = "has side effects (pass --side-effects to include it)"
            continue
        chosen.append(name)
    if not chosen:
        what = f" matching {', '.join(patterns)}" if patterns else ""
        raise UsageError(f"no tools{what} to generate with: see `agent tools`")
    return chosen, skipped


def job_id(options: GenerateOptions, tools: list[str]) -> str:
    """A stable id for these options: the same command resumes the same job."""
    key = json.dumps([options.mode, options.seed, tools, options.model, options.planner,
                      options.side_effects, options.dedupe_threshold], sort_keys=True)
    return "gen-" + hashlib.sha1(key.encode()).hexdigest()[:10]


class Job:
    """The plan of one job: its tools, specs or tool sets, and the item for each index."""

    def __init__(self, options: GenerateOptions) -> None:
        if options.n < 1:
            raise UsageError(f"-n must be at least 1, got {options.n}")
        if options.mode not in MODES:
            raise UsageError(f"unknown mode {options.mode!r}; choose one of: {', '.join(MODES)}")
        if not 0 < options.dedupe_threshold <= 1:
            raise UsageError("--dedupe-threshold must be in (0, 1], e.g. 0.9 (1: exact "
                             f"duplicates only), got {options.dedupe_threshold}")
        if options.mode == "model" and not options.model:
            raise UsageError("--mode model needs --model ID (see `agent models`)")
        self.options = options
        self.setup = make_setup(options.plugins)
        registry = registry_for(self.setup)
        self.tools, self.skipped = select_tools(registry.tools, options.tools,
                                                options.side_effects)
        if options.mode == "model":
            registry.planner(options.planner)  # an unknown planner fails now, not per item
            self.names = self.tools
            self.specs: dict[str, list[dict[str, Any]]] = {}
        else:
            catalog = build_catalog(registry.tools, self.tools)
            self.skipped.update(catalog.skipped)
            self.specs = catalog.specs
            self.names = catalog.tools
            if not self.names:
                raise UsageError("none of the selected tools can be sampled: "
                                 + "; ".join(f"{k}: {v}" for k, v in self.skipped.items()))
        self.registry = registry
        self.id = options.job or job_id(options, self.names)
        self.fn: Callable[[dict[str, Any]], dict[str, Any]] = (
            solve_one if options.mode == "model" else generate_one)

    def item(self, index: int) -> dict[str, Any]:
        o = self.options
        rng = derived_rng(o.seed, index, "pick")
        base = {"seed": o.seed, "index": index, "setup": self.setup,
                "side_effects": o.side_effects}
        if o.mode == "model":
            kind, names = sample_toolset(self.names, self.registry.tools, rng)
            return {**base, "tools": names, "kind": kind, "model": o.model,
                    "planner": o.planner}
        specs = self.specs[rng.choice(self.names)]
        return {**base, "spec": specs[rng.randrange(len(specs))]}

    def items(self, start: int, stop: int) -> Iterator[dict[str, Any]]:
        return (self.item(i) for i in range(start, stop))


def _labels(job: Job, record: dict[str, Any]) -> dict[str, Any]:
    return {"source": SOURCE, "job": job.id, "index": record["index"],
            "mode": job.options.mode, "seed": job.options.seed, "tool": record["tool"],
            "calls": ",".join(record.get("calls") or ())}


def _resume(job: Job, store: Any, deduper: Deduper, balance: Balance) -> tuple[int, int]:
    """(examples already stored, next index) for this job; checks the job's options match."""
    runs = store.labelled_runs("job", job.id)
    last = -1
    for run in runs:
        labels = run["labels"]
        if labels.get("mode") != job.options.mode or labels.get("seed") != str(job.options.seed):
            raise UsageError(
                f"job {job.id!r} was made with --mode {labels.get('mode')} --seed "
                f"{labels.get('seed')}; rerun with those, or choose another --job")
        deduper.add(run["query"])
        balance.kept({"tool": labels.get("tool", "?"),
                      "calls": [c for c in (labels.get("calls") or "").split(",") if c]})
        last = max(last, int(labels.get("index", -1)))
    return len(runs), last + 1


def generate(options: GenerateOptions, store: Any, *, engine: Any = None,
             progress: Progress | None = None, job: Job | None = None) -> Report:
    """Run (or resume) a job until ``options.n`` examples are stored; returns the report.

    ``engine``: an object with ``map(fn, items)`` and ``close()``; default: the local one.
    """
    job = job or Job(options)
    progress = progress or Progress()
    report = Report(job.id, options.mode, options.seed, options.n,
                    skipped_tools=dict(job.skipped))
    deduper = Deduper(options.dedupe_threshold)
    balance = Balance()
    kept, start = _resume(job, store, deduper, balance)
    report.resumed = kept
    dropped = {"failed": 0, "invalid": 0, "exact_duplicates": 0, "near_duplicates": 0}
    began = time.perf_counter()
    if kept < options.n:
        own_engine = engine is None
        if own_engine:
            from .engines import get_engine

            engine = get_engine("local")
        limit = start + (options.max_attempts or 20 * options.n + 100)
        pending: list[tuple[Any, dict[str, Any]]] = []
        flushed = time.perf_counter()
        progress.start(options.n, kept)
        try:
            for record in engine.map(job.fn, job.items(start, limit)):
                report.attempts += 1
                status = record["status"]
                if status == "ok":
                    verdict = deduper.offer(record["query"])
                    if verdict is not None:
                        status = f"{verdict}_duplicates"
                if status != "ok":
                    dropped[status if status in dropped else "failed"] += 1
                    balance.dropped(record, status)
                else:
                    balance.kept(record)
                    pending.append((record["ops"], _labels(job, record)))
                    kept += 1
                now = time.perf_counter()
                if pending and (kept >= options.n or len(pending) >= WRITE_BATCH
                                or now - flushed >= WRITE_SECONDS):
                    store.import_runs(pending, SOURCE)
                    pending, flushed = [], now
                progress.update(kept, sum(dropped.values()))
                if kept >= options.n:
                    break
        finally:
            if pending:  # an engine error: what was kept so far is still stored
                store.import_runs(pending, SOURCE)
            progress.stop()
            if own_engine:
                engine.close()
    report.seconds = round(time.perf_counter() - began, 3)
    report.total = kept
    report.dropped = dropped
    report.tools = balance.report()
    report.reasons = dict(balance.reasons.most_common(5))
    new = kept - report.resumed
    report.rate = round(new / report.seconds, 2) if report.seconds > 0 else 0.0
    return report
