"""Secrets never reach the database file, whatever column or nesting they arrive in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from agent.store import TraceStore, args_hash, new_id
from agent.store.redact import REDACTED, dumps_redacted, might_hold_secret, redact, redact_text

SK = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2"
BEARER = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0dG9rZW4.Zm9vYmFy"
PASSWORD = "hunter2-correct-horse"
GHP = "ghp_" + "a" * 36
AWS = "AKIA" + "ABCDEFGHIJKLMNOP"
# A fine-grained GitHub token: no "gh" in it (the classic tokens' prefixes all start so).
GITHUB_PAT = "github_pat_" + "11AAAAAAA0" + "_" + "B" * 30
SECRETS = [SK, BEARER, PASSWORD, GHP, AWS, GITHUB_PAT, "cookie-value-123", "tok-9f8e7d6c5b4a"]


@pytest.mark.parametrize(
    ("key", "value"),
    [("Authorization", "Basic dXNlcjpwYXNz"), ("api_key", "k1"), ("X-API-Key", "k2"),
     ("apiKey", "k3"), ("token", "t"), ("ACCESS_TOKEN", "t"), ("refresh_token", "t"),
     ("secret", "s"), ("client_secret", "s"), ("password", "p"), ("passwd", "p"),
     ("Cookie", "c"), ("Set-Cookie", "c"), ("proxy-authorization", "x"), ("api-key", "k")],
)
def test_secret_keys_are_redacted_case_insensitively(key: str, value: str) -> None:
    assert redact({"outer": [{key: value, "city": "Paris"}]}) == {
        "outer": [{key: REDACTED, "city": "Paris"}]
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Authorization: Bearer {BEARER}", "Authorization: [REDACTED]"),
        (f"curl -H 'x: Bearer {BEARER}'", "curl -H 'x: Bearer [REDACTED]'"),
        (f"use {SK} please", "use [REDACTED] please"),
        (f"gh token {GHP}.", "gh token [REDACTED]."),
        (f"clone with {GITHUB_PAT} please", "clone with [REDACTED] please"),
        (f"aws {AWS}", "aws [REDACTED]"),
        ("slack xoxb-1234567890-abcdef", "slack [REDACTED]"),
        ("https://x.io/v1?api_key=abc123&q=1", "https://x.io/v1?api_key=[REDACTED]&q=1"),
        ('{"password": "p@ss\\"word", "n": 1}', '{"password": "[REDACTED]", "n": 1}'),
        ("{'token': 'abc'}", "{'token': '[REDACTED]'}"),
    ],
)
def test_secrets_inside_strings(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # .env files and shell lines: a name ending in a secret word is a secret's name
        ("OPENAI_API_KEY=abc123\nHF_TOKEN=hf_x\nDEBUG=1",
         "OPENAI_API_KEY=[REDACTED]\nHF_TOKEN=[REDACTED]\nDEBUG=1"),
        ('export DB_PASSWORD="two words"', "export DB_PASSWORD=[REDACTED]"),
        ("AWS_SECRET_ACCESS_KEY = wJalrXUtnFEMI/K7MDENG", "AWS_SECRET_ACCESS_KEY = [REDACTED]"),
        ('{"github_token": "abc", "n": 1}', '{"github_token": "[REDACTED]", "n": 1}'),
        ("X-Auth-Token: abc123", "X-Auth-Token: [REDACTED]"),
        ("postgres://app:s3cr3t@db:5432/x", "postgres://app:[REDACTED]@db:5432/x"),
        ("HF " + "hf_" + "a" * 34, "HF [REDACTED]"),
        ("gitlab glpat-" + "a" * 20, "gitlab [REDACTED]"),
        ("stripe " + "sk_live_" + "a" * 24, "stripe [REDACTED]"),
        ("key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAKCA\n-----END RSA PRIVATE KEY-----\n.",
         "key:\n[REDACTED]\n."),
    ],
)
def test_secrets_by_name_shape_and_url(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "key", ["OPENAI_API_KEY", "hf_token", "db-password", "AWS_SECRET_ACCESS_KEY", "private_key",
            "x-auth-token", "client-secret"],
)
def test_keys_ending_in_a_secret_word_are_redacted(key: str) -> None:
    assert redact({key: "v", "sort_key": "name", "max_tokens": 5}) == {
        key: REDACTED, "sort_key": "name", "max_tokens": 5}


@pytest.mark.parametrize(
    "text",
    ["the bearer of bad news", "task-abcdefghijklmnopqrstuvwxyz", "tokens_in: 42",
     "Asia has 4.7 billion people", "a sk- prefix alone", "max_tokens=100", "sort_key=name",
     "mail bob@example.com about https://example.com/a", "https://example.com/@user",
     "input_token_details=1"],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_secret_values_of_the_environment_are_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever its shape: a tool that prints its environment or reads a .env file back."""
    value = "zq81-custom-shaped-credential"
    monkeypatch.setenv("ISSUES_TOKEN", value)
    monkeypatch.setenv("SHORT_TOKEN", "abc")  # too short to tell from ordinary text
    monkeypatch.setenv("EDITOR_NAME", "not-a-secret-value")
    store = TraceStore(tmp_path / "traces.db")  # reads the environment's secrets as it opens
    try:
        assert redact_text(f"env: {value}; abc; not-a-secret-value") == \
            "env: [REDACTED]; abc; not-a-secret-value"
        run_id = store.start_run({"id": new_id(), "query": "print the environment"})
        store.record_messages(run_id, [{"type": "tool", "data": {
            "type": "tool", "tool_call_id": "c1", "content": f"ISSUES={value}"}}])
        store.finish_run(run_id, answer=f"it is {value}")
        run = store.get_run(run_id)
    finally:
        store.close()
    assert value.encode() not in _db_bytes(tmp_path / "traces.db")
    assert run["answer"] == "it is [REDACTED]"
    assert run["messages"][0]["data"]["data"]["content"] == "ISSUES=[REDACTED]"


def test_every_pattern_passes_the_cheap_precheck() -> None:
    for text in [SK, BEARER and f"Bearer {BEARER}", GHP, GITHUB_PAT, AWS, "xoxp-1234567890-x",
                 "AIza" + "x" * 35, '"Api-Key": "v"', "PassWord=1", "COOKIE: a",
                 "hf_" + "a" * 34, "glpat-" + "a" * 20, "rk_test_" + "a" * 16,
                 "ftp://u:p@h", '"x_private_key": "v"', "MY_SECRET=1", "X-Auth-Token: a",
                 "-----BEGIN PRIVATE KEY-----\na\n-----END PRIVATE KEY-----"]:
        assert might_hold_secret(text), text
        assert redact_text(text) != text
    assert not might_hold_secret('{"city": "Paris", "days": 3}')
    # Every model reply carries token counts: they must not send it down the slow path ...
    usage = ('{"usage_metadata": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7, '
             '"input_token_details": {"cache_read": 0}}}')
    assert not might_hold_secret(usage)
    # ... while a token next to them still does.
    assert might_hold_secret(usage[:-1] + ', "token": "abc"}')
    assert REDACTED in dumps_redacted({"total_tokens": 7, "token": "abc"})


def _precheck_by_hand(text: str, env_secrets: tuple[str, ...]) -> bool:
    """What the pre-check must answer, one substring test per needle (how it was written
    before it searched all of them in one pass)."""
    if any(value in text for value in env_secrets) or ("://" in text and "@" in text):
        return True
    shapes = ("sk-", "xox", "AKIA", "ASIA", "AIza", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
              "github_pat_", "hf_", "glpat-", "k_live_", "k_test_", "PRIVATE KEY")
    if any(needle in text for needle in shapes):
        return True
    low = text.lower()
    tokens = low.count("token")
    if tokens and tokens != low.count("_tokens") + low.count("_token_details"):
        return True
    return any(word in low for word in ("secret", "passw", "cookie", "bearer", "authorization",
                                        "api_key", "apikey", "api-key", "private_key",
                                        "private-key"))


def test_the_one_pass_precheck_answers_as_a_test_per_needle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Random texts made of needles (in any case), pieces of them, token counts and
    ordinary JSON, next to each other: the pre-check finds what a search per needle finds."""
    import random

    from agent.store import redact as module

    monkeypatch.setenv("SERVICE_TOKEN", "q7-env-secret-99")
    env_secrets = module.refresh_env_secrets()
    try:
        pieces = ["sk-", "xox", "AKIA", "ASIA", "AIza", "ghp_", "gh", "github_pat_", "hf_",
                  "glpat-", "k_live_", "k_test_", "PRIVATE KEY", "://", "@", "token",
                  "_tokens", "_token_details", "_token", "tokens", "Secret", "PASSW", "cookie",
                  "Bearer", "authorization", "API_KEY", "apikey", "api-key", "private_key",
                  "Private-Key", "q7-env-secret-99", "q7-env", '{"a": 1}', "input_tokens",
                  '"usage_metadata"', "Paris", "é日本", " ", "_", "s", "k", "-", "x"]
        rng = random.Random(14)
        flagged = 0
        for _ in range(20_000):
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
            expected = _precheck_by_hand(text, env_secrets)
            assert might_hold_secret(text) is expected, text
            flagged += expected
        assert 0 < flagged < 20_000  # both answers were asked for
    finally:
        monkeypatch.undo()
        module.refresh_env_secrets()


def test_redaction_keeps_non_secret_values_and_types() -> None:
    value = {"n": 1, "f": 1.5, "b": True, "none": None, "t": (1, 2), "token": None}
    assert redact(value) == {"n": 1, "f": 1.5, "b": True, "none": None, "t": [1, 2],
                             "token": None}
    assert json.loads(dumps_redacted({"city": "Paris"})) == {"city": "Paris"}


def test_args_hash_is_computed_after_redaction() -> None:
    assert args_hash({"q": "x", "api_key": "one"}) == args_hash({"q": "x", "api_key": "two"})
    assert args_hash({"q": "x"}) != args_hash({"q": "y"})


def _db_bytes(path: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm"):
        file = Path(f"{path}{suffix}")
        if file.exists():
            data += file.read_bytes()
    return data


def test_secrets_never_reach_the_file_or_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "traces.db"
    store = TraceStore(path)
    run_id = new_id()
    store.start_run(
        {"id": run_id, "query": f"call the api with {SK}",
         "metadata": {"headers": {"Authorization": f"Bearer {BEARER}"}, "env": {"PASSWORD":
                                                                               PASSWORD}}},
        tools=[{"name": "http", "description": f"default key {SK}",
                "parameters": {"type": "object", "default": {"token": "tok-9f8e7d6c5b4a"}}}],
    )
    step_id = new_id()
    store.record_step({"id": step_id, "run_id": run_id, "seq": 0, "kind": "tool_calls",
                       "data": {"request": {"headers": [["Cookie", "cookie-value-123"]],
                                            "url": f"https://x.io/?access_token={BEARER}"}}})
    store.record_tool_calls([{
        "id": new_id(), "run_id": run_id, "step_id": step_id, "seq": 0, "tool_name": "http",
        "args": {"url": "https://api.example.com", "headers": {"Authorization":
                                                               f"Bearer {BEARER}"},
                 "body": {"nested": [{"password": PASSWORD}, f"key={SK}"]}},
        "content": {"echo": f"Authorization: Bearer {BEARER}", "keys": [GHP, AWS]},
        "error": f"401 for token {SK}", "status": "error",
    }])
    store.record_messages(run_id, [
        HumanMessage(f"my key is {SK} and my password is in {{'password': '{PASSWORD}'}}"),
        AIMessage("", tool_calls=[{"name": "http", "id": "c1",
                                   "args": {"headers": {"X-API-Key": SK}, "q": "weather"}}]),
        {"type": "tool", "data": {"type": "tool", "tool_call_id": "c1",
                                  "content": json.dumps({"set-cookie": "cookie-value-123"})}},
        {"type": "human", "data": {"type": "human", "content": f"push with {GITHUB_PAT}"}},
    ])
    store.set_label(run_id, "note", f"shared by {GHP}")
    store.finish_run(run_id, answer=f"done with {AWS}", error=None)

    while_open = _db_bytes(path)
    assert Path(f"{path}-wal").exists()  # the WAL really was written and checked
    run = store.get_run(run_id)
    store.close()
    after_close = _db_bytes(path)

    for secret in SECRETS:
        assert secret.encode() not in while_open, secret
        assert secret.encode() not in after_close, secret
    # The structure survives, only the values are gone.
    call = run["tool_calls"][0]
    assert call["args"]["headers"]["Authorization"] == REDACTED
    assert call["args"]["url"] == "https://api.example.com"
    assert call["content"]["keys"] == [REDACTED, REDACTED]
    assert run["metadata"]["env"]["PASSWORD"] == REDACTED
    assert run["messages"][1]["data"]["data"]["tool_calls"][0]["args"] == {
        "headers": {"X-API-Key": REDACTED}, "q": "weather"}
    assert "weather" in run["messages"][1]["content"]
