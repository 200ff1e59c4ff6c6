"""Read-only file tools confined to one root directory.

The root is ``ctx.settings["files_root"]``, else the environment variable ``AGENT_FILES_ROOT``,
else the current working directory. Every path a tool is given is joined to the root and
resolved with ``realpath`` (so ``..`` and symlinks are followed) and must still lie inside the
root: ``..`` escapes, absolute paths elsewhere and symlinks pointing out are refused. While
listing or searching, entries that resolve outside the root are skipped silently, and
symlinked directories are never descended into (no loops, no escapes).

``resolve_path`` is the one path check (``resolve_file`` adds "an existing regular file");
other tools (sqlite) reuse them. Nothing here writes.
Limits keep answers small enough for a model's context: entries listed, bytes read, files
and matches searched.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from agent.errors import ToolError
from agent.hookspecs import hookimpl
from agent.schema import tool
from agent.types import ToolContext

from . import of, returns

ROOT_SETTING = "files_root"
ROOT_ENV = "AGENT_FILES_ROOT"
MAX_ENTRIES = 500
MAX_READ_BYTES = 2_000_000
MAX_SEARCH_FILE_BYTES = 5_000_000
MAX_FILES_SEARCHED = 10_000
MAX_LINE_CHARS = 300
SNIFF_BYTES = 8192
# Never descended into while walking (they are huge and never what a user searches for).
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv",
                       ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox"})


def files_root(ctx: ToolContext | None = None) -> Path:
    """The resolved root directory the file tools may read."""
    configured = (ctx.settings.get(ROOT_SETTING) if ctx is not None else None) or os.environ.get(
        ROOT_ENV
    )
    root = Path(os.path.realpath(configured or os.getcwd()))
    if not root.is_dir():
        raise ToolError(f"the files root {root} is not a directory (set {ROOT_SETTING} or "
                        f"{ROOT_ENV})")
    return root


def _inside(root: Path, path: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(root)


def resolve_path(path: str, ctx: ToolContext | None = None) -> tuple[Path, Path]:
    """(root, resolved path) for ``path`` relative to the root; ToolError if it escapes."""
    root = files_root(ctx)
    if "\x00" in path:
        raise ToolError("the path contains a NUL character")
    real = Path(os.path.realpath(root / (path.strip() or ".")))
    if not real.is_relative_to(root):
        raise ToolError(f"path {path!r} is outside the allowed root {root} (set "
                        f"{ROOT_SETTING} or {ROOT_ENV} to change the root)")
    return root, real


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() if path != root else "."


def _walk(root: Path, base: Path, recursive: bool) -> Iterator[Path]:
    """Entries under ``base`` (sorted per directory) that resolve inside ``root``."""
    pending = [base]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in items:
            entry_path = Path(entry.path)
            if entry.is_symlink() and not _inside(root, entry_path):
                continue
            yield entry_path
            if recursive and entry.is_dir(follow_symlinks=False) and entry.name not in SKIP_DIRS:
                subdirs.append(entry_path)
        pending.extend(reversed(subdirs))


def _describe(root: Path, path: Path) -> dict[str, Any]:
    try:
        info = path.stat()
    except OSError:
        return {"path": _rel(root, path), "name": path.name, "kind": "other", "size": None}
    if stat.S_ISDIR(info.st_mode):
        kind, size = "directory", None
    elif stat.S_ISREG(info.st_mode):
        kind, size = "file", info.st_size
    else:
        kind, size = "other", None
    return {"path": _rel(root, path), "name": path.name, "kind": kind, "size": size}


def _directory(path: str, ctx: ToolContext | None) -> tuple[Path, Path]:
    root, base = resolve_path(path, ctx)
    if not base.exists():
        raise ToolError(f"no such directory: {path!r}")
    if not base.is_dir():
        raise ToolError(f"{path!r} is a file, not a directory (use read_file)")
    return root, base


def resolve_file(path: str, ctx: ToolContext | None = None) -> tuple[Path, Path, int]:
    """(root, resolved path, size) of an existing regular file inside the root."""
    root, real = resolve_path(path, ctx)
    try:
        info = real.stat()
    except FileNotFoundError:
        raise ToolError(f"no such file: {path!r}") from None
    except OSError as exc:
        raise ToolError(f"cannot read {path!r}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ToolError(f"{path!r} is a directory (use list_files)")
    if not stat.S_ISREG(info.st_mode):
        raise ToolError(f"{path!r} is not a regular file")
    return root, real, info.st_size


_ENTRY = returns({
    "path": of("string", "path relative to the root"),
    "name": of("string", "the last part of the path"),
    "kind": of("string", "what it is", enum=["file", "directory", "other"]),
    "size": of(["integer", "null"], "bytes, files only"),
})


@tool(
    tags=("files",),
    examples=("list the files in the docs folder", "find all .csv files"),
    templates=(
        "List the files in the {path} folder.",
        "What is in {path}?",
        "Which {pattern} files are there in {path}?",
        "Find the files matching {pattern} in {path}.",
        "List the {pattern} files in {path}.",
    ),
    output_schema=returns({
        "path": of("string", "the directory, relative to the root"),
        "entries": of("array", "files and directories found", items=_ENTRY),
        "count": of("integer", "number of entries"),
        "truncated": of("boolean", f"true if there were more than {MAX_ENTRIES}"),
    }),
)
def list_files(
    path: str = ".", pattern: str = "*", recursive: bool = False, ctx: ToolContext | None = None
) -> dict[str, Any]:
    """List files and directories (names, kinds, sizes) under the allowed root.

    Args:
        path: Directory relative to the files root ("." is the root itself), e.g.
            "docs", "data" or "src".
        pattern: Shell-style pattern matched against names (a pattern with "/" against the
            path relative to the listed directory), e.g. "*.csv", "*.txt" or "*.py".
        recursive: Also list the contents of subdirectories.
    """
    root, base = _directory(path, ctx)
    entries: list[dict[str, Any]] = []
    truncated = False
    for entry in _walk(root, base, recursive):
        target = entry.relative_to(base).as_posix() if "/" in pattern else entry.name
        if not fnmatch(target, pattern):
            continue
        if len(entries) >= MAX_ENTRIES:
            truncated = True
            break
        entries.append(_describe(root, entry))
    return {"path": _rel(root, base), "entries": entries, "count": len(entries),
            "truncated": truncated}


@tool(
    tags=("files",),
    examples=("show me README.md", "read the file notes/todo.txt"),
    templates=(
        "Show me {path}.",
        "Read the file {path}.",
        "What does {path} say?",
        "Open {path} and show me what is in it.",
        "Read the first {max_bytes} bytes of {path}.",
        "Read {path} as {encoding} text.",
        "Open the first file that mentions {search_files.text}.",
    ),
    output_schema=returns({
        "path": of("string", "the file, relative to the root"),
        "content": of("string", "the text read"),
        "size": of("integer", "file size in bytes"),
        "bytes_read": of("integer", "bytes decoded into content"),
        "truncated": of("boolean", "true if only a prefix was read"),
        "encoding": of("string", "the encoding used"),
    }),
)
def read_file(
    path: str, max_bytes: int = 100_000, encoding: str = "utf-8", ctx: ToolContext | None = None
) -> dict[str, Any]:
    """Read a text file under the allowed root (binary files are refused).

    Args:
        path: File path relative to the files root, e.g. "docs/notes.txt", "README.md",
            "data/cities.csv" or "src/report.py".
        max_bytes: Read at most this many bytes (up to 2,000,000; longer files are
            truncated and flagged), e.g. 100, 200 or 500.
        encoding: Text encoding of the file, e.g. "utf-8" or "latin-1".
    """
    import codecs

    if max_bytes < 1:
        raise ToolError("max_bytes must be at least 1")
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise ToolError(f"unknown encoding {encoding!r}") from None
    root, real, size = resolve_file(path, ctx)
    limit = min(max_bytes, MAX_READ_BYTES)
    try:
        with open(real, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise ToolError(f"cannot read {path!r}: {exc.strerror}") from None
    truncated = len(data) > limit
    data = data[:limit]
    wide = codec.name.startswith(("utf-16", "utf-32"))  # NUL bytes are normal there
    if not wide and b"\x00" in data[:SNIFF_BYTES]:
        raise ToolError(f"{path!r} looks like a binary file; only text files can be read")
    try:  # an incremental decoder drops a character cut in half by the truncation
        content = codec.incrementaldecoder("strict").decode(data, final=not truncated)
    except UnicodeDecodeError:
        raise ToolError(f"{path!r} is not valid {codec.name} text (a binary file, or pass "
                        "another encoding such as latin-1)") from None
    return {"path": _rel(root, real), "content": content, "size": size,
            "bytes_read": len(data), "truncated": truncated, "encoding": codec.name}


def _search_one(
    file: Path, needle: str, case_sensitive: bool
) -> Iterator[tuple[int, str]]:
    try:
        if file.stat().st_size > MAX_SEARCH_FILE_BYTES:
            return
        data = file.read_bytes()
    except OSError:
        return
    if b"\x00" in data[:SNIFF_BYTES]:
        return
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if needle in (line if case_sensitive else line.casefold()):
            yield number, line.strip()[:MAX_LINE_CHARS]


@tool(
    tags=("files", "search"),
    examples=("which files mention 'invoice'?", "search the code for TODO"),
    templates=(
        "Which files mention {text}?",
        "Search the files for {text}.",
        "Find the lines that contain {text} in {path}.",
        "Search the {glob} files for {text}.",
        "Where does {text} appear in the {glob} files?",
        "Look for {text} in the {glob} files under {path}.",
    ),
    output_schema=returns({
        "matches": of("array", "matching lines", items=returns({
            "path": of("string", "file path relative to the root"),
            "line": of("integer", "1-based line number"),
            "text": of("string", "the line, trimmed"),
        })),
        "count": of("integer", "number of matches"),
        "files_searched": of("integer", "files read"),
        "truncated": of("boolean", "true if the search stopped at a limit"),
    }),
)
def search_files(
    text: str,
    path: str = ".",
    glob: str = "*",
    max_results: int = 50,
    case_sensitive: bool = False,
    ctx: ToolContext | None = None,
) -> dict[str, Any]:
    """Find the lines that contain a text in the text files under the allowed root.

    Binary files, files over 5 MB and tool directories (.git, node_modules, ...) are skipped.

    Args:
        text: The text to look for (plain text, not a regular expression), e.g. "TODO",
            "invoice", "Paris" or "delivery".
        path: Directory (or single file) relative to the files root to search in, e.g.
            "docs" or "src".
        glob: Shell-style pattern for file names to search, e.g. "*.py", "*.txt" or "*.md".
        max_results: Stop after this many matching lines (at most 1000).
        case_sensitive: Match letter case exactly.
    """
    if not text:
        raise ToolError("the text to search for is empty")
    root, base = resolve_path(path, ctx)
    if not base.exists():
        raise ToolError(f"no such file or directory: {path!r}")
    limit = max(1, min(max_results, 1000))
    needle = text if case_sensitive else text.casefold()
    files: Iterable[Path] = (
        [base] if base.is_file() else (p for p in _walk(root, base, True) if p.is_file())
    )
    matches: list[dict[str, Any]] = []
    searched, truncated = 0, False
    for file in files:
        if not fnmatch(file.name, glob):
            continue
        if searched >= MAX_FILES_SEARCHED:
            truncated = True
            break
        searched += 1
        for number, line in _search_one(file, needle, case_sensitive):
            if len(matches) >= limit:
                truncated = True
                break
            matches.append({"path": _rel(root, file), "line": number, "text": line})
        if truncated:
            break
    return {"matches": matches, "count": len(matches), "files_searched": searched,
            "truncated": truncated}


@hookimpl
def register_tools(register: Any) -> None:
    register([list_files, read_file, search_files])


@hookimpl
def generation_sandbox(root: Path, settings: dict[str, Any]) -> None:
    """Generated examples read the sample workspace, never the user's files."""
    from .samples import write_text_files

    write_text_files(root)
    settings[ROOT_SETTING] = str(root)
