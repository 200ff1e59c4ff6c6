"""Execution engines: order, streaming, backpressure, errors, and local == Ray results.

One real local Ray cluster (2 CPUs, small object store) serves the whole module and is shut
down at the end; the functions run on it are top-level here.
"""

from __future__ import annotations

import itertools
import os
import random
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.errors import UsageError
from agent.generation.engines import (
    EngineError,
    EngineUnavailableError,
    ItemFailedError,
    LocalEngine,
    RayEngine,
    WorkerLostError,
    get_engine,
)


def sample(item: int) -> dict[str, object]:
    """A pure fn, seeded per item, shaped like a generated example."""
    rng = random.Random(item)
    return {"id": item, "tool": rng.choice(["search", "weather", "convert"]),
            "args": [rng.randint(0, 10**6) for _ in range(3)]}


def fail_on_seven(item: int) -> int:
    if item == 7:
        raise ValueError(f"cannot use item {item}\nsecond line of detail")
    return item * 10


def die_on_three(item: int) -> int:
    if item == 3:
        os._exit(1)  # the worker process vanishes, as if killed
    return item


class Recorder:
    """An item source that counts what the engine has pulled, to check laziness."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.pulled = 0
        self.lock = threading.Lock()

    def __iter__(self) -> Iterator[int]:
        for i in range(self.n):
            with self.lock:
                self.pulled += 1
            yield i


@pytest.fixture(scope="module")
def ray_engine() -> Iterator[RayEngine]:
    ray = pytest.importorskip("ray")  # a dev-extra dependency; present in the dev venv
    # pytest imports this file from a folder the workers do not have on their path: send its
    # functions by value (a runtime_env would work too, but starts fresh workers: seconds).
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    engine = RayEngine(workers=2, object_store_memory=100 * 1024 * 1024)
    try:
        yield engine
    finally:
        engine.close()
        assert not ray.is_initialized()


@pytest.fixture(params=["local", "local-threads", "ray"])
def engine(request: pytest.FixtureRequest) -> Iterator[object]:
    if request.param == "ray":
        yield request.getfixturevalue("ray_engine")
        return
    local = LocalEngine(workers=3 if request.param == "local-threads" else None)
    yield local
    local.close()


def test_results_come_in_item_order_and_stream(engine: LocalEngine | RayEngine) -> None:
    source = Recorder(400)
    results = engine.map(sample, source)
    first = next(results)
    assert first == sample(0)
    assert source.pulled < 400  # the first result arrived before the last item was read
    rest = list(results)
    assert [first, *rest] == [sample(i) for i in range(400)]


def test_same_items_give_the_same_dataset_on_every_engine(ray_engine: RayEngine) -> None:
    items = list(range(1000))
    local = list(get_engine("local").map(sample, items))
    threaded = list(LocalEngine(workers=4).map(sample, items))
    on_ray = list(ray_engine.map(sample, items))
    assert local == threaded == on_ray
    assert len({r["tool"] for r in on_ray}) == 3  # varied, not one repeated value


def test_fn_exception_names_the_item_after_earlier_results(
    engine: LocalEngine | RayEngine,
) -> None:
    got: list[int] = []
    with pytest.raises(ItemFailedError) as info:
        for result in engine.map(fail_on_seven, range(30)):
            got.append(result)
    err = info.value
    assert got == [i * 10 for i in range(7)]
    assert err.index == 7
    assert str(err) == "item 7 failed: ValueError: cannot use item 7"
    assert "fail_on_seven" in err.remote_traceback
    assert "second line of detail" in err.remote_traceback


@pytest.mark.parametrize("window,chunk", [(3, 2), (5, 1)])
def test_ray_keeps_a_bounded_window_in_flight(
    ray_engine: RayEngine, window: int, chunk: int
) -> None:
    engine = RayEngine(max_in_flight=window, chunksize=chunk)  # reuses the running cluster
    source = Recorder(300)
    high = 0
    for consumed, result in enumerate(engine.map(sample, source), start=1):
        assert result["id"] == consumed - 1
        high = max(high, source.pulled - consumed)
    assert high <= window * chunk
    assert high >= window * chunk - chunk  # and the window is actually used
    engine.close()
    import ray

    assert ray.is_initialized()  # an engine that joined a running cluster leaves it up


def test_ray_adaptive_batches_stay_within_max_chunksize(ray_engine: RayEngine) -> None:
    engine = RayEngine(max_in_flight=2, max_chunksize=8)
    source = Recorder(500)
    high = 0
    for consumed, _ in enumerate(engine.map(sample, source), start=1):
        high = max(high, source.pulled - consumed)
    assert 8 < high <= 2 * 8  # batches grew past one item, never past the cap


def test_local_threads_keep_a_bounded_window() -> None:
    source = Recorder(200)
    with LocalEngine(workers=2, window=4) as engine:
        high = 0
        for consumed, _ in enumerate(engine.map(sample, source), start=1):
            high = max(high, source.pulled - consumed)
    assert high <= 4


def test_stopping_early_pulls_no_more_items_and_the_engine_still_works(
    ray_engine: RayEngine,
) -> None:
    source = Recorder(100_000)
    results = ray_engine.map(sample, source)
    assert list(itertools.islice(results, 5)) == [sample(i) for i in range(5)]
    results.close()  # type: ignore[attr-defined]
    assert source.pulled < 1000
    assert list(ray_engine.map(sample, range(5, 10))) == [sample(i) for i in range(5, 10)]


def test_a_killed_worker_is_a_clear_error(ray_engine: RayEngine) -> None:
    engine = RayEngine(max_retries=0, chunksize=1)
    with pytest.raises(WorkerLostError, match=r"worker was lost while running items 3\.\.3"):
        list(engine.map(die_on_three, range(6)))
    assert list(ray_engine.map(sample, range(3))) == [sample(i) for i in range(3)]


def test_fn_the_workers_cannot_import_names_the_fix(
    ray_engine: RayEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "driver_only_mod.py").write_text("def double(x):\n    return 2 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # importable here, not on the workers
    import driver_only_mod

    with pytest.raises(EngineError, match=r"No module named 'driver_only_mod'.*runtime_env"):
        list(ray_engine.map(driver_only_mod.double, range(3)))
    monkeypatch.delitem(sys.modules, "driver_only_mod")


def test_unknown_engine_lists_the_engines() -> None:
    with pytest.raises(EngineUnavailableError, match=r"unknown engine 'spark'.*local, ray"):
        get_engine("spark")


def test_ray_missing_is_a_one_line_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail
    with pytest.raises(EngineUnavailableError) as info:
        get_engine("ray")
    assert str(info.value) == "Ray is not installed: pip install 'agent[ray]'"


def test_bad_options_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="workers must be a positive integer, got 0"):
        get_engine("local", workers=0)
    with pytest.raises(UsageError, match="--ray-address needs --engine ray"):
        get_engine("local", address="auto")


def test_unreachable_cluster_address_fails_fast() -> None:
    pytest.importorskip("ray")
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(EngineError, match=rf"cannot reach the Ray cluster at 'ray://127\.0\.0\.1:{port}'"):
        get_engine("ray", address=f"ray://127.0.0.1:{port}")


def test_bad_runtime_env_variable_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.generation.engines import _runtime_env_from_environ

    monkeypatch.setenv("AGENT_RAY_RUNTIME_ENV", "{working_dir: .}")
    with pytest.raises(UsageError, match="AGENT_RAY_RUNTIME_ENV is not valid JSON"):
        _runtime_env_from_environ()
    monkeypatch.setenv("AGENT_RAY_RUNTIME_ENV", '{"working_dir": "."}')
    assert _runtime_env_from_environ() == {"working_dir": "."}


def test_importing_the_engines_does_not_import_ray(tmp_path: Path) -> None:
    code = "import sys, agent.generation.engines; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=str(tmp_path), check=True)
    assert out.stdout.strip() == "False"
