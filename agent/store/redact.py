"""Secret redaction applied to everything before it is written to the trace store.

Traces get shared, exported and turned into training data, so secrets must never reach the
file. Three nets: names (a secret key, or any name ending in a secret word), shapes (known
key formats, bearer tokens, URL passwords, PEM private keys), and the environment (the values
of its variables named like secrets, whatever their shape). The fast path matters: most
values hold no secret, so a cheap substring scan of the JSON text decides whether the slower
structural walk is needed at all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from ahocorasick_rs import MATCHKIND_LEFTMOST_FIRST, AhoCorasick, Implementation

from .jsontext import compact_encoder

REDACTED = "[REDACTED]"

#: Dict keys (compared lower-cased) whose values are always replaced.
SECRET_KEYS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api_key",
        "apikey",
        "api-key",
        "x-api-key",
        "token",
        "access_token",
        "refresh_token",
        "secret",
        "client_secret",
        "password",
        "passwd",
        "cookie",
        "set-cookie",
        "private_key",
        "private-key",
    }
)
#: A key (or an assignment's name) ending in ``_`` or ``-`` and one of these is a secret too:
#: ``OPENAI_API_KEY``, ``hf_token``, ``db-password``, ``AWS_SECRET_ACCESS_KEY``. (Not a bare
#: ``key``: ``sort_key`` is no secret. ``max_tokens`` ends in ``tokens``: neither.)
SECRET_SUFFIXES = (
    "token", "secret", "password", "passwd", "api_key", "apikey", "api-key", "private_key",
    "private-key", "secret_key", "secret-key", "secret_access_key",
)

# Every pattern below contains one of the substrings `might_hold_secret` looks for.
# Classic GitHub tokens (all start with "gh"); fine-grained ones start "github_pat_", which
# has no "gh" in it and is looked for on its own.
_GITHUB_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")

_KEY_ALT = "|".join(sorted((re.escape(k) for k in SECRET_KEYS), key=len, reverse=True))
# A secret key name, or any name ending in "_" or "-" and a secret word (`SECRET_SUFFIXES`).
_NAME = rf"(?:(?:[A-Za-z0-9]+[_-])+(?:{'|'.join(map(re.escape, SECRET_SUFFIXES))})|{_KEY_ALT})"

# `"api_key": "abc"` / `'token': 'abc'` inside text (JSON or a Python repr in a string).
_QUOTED_PAIR_DQ = re.compile(rf'(?i)("{_NAME}"\s*:\s*)"(?:[^"\\]|\\.)*"')
_QUOTED_PAIR_SQ = re.compile(rf"(?i)('{_NAME}'\s*:\s*)'(?:[^'\\]|\\.)*'")
# `?api_key=abc&` in URLs, `password=abc` in command lines or form bodies, and
# `HF_TOKEN=hf_abc` / `export DB_PASSWORD="abc"` in .env files and shell lines.
_ASSIGNMENT = re.compile(
    rf"(?i)(?<![A-Za-z0-9_-])({_NAME}\s*=\s*)(?:\"[^\"\r\n]*\"|'[^'\r\n]*'|[^&\s\"'#;,]+)")
# `Authorization: Basic abc` (and `X-Auth-Token: abc`) header lines in raw HTTP text.
_HEADER_LINE = re.compile(
    r"(?im)^(\s*(?:proxy-authorization|authorization|x-api-key|api-key|cookie|set-cookie"
    r"|[a-z0-9-]*-(?:token|secret))\s*:\s*)[^\r\n]+"
)
# The password of `scheme://user:password@host` (database URLs, git remotes).
_URL_PASSWORD = re.compile(r"(://[^/\s:@'\"]+:)[^/\s@'\"]+@")
# A PEM private key, whole.
_PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_API_KEY_SHAPES = re.compile(
    r"(?<![A-Za-z0-9_])(?:"
    r"sk-[A-Za-z0-9_-]{16,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|hf_[A-Za-z0-9]{30,}"
    r"|glpat-[A-Za-z0-9_-]{20,}"
    r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r")"
)


#: What `might_hold_secret` looks for as it is written (with the environment's secret values,
#: `_shapes`), and in the lower-cased text (`_words`) once the token counts of model replies
#: ("input_tokens", "input_token_details") are taken out: a "token" left is one outside
#: them. "ecret", not "secret": taking out "_tokens" would hide the "s" of "_tokensecret".
#: Every pattern above contains one of these, or both "://" and "@" (`_URL_PASSWORD`).
_SHAPES = ("sk-", "xox", "AKIA", "ASIA", "AIza", *_GITHUB_PREFIXES, "github_pat_", "hf_",
           "glpat-", "k_live_", "k_test_", "PRIVATE KEY")
_WORDS = ("token", "ecret", "passw", "cookie", "bearer", "authorization", "api_key", "apikey",
          "api-key", "private_key", "private-key")


def _searcher(needles: tuple[str, ...]) -> AhoCorasick:
    """All `needles` found in one pass over a text (Aho-Corasick, as a DFA): ~1 ns a
    character, where an `in` test per needle took ~11 (the trace writer checks every text
    it stores). Leftmost-first: the first needle found is enough."""
    return AhoCorasick(list(needles), matchkind=MATCHKIND_LEFTMOST_FIRST,
                       implementation=Implementation.DFA)


_words = _searcher(_WORDS)
_shapes = _searcher(_SHAPES)

#: Environment variables named so hold secrets (``OPENAI_API_KEY``, ``HF_TOKEN``,
#: ``DB_PASSWORD``): their values are redacted wherever they turn up (a tool printing its
#: environment, a ``.env`` file read back, an error message quoting a header).
_ENV_SECRET_NAME = re.compile(
    r"(?:^|_)(?:[A-Z0-9]*KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|CREDENTIALS?)$")
_ENV_SECRET_MIN_LENGTH = 8  # shorter values would match ordinary text
_env_secrets: tuple[str, ...] = ()


def refresh_env_secrets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Read which values of the environment are secrets (at import, and whenever a
    ``TraceStore`` opens: a variable set later is covered from the next store on)."""
    global _env_secrets, _shapes
    env = os.environ if environ is None else environ
    values = {value for name, value in env.items()
              if len(value) >= _ENV_SECRET_MIN_LENGTH and _ENV_SECRET_NAME.search(name.upper())}
    # Longest first: replace a secret that contains another whole.
    secrets = tuple(sorted(values, key=len, reverse=True))
    if secrets != _env_secrets:
        _shapes = _searcher((*secrets, *_SHAPES))
    _env_secrets = secrets
    return _env_secrets


def might_hold_secret(text: str) -> bool:
    """Cheap pre-check: False guarantees no pattern of this module can match `text`."""
    if _shapes.find_matches_as_indexes(text) or ("@" in text and "://" in text):
        return True
    low = text.lower()
    if "_token" in low:  # token counts, in every model reply, are no secret (see _WORDS)
        low = low.replace("_tokens", "").replace("_token_details", "")
    return bool(_words.find_matches_as_indexes(low))


def redact_text(text: str) -> str:
    """Replace secrets that appear inside free text (headers, URLs, API-key shapes)."""
    if not might_hold_secret(text):
        return text
    for value in _env_secrets:
        text = text.replace(value, REDACTED)
    text = _PRIVATE_KEY_BLOCK.sub(REDACTED, text)
    text = _QUOTED_PAIR_DQ.sub(rf'\1"{REDACTED}"', text)
    text = _QUOTED_PAIR_SQ.sub(rf"\1'{REDACTED}'", text)
    text = _HEADER_LINE.sub(rf"\1{REDACTED}", text)
    text = _ASSIGNMENT.sub(rf"\1{REDACTED}", text)
    text = _BEARER.sub(rf"\1 {REDACTED}", text)
    text = _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)
    return _API_KEY_SHAPES.sub(REDACTED, text)


_SECRET_ENDINGS = tuple(sep + word for word in SECRET_SUFFIXES for sep in "_-")


def is_secret_key(key: object) -> bool:
    """True if a dict key names a credential (case-insensitive): one of `SECRET_KEYS`, or a
    name ending in one of `SECRET_SUFFIXES` after ``_`` or ``-``."""
    if not isinstance(key, str):
        return False
    low = key.lower()
    return low in SECRET_KEYS or low.endswith(_SECRET_ENDINGS)


def redact(value: Any) -> Any:
    """Return a copy of `value` with secrets replaced, walking dicts, lists and tuples.

    Values of secret keys go, also in `[name, value]` pairs (headers as a list of pairs).

    Objects JSON cannot encode are turned into `str()` first, as `json.dumps(default=str)`
    would, so their text is redacted too.
    """
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {
            k: (REDACTED if is_secret_key(k) and v not in (None, "") else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        if len(value) == 2 and is_secret_key(value[0]) and value[1] not in (None, ""):
            return [value[0], REDACTED]  # a header as a (name, value) pair
        return [redact(v) for v in value]
    return redact_text(str(value))


dumps = compact_encoder()  # compact JSON text, readable UTF-8 (see compact_encoder)
refresh_env_secrets()


def dumps_redacted(value: Any) -> str:
    """JSON-encode `value` with secrets removed; walks the structure only if needed."""
    text = dumps(value)
    if not might_hold_secret(text):
        return text
    return dumps(redact(value))
