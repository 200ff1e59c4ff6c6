"""Execution engines for training-data generation: apply ``fn`` to many items, in order.

``get_engine("local")`` (the default) runs in this process and needs no Ray;
``get_engine("ray")`` runs the same ``fn`` as Ray tasks on a local or an existing cluster.
Both engines *stream*: ``map`` yields results in the order of the items, each as soon as it
(and every result before it) is ready, and pulls items lazily, keeping only a bounded window
in flight, so a million items never sit in memory and one writer can consume the results.

Determinism: the engines never reorder, drop or retry an item's *result*, so a ``fn`` that is
pure per item (e.g. seeded from the item) gives the same dataset on every engine and worker
count. ``fn`` is expected to catch tool failures and return them as data; an exception it
raises stops the map with :class:`ItemFailedError`, which names the item's index.

Shipping the project to Ray workers:

* local cluster (no ``address``, no ``RAY_ADDRESS`` in the environment): a fresh cluster is
  started with this interpreter, so its workers share the virtualenv; nothing to do.
* existing cluster (``address="ray://head:10001"``, ``"auto"``, ``"head:6379"``): the workers
  must be able to import ``agent`` and the module that defines ``fn`` (functions are sent by
  reference, not by value). Either install the project on every node, or pass a Ray
  ``runtime_env``, e.g. ``{"working_dir": ".", "pip": ["agent[ray] @ file:///path"]}`` or
  ``{"py_modules": ["agent"], "pip": ["langchain-core>=0.3.30", ...]}``, through
  ``get_engine("ray", runtime_env=...)`` or the ``AGENT_RAY_RUNTIME_ENV`` environment
  variable (JSON). A job submitted with ``ray job submit --runtime-env-json ...`` already
  carries its runtime_env to every task.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from agent.errors import AgentError, UsageError

ENGINES = ("local", "ray")
RAY_MISSING = "Ray is not installed: pip install 'agent[ray]'"
RUNTIME_ENV_VAR = "AGENT_RAY_RUNTIME_ENV"


class EngineError(AgentError):
    """An engine could not run the work (cluster unreachable, worker died, fn not shippable)."""


class EngineUnavailableError(UsageError):
    """The engine asked for does not exist or cannot be used here (e.g. Ray not installed)."""


class WorkerLostError(EngineError):
    """A worker process died (killed, out of memory, node lost) while running items."""


class ItemFailedError(EngineError):
    """``fn`` raised on one item. ``index`` is the item's position in the input.

    ``remote_traceback`` holds the formatted traceback from where ``fn`` ran (a Ray worker's
    is otherwise lost), so the one-line message stays short and the detail is still at hand.
    """

    def __init__(self, index: int, error: str, remote_traceback: str = "") -> None:
        self.index = index
        self.error = error
        self.remote_traceback = remote_traceback
        super().__init__(f"item {index} failed: {error}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled back from Ray workers: rebuild from the fields, not from ``args``.
        return (type(self), (self.index, self.error, self.remote_traceback))

    @classmethod
    def from_exception(cls, index: int, exc: BaseException) -> ItemFailedError:
        error = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
        return cls(index, error, traceback.format_exc())


class Engine(Protocol):
    """What ``agent generate`` runs its work through."""

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """Apply fn to each item; yield results in the order of items, as they complete."""
        ...

    def close(self) -> None:
        """Release workers (a local Ray cluster started by the engine is shut down)."""
        ...


def get_engine(
    name: str = "local",
    *,
    address: str | None = None,
    workers: int | None = None,
    runtime_env: dict[str, Any] | None = None,
) -> Engine:
    """Return the engine called ``name`` ("local" or "ray").

    ``workers``: local: threads (None/1 = sequential, which is best for CPU-bound Python);
    ray: CPUs of the local cluster it starts, or the concurrency used on an existing one.
    ``address`` and ``runtime_env`` apply to Ray only (see the module docstring).
    """
    if name == "local":
        if address is not None:
            raise UsageError("--ray-address needs --engine ray")
        return LocalEngine(workers=workers)
    if name == "ray":
        return RayEngine(address=address, workers=workers, runtime_env=runtime_env)
    raise EngineUnavailableError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")


def _check_positive(what: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise UsageError(f"{what} must be a positive integer, got {value!r}")


def _call(fn: Callable[[Any], Any], index: int, item: Any) -> Any:
    try:
        return fn(item)
    except Exception as exc:
        raise ItemFailedError.from_exception(index, exc) from exc


class LocalEngine:
    """Runs ``fn`` in this process: sequentially, or on a few threads for I/O-bound ``fn``.

    Threads only pay when ``fn`` waits (HTTP tools, a model server); for pure-Python CPU work
    the GIL makes the sequential default the fastest. Either way results come in item order
    and at most ``window`` items are pulled but not yet yielded.
    """

    name = "local"

    def __init__(self, workers: int | None = None, window: int | None = None) -> None:
        _check_positive("workers", workers)
        _check_positive("window", window)
        self.workers = workers or 1
        self.window = window or 4 * self.workers
        self._pool: ThreadPoolExecutor | None = None

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        if self.workers == 1:
            return (_call(fn, index, item) for index, item in enumerate(items))
        return self._threaded(fn, items)

    def _threaded(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="agent-engine")
        pool = self._pool
        source = enumerate(items)
        pending: deque[Future[Any]] = deque()
        try:
            while True:
                for index, item in source:  # refill up to the window, lazily
                    pending.append(pool.submit(_call, fn, index, item))
                    if len(pending) >= self.window:
                        break
                if not pending:
                    return
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _run_batch(
    fn: Callable[[Any], Any], start: int, items: list[Any]
) -> tuple[list[Any], float, ItemFailedError | None]:
    """The Ray task: ``fn`` over a contiguous batch.

    Returns the results, the seconds taken, and the failure that stopped the batch, if any:
    the results before a failing item are still delivered, exactly as the local engine does.
    """
    began = time.perf_counter()
    results: list[Any] = []
    try:
        for offset, item in enumerate(items):
            results.append(_call(fn, start + offset, item))
    except ItemFailedError as failure:
        return results, time.perf_counter() - began, failure
    return results, time.perf_counter() - began, None


# Ray errors that mean a process or node went away (as opposed to a bad task or setup).
_LOST = frozenset({
    "WorkerCrashedError", "NodeDiedError", "OutOfMemoryError", "LocalRayletDiedError",
    "OwnerDiedError", "ObjectLostError", "ObjectReconstructionFailedError", "ActorDiedError",
})


def _runtime_env_from_environ() -> dict[str, Any] | None:
    raw = os.environ.get(RUNTIME_ENV_VAR)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{RUNTIME_ENV_VAR} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        example = '{"working_dir": "."}'
        raise UsageError(f"{RUNTIME_ENV_VAR} must be a JSON object, e.g. '{example}'")
    return value


def _root_cause(exc: BaseException) -> str:
    """The first line of the innermost cause: Ray wraps the useful reason (bad auth token,
    version mismatch) in a generic "Failed to connect"."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def _check_reachable(address: str) -> None:
    """Fail fast on a wrong ``host:port``: ``ray.init`` would retry for minutes."""
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto", "local" or a form Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise EngineError(
            f"cannot reach the Ray cluster at {address!r}: {reason} "
            "(is it running, e.g. `ray start --head`, and is the address right?)"
        ) from None


class RayEngine:
    """Runs ``fn`` as Ray tasks over contiguous batches of items.

    Items are sent in batches whose size adapts so each task takes about ``target_seconds``
    (starting at one item, so the first results stream back at once): per-task overhead in
    Ray is ~1 ms, more than many generation steps. ``chunksize`` fixes the batch size
    instead. At most ``max_in_flight`` tasks are submitted but not yet yielded (default:
    2 per CPU), so at most ``max_in_flight * max_chunksize`` items are held at any time.

    ``max_retries`` is Ray's retry count for tasks whose *worker died* (never for exceptions
    raised by ``fn``); a retry recomputes the same pure ``fn``, so determinism holds. When
    retries are exhausted, :class:`WorkerLostError` is raised.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        *,
        runtime_env: dict[str, Any] | None = None,
        max_in_flight: int | None = None,
        chunksize: int | None = None,
        max_chunksize: int = 256,
        target_seconds: float = 0.05,
        max_retries: int = 1,
        object_store_memory: int | None = None,
    ) -> None:
        for what, value in (("workers", workers), ("max_in_flight", max_in_flight),
                            ("chunksize", chunksize), ("max_chunksize", max_chunksize)):
            _check_positive(what, value)
        try:
            import ray
        except ImportError:
            raise EngineUnavailableError(RAY_MISSING) from None
        self._ray: Any = ray
        self.chunksize = chunksize
        self.max_chunksize = max_chunksize
        self.target_seconds = target_seconds
        self._owns_ray = False
        address = address or os.environ.get("RAY_ADDRESS") or None  # set by `ray job submit`
        self.address = address
        if address:
            _check_reachable(address)
        if not ray.is_initialized():
            self._init(address, workers, runtime_env or _runtime_env_from_environ(),
                       object_store_memory)
            self._owns_ray = True
        cpus = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.workers = cpus
        self.max_in_flight = max_in_flight or 2 * cpus
        options: dict[str, Any] = {"max_retries": max_retries, "num_cpus": 1}
        if runtime_env and not self._owns_ray:  # joined a running driver: per-task env
            options["runtime_env"] = runtime_env
        self._task = ray.remote(_run_batch).options(**options)

    def _init(self, address: str | None, workers: int | None,
              runtime_env: dict[str, Any] | None, object_store_memory: int | None) -> None:
        # Ray phones home with usage stats unless told not to; a data pipeline must not.
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        # After the first failure we drop the other in-flight tasks on purpose; Ray would
        # log each of their errors as "unhandled" on top of the one we raise.
        os.environ.setdefault("RAY_IGNORE_UNHANDLED_ERRORS", "1")
        quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
        if runtime_env:
            quiet["runtime_env"] = runtime_env
        try:
            if address:
                self._ray.init(address=address, **quiet)
            else:  # "local": a fresh cluster, even if `ray start` left one behind
                self._ray.init(address="local", num_cpus=workers or os.cpu_count() or 1,
                               include_dashboard=False,
                               object_store_memory=object_store_memory, **quiet)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
            where = f"the Ray cluster at {address!r}" if address else "a local Ray cluster"
            raise EngineError(f"cannot start or reach {where}: {_root_cause(exc)}") from exc

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        if not self._ray.is_initialized():
            raise EngineError("the Ray engine is closed; create a new one with get_engine('ray')")
        return self._stream(fn, items)

    def _stream(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        ray = self._ray
        fn_ref = ray.put(fn)  # shipped once per map, not once per task
        source = iter(items)
        pending: deque[tuple[int, int, Any]] = deque()  # (start, size, ObjectRef)
        next_index = 0
        chunk = self.chunksize or 1
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < self.max_in_flight:
                    batch = [item for _, item in zip(range(chunk), source, strict=False)]
                    if not batch:
                        exhausted = True
                        break
                    pending.append((next_index, len(batch),
                                    self._task.remote(fn_ref, next_index, batch)))
                    next_index += len(batch)
                    exhausted = len(batch) < chunk
                if not pending:
                    return
                start, size, ref = pending.popleft()
                results, seconds, failure = self._get(ray, ref, start, size)
                yield from results
                if failure is not None:
                    raise ItemFailedError(failure.index, failure.error, failure.remote_traceback)
                if self.chunksize is None:
                    chunk = self._next_chunk(chunk, seconds / size)
        finally:
            # Tasks still in flight when the consumer stops are dropped, not cancelled: each is
            # one short batch, and `ray.cancel` racing a task's reply aborts the driver process
            # on Ray 2.60 ("Check failed: it != submissible_tasks_.end()", seen in CI).
            pending.clear()

    def _next_chunk(self, chunk: int, per_item: float) -> int:
        wanted = int(self.target_seconds / per_item) if per_item > 0 else self.max_chunksize
        return max(1, min(self.max_chunksize, 2 * chunk, wanted))

    def _get(
        self, ray: Any, ref: Any, start: int, size: int
    ) -> tuple[list[Any], float, ItemFailedError | None]:
        span = f"items {start}..{start + size - 1}"
        try:
            ready, _ = ray.wait([ref], num_returns=1, fetch_local=True)
            result: tuple[list[Any], float, ItemFailedError | None] = ray.get(ready[0])
            return result
        except ray.exceptions.RayTaskError as err:
            cause = getattr(err, "cause", None)
            detail = f"{type(cause).__name__}: {cause}" if cause is not None else str(err)
            raise EngineError(
                f"Ray could not run {span}: {detail.splitlines()[0]} (is the project "
                f"installed on the workers? see runtime_env / {RUNTIME_ENV_VAR})"
            ) from err
        except ray.exceptions.RayError as err:
            kind = type(err).__name__
            if kind in _LOST:
                raise WorkerLostError(
                    f"a Ray worker was lost while running {span}: {kind}"
                ) from err
            detail = str(err).strip().splitlines()[0] if str(err).strip() else kind
            raise EngineError(f"Ray failed while running {span}: {kind}: {detail}") from err

    def close(self) -> None:
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_ray = False

    def __enter__(self) -> RayEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
