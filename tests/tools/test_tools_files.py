from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.errors import ToolError
from agent.tools import files
from agent.tools.files import list_files, read_file, search_files
from agent.types import ToolContext


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A files root with text, binary, nested and symlinked entries, and a secret outside."""
    base = tmp_path / "root"
    (base / "docs" / "deep").mkdir(parents=True)
    (base / "docs" / "notes.txt").write_text("alpha\nThe Invoice is due\nomega\n")
    (base / "docs" / "deep" / "more.md").write_text("# more\ninvoice number 7\n")
    (base / "readme.md").write_text("hello from the root\n")
    (base / "image.bin").write_bytes(b"\x89PNG\x00\x00\x01binary")
    (base / ".git").mkdir()
    (base / ".git" / "config").write_text("invoice in a git file\n")
    outside = tmp_path / "secret.txt"
    outside.write_text("top secret invoice\n")
    (base / "escape.txt").symlink_to(outside)
    (base / "etc").symlink_to("/etc")
    (base / "alias.txt").symlink_to(base / "readme.md")  # inside: allowed
    return base


@pytest.fixture
def ctx(root: Path) -> ToolContext:
    return ToolContext(settings={"files_root": str(root)})


def test_read_file(ctx: ToolContext) -> None:
    out = read_file("docs/notes.txt", ctx=ctx)
    assert out["content"] == "alpha\nThe Invoice is due\nomega\n"
    assert out["path"] == "docs/notes.txt"
    assert (out["size"], out["truncated"], out["encoding"]) == (31, False, "utf-8")
    assert read_file("alias.txt", ctx=ctx)["path"] == "readme.md"  # resolved inside the root


def test_read_file_truncates_without_splitting_characters(root: Path, ctx: ToolContext) -> None:
    (root / "accents.txt").write_text("é" * 10)  # 2 bytes each
    out = read_file("accents.txt", max_bytes=5, ctx=ctx)
    assert out["truncated"] is True
    assert out["content"] == "éé"
    assert out["bytes_read"] == 5 and out["size"] == 20


def test_read_file_encodings(root: Path, ctx: ToolContext) -> None:
    (root / "latin.txt").write_bytes("café".encode("latin-1"))
    with pytest.raises(ToolError, match="not valid utf-8 text"):
        read_file("latin.txt", ctx=ctx)
    assert read_file("latin.txt", encoding="latin-1", ctx=ctx)["content"] == "café"
    (root / "wide.txt").write_text("hi", encoding="utf-16")
    assert read_file("wide.txt", encoding="utf-16", ctx=ctx)["content"] == "hi"
    with pytest.raises(ToolError, match="unknown encoding"):
        read_file("latin.txt", encoding="klingon", ctx=ctx)


def test_read_file_refusals(ctx: ToolContext, root: Path) -> None:
    with pytest.raises(ToolError, match="looks like a binary file"):
        read_file("image.bin", ctx=ctx)
    with pytest.raises(ToolError, match=r"no such file: 'missing\.txt'"):
        read_file("missing.txt", ctx=ctx)
    with pytest.raises(ToolError, match="is a directory"):
        read_file("docs", ctx=ctx)
    os.mkfifo(root / "pipe")
    with pytest.raises(ToolError, match="not a regular file"):
        read_file("pipe", ctx=ctx)


@pytest.mark.parametrize(
    "path", ["../secret.txt", "docs/../../secret.txt", "/etc/passwd", "escape.txt",
             "etc/passwd", "etc"],
)
def test_escapes_are_refused(path: str, ctx: ToolContext, root: Path) -> None:
    with pytest.raises(ToolError, match=rf"path '{path}' is outside the allowed root {root}"):
        read_file(path, ctx=ctx)


def test_escapes_are_refused_by_every_tool(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="outside the allowed root"):
        list_files("..", ctx=ctx)
    with pytest.raises(ToolError, match="outside the allowed root"):
        list_files("etc", ctx=ctx)
    with pytest.raises(ToolError, match="outside the allowed root"):
        search_files("root", path="/etc", ctx=ctx)


def test_absolute_path_inside_the_root_is_fine(ctx: ToolContext, root: Path) -> None:
    assert read_file(str(root / "readme.md"), ctx=ctx)["content"] == "hello from the root\n"


def test_list_files(ctx: ToolContext) -> None:
    out = list_files(ctx=ctx)
    names = [e["name"] for e in out["entries"]]
    # Symlinks out of the root (escape.txt, etc) are skipped; the inner alias stays.
    assert names == [".git", "alias.txt", "docs", "image.bin", "readme.md"]
    by_name = {e["name"]: e for e in out["entries"]}
    assert by_name["docs"] == {"path": "docs", "name": "docs", "kind": "directory",
                               "size": None}
    assert by_name["readme.md"]["kind"] == "file" and by_name["readme.md"]["size"] == 20
    assert out["path"] == "." and out["count"] == 5 and out["truncated"] is False


def test_list_files_recursive_with_pattern(ctx: ToolContext) -> None:
    out = list_files(".", pattern="*.md", recursive=True, ctx=ctx)
    assert [e["path"] for e in out["entries"]] == ["readme.md", "docs/deep/more.md"]
    sub = list_files("docs", pattern="deep/*", recursive=True, ctx=ctx)
    assert [e["path"] for e in sub["entries"]] == ["docs/deep/more.md"]
    with pytest.raises(ToolError, match="is a file, not a directory"):
        list_files("readme.md", ctx=ctx)
    with pytest.raises(ToolError, match="no such directory"):
        list_files("nope", ctx=ctx)


def test_list_files_limit(root: Path, ctx: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "MAX_ENTRIES", 2)
    out = list_files(ctx=ctx)
    assert out["count"] == 2 and out["truncated"] is True


def test_search_files(ctx: ToolContext) -> None:
    out = search_files("invoice", ctx=ctx)
    found = [(m["path"], m["line"], m["text"]) for m in out["matches"]]
    # Case-insensitive; the secret behind escape.txt, .git and the binary file are skipped.
    assert found == [("docs/notes.txt", 2, "The Invoice is due"),
                     ("docs/deep/more.md", 2, "invoice number 7")]
    assert out["truncated"] is False and out["count"] == 2
    exact = search_files("Invoice", case_sensitive=True, ctx=ctx)
    assert [m["path"] for m in exact["matches"]] == ["docs/notes.txt"]
    md = search_files("invoice", glob="*.md", ctx=ctx)
    assert [m["path"] for m in md["matches"]] == ["docs/deep/more.md"]
    one = search_files("invoice", max_results=1, ctx=ctx)
    assert one["count"] == 1 and one["truncated"] is True
    single = search_files("omega", path="docs/notes.txt", ctx=ctx)
    assert single["matches"] == [{"path": "docs/notes.txt", "line": 3, "text": "omega"}]


def test_root_from_environment(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_FILES_ROOT", str(root / "docs"))
    assert read_file("notes.txt")["path"] == "notes.txt"
    with pytest.raises(ToolError, match="outside the allowed root"):
        read_file("../readme.md")


def test_root_defaults_to_working_directory(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENT_FILES_ROOT", raising=False)
    monkeypatch.chdir(root / "docs")
    assert read_file("notes.txt")["size"] == 31
    with pytest.raises(ToolError, match="outside the allowed root"):
        read_file("../readme.md")


async def test_through_the_executor(run_tool, root: Path) -> None:
    settings = {"files_root": str(root)}
    listed = await run_tool(files, "list_files", {"path": "docs", "recursive": True},
                            settings=settings)
    assert listed.ok, listed.error
    assert [e["path"] for e in listed.content["entries"]] == [
        "docs/deep", "docs/notes.txt", "docs/deep/more.md"]
    read = await run_tool(files, "read_file", {"path": "readme.md"}, settings=settings)
    assert read.ok and read.content["content"] == "hello from the root\n"
    found = await run_tool(files, "search_files", {"text": "omega"}, settings=settings)
    assert found.ok and found.content["matches"][0]["line"] == 3
    refused = await run_tool(files, "read_file", {"path": "../secret.txt"}, settings=settings)
    assert refused.status == "error"
    assert refused.error.startswith("path '../secret.txt' is outside the allowed root")
