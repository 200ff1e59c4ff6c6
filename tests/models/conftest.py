"""Fixtures for the model tests. Keep each fixture small and self-contained (shared file)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def smollm2_server() -> Iterator[str]:
    """xllamacpp's OpenAI-compatible HTTP server running SmolLM2 on 127.0.0.1 (a free port).

    Yields the base URL, ending in ``/v1``. One server for the whole session (loading the model
    takes a few seconds); 2 threads, a small context.
    """
    import xllamacpp  # the dev extra installs it: a missing runtime fails, it does not skip
    from support.models import smollm2_path

    params = xllamacpp.CommonParams()
    params.model.path = str(smollm2_path())
    params.n_ctx = 2048
    params.n_parallel = 1
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    params.cpuparams.poll = 0  # sleep, not spin, between tokens: other tests share the CPU
    params.cpuparams_batch.poll = 0
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # any free port; the server reports the one it got
    params.warmup = False
    params.sampling.seed = 42
    params.verbosity = 0  # no llama.cpp log lines in the test output
    server = xllamacpp.Server(params)
    try:
        yield server.listening_address.rstrip("/") + "/v1"
    finally:
        del server  # stops the HTTP server and frees the model
