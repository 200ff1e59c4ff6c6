from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from agent.errors import ToolError
from agent.tools import sqlite as sqlite_tools
from agent.tools.sqlite import sqlite_query, sqlite_schema
from agent.types import ToolContext


@pytest.fixture
def root(tmp_path: Path) -> Path:
    base = tmp_path / "root"
    base.mkdir()
    conn = sqlite3.connect(base / "shop.db")
    conn.executescript(
        """
        CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL,
                               image BLOB);
        CREATE VIEW cheap AS SELECT name FROM products WHERE price < 5;
        INSERT INTO products (name, price, image) VALUES
            ('apple', 1.5, NULL), ('pear', 2.0, NULL), ('melon', 6.5, x'00ff10');
        """
    )
    conn.commit()
    conn.close()
    (base / "notes.txt").write_text("not a database\n")
    outside = sqlite3.connect(tmp_path / "outside.db")
    outside.execute("CREATE TABLE secrets (s TEXT)")
    outside.commit()
    outside.close()
    return base


@pytest.fixture
def ctx(root: Path) -> ToolContext:
    return ToolContext(settings={"files_root": str(root)})


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_select(ctx: ToolContext) -> None:
    out = sqlite_query("shop.db", "SELECT name, price FROM products ORDER BY price", ctx=ctx)
    assert out == {"columns": ["name", "price"],
                   "rows": [["apple", 1.5], ["pear", 2.0], ["melon", 6.5]],
                   "row_count": 3, "truncated": False}
    view = sqlite_query("shop.db", "SELECT * FROM cheap ORDER BY name", ctx=ctx)
    assert view["rows"] == [["apple"], ["pear"]]
    blob = sqlite_query("shop.db", "SELECT image FROM products WHERE name = 'melon'", ctx=ctx)
    assert blob["rows"] == [["<blob: 3 bytes>"]]
    cte = sqlite_query("shop.db", "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                       "FROM n WHERE x < 3) SELECT upper('a'), sum(x) FROM n", ctx=ctx)
    assert cte["rows"] == [["A", 6]]


def test_max_rows_truncates(ctx: ToolContext) -> None:
    out = sqlite_query("shop.db", "SELECT id FROM products ORDER BY id", max_rows=2, ctx=ctx)
    assert out["rows"] == [[1], [2]] and out["truncated"] is True and out["row_count"] == 2


def test_informational_pragmas_are_allowed(ctx: ToolContext) -> None:
    out = sqlite_query("shop.db", "PRAGMA table_info(products)", ctx=ctx)
    assert [row[1] for row in out["rows"]] == ["id", "name", "price", "image"]


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO products (name, price) VALUES ('kiwi', 1.0)",
        "UPDATE products SET price = 0",
        "DELETE FROM products",
        "DROP TABLE products",
        "CREATE TABLE t (x)",
        "CREATE TEMP TABLE t (x)",
        "PRAGMA user_version = 7",
        "PRAGMA journal_mode = delete",
        "SELECT load_extension('evil')",
        "REPLACE INTO products (id, name) VALUES (1, 'x')",
    ],
)
def test_writes_are_refused(sql: str, ctx: ToolContext, root: Path) -> None:
    before = digest(root / "shop.db")
    with pytest.raises(ToolError, match="refused: only read-only queries"):
        sqlite_query("shop.db", sql, ctx=ctx)
    assert digest(root / "shop.db") == before
    count = sqlite_query("shop.db", "SELECT count(*) FROM products", ctx=ctx)
    assert count["rows"] == [[3]]


@pytest.mark.parametrize("sql", ["ATTACH DATABASE '{path}' AS other",
                                 "VACUUM INTO '{path}'"])
def test_attach_and_vacuum_into_create_nothing(sql: str, ctx: ToolContext, root: Path,
                                               tmp_path: Path) -> None:
    target = tmp_path / "created.db"
    with pytest.raises(ToolError, match="refused"):
        sqlite_query("shop.db", sql.format(path=target), ctx=ctx)
    assert not target.exists()


def test_multiple_statements_are_refused(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match="one statement"):
        sqlite_query("shop.db", "SELECT 1; DROP TABLE products", ctx=ctx)


def test_errors(ctx: ToolContext) -> None:
    with pytest.raises(ToolError, match=r"no such file: 'missing\.db'"):
        sqlite_query("missing.db", "SELECT 1", ctx=ctx)
    with pytest.raises(ToolError, match="SQL error: no such table: nope"):
        sqlite_query("shop.db", "SELECT * FROM nope", ctx=ctx)
    with pytest.raises(ToolError, match=r"SQL error: .*syntax error"):
        sqlite_query("shop.db", "SELEKT 1", ctx=ctx)
    with pytest.raises(ToolError, match=r"'notes\.txt' is not a SQLite database"):
        sqlite_query("notes.txt", "SELECT 1", ctx=ctx)
    with pytest.raises(ToolError, match="outside the allowed root"):
        sqlite_query("../outside.db", "SELECT * FROM secrets", ctx=ctx)


def test_runaway_query_is_stopped(ctx: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_tools, "QUERY_SECONDS", 0.2)
    with pytest.raises(ToolError, match=r"longer than 0\.2 s"):
        sqlite_query("shop.db", "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                     "FROM n) SELECT count(*) FROM n", ctx=ctx)


def test_schema(ctx: ToolContext) -> None:
    out = sqlite_schema("shop.db", ctx=ctx)
    assert out["database"] == "shop.db"
    assert [(t["name"], t["type"]) for t in out["tables"]] == [("cheap", "view"),
                                                              ("products", "table")]
    products = out["tables"][1]["columns"]
    assert products[0] == {"name": "id", "type": "INTEGER", "not_null": False,
                           "primary_key": True}
    assert products[1] == {"name": "name", "type": "TEXT", "not_null": True,
                           "primary_key": False}


async def test_through_the_executor(run_tool, root: Path) -> None:
    settings = {"files_root": str(root)}
    schema = await run_tool(sqlite_tools, "sqlite_schema", {"database": "shop.db"},
                            settings=settings)
    assert schema.ok, schema.error
    rows = await run_tool(sqlite_tools, "sqlite_query",
                          {"database": "shop.db", "sql": "SELECT count(*) AS n FROM products"},
                          settings=settings)
    assert rows.ok and rows.content["columns"] == ["n"] and rows.content["rows"] == [[3]]
    refused = await run_tool(sqlite_tools, "sqlite_query",
                             {"database": "shop.db", "sql": "DROP TABLE products"},
                             settings=settings)
    assert refused.status == "error" and refused.error.startswith("refused")
