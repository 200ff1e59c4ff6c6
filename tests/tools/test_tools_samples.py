"""The sample workspace the file and SQL tools' ``generation_sandbox`` hooks write: every
file, path and query their parameter examples name works on it, so generated examples
succeed (an example edited without the workspace, or the reverse, fails here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.generation.sampling import described_examples
from agent.tools import files, sqlite
from agent.tools.samples import SHOP_DB, TEXT_FILES


@pytest.fixture
def sandbox(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    settings: dict[str, Any] = {}
    files.generation_sandbox(root=tmp_path, settings=settings)
    sqlite.generation_sandbox(root=tmp_path, settings=settings)
    return tmp_path, settings


def examples_of(tools: dict[str, Any], tool: str, param: str) -> list[Any]:
    found = described_examples(tools[tool].parameters["properties"][param]["description"])
    assert found, f"{tool}.{param} names no examples"
    return found


def test_the_hooks_write_the_workspace_and_point_the_files_root_at_it(
        sandbox: tuple[Path, dict[str, Any]]) -> None:
    root, settings = sandbox
    assert settings == {"files_root": str(root)}
    for name, text in TEXT_FILES.items():
        assert (root / name).read_text(encoding="utf-8") == text
    assert (root / SHOP_DB).is_file()


async def test_every_path_and_query_example_works_on_the_workspace(
        sandbox: tuple[Path, dict[str, Any]], run_tool: Any, tools_of: Any) -> None:
    _, settings = sandbox
    file_tools, sql_tools = tools_of(files), tools_of(sqlite)
    for path in examples_of(file_tools, "read_file", "path"):
        result = await run_tool(files, "read_file", {"path": path}, settings=settings)
        assert result.ok and result.content["content"] == TEXT_FILES[path], result.error
    for path in examples_of(file_tools, "list_files", "path"):
        result = await run_tool(files, "list_files", {"path": path}, settings=settings)
        assert result.ok and result.content["count"] > 0, (path, result.error)
    for text in examples_of(file_tools, "search_files", "text"):
        result = await run_tool(files, "search_files", {"text": text}, settings=settings)
        assert result.ok and result.content["count"] > 0, (text, result.error)
    [database] = examples_of(sql_tools, "sqlite_query", "database")
    for sql in examples_of(sql_tools, "sqlite_query", "sql"):
        result = await run_tool(sqlite, "sqlite_query", {"database": database, "sql": sql},
                                settings=settings)
        assert result.ok and result.content["row_count"] > 0, (sql, result.error)
    result = await run_tool(sqlite, "sqlite_schema", {"database": database}, settings=settings)
    assert {t["name"] for t in result.content["tables"]} == {"customers", "orders", "products"}
