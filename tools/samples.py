"""A small sample workspace: the files and the database the file and SQL tools' parameter
examples name ("docs/notes.txt", "shop.db").

``agent generate`` runs its examples inside it (the ``generation_sandbox`` hook of
``agent.tools.files`` and ``agent.tools.sqlite``), so generated file and SQL examples read
real content without touching the user's files. Everything here is fixed text: the same
workspace, byte for byte, on every machine.
"""

from __future__ import annotations

from pathlib import Path

TEXT_FILES: dict[str, str] = {
    "README.md": """\
# Acme Outdoor shop

Sample workspace: notes, data exports and a small report script.

- docs/notes.txt: meeting notes
- docs/shipping.md: delivery times
- docs/todo.txt: open tasks
- data/cities.csv and data/sales.csv: exports
- src/report.py: the monthly sales report
- shop.db: products, customers and orders (SQLite)
""",
    "docs/notes.txt": """\
Meeting notes, 2 March 2026

- The Paris warehouse opens in May; delivery to France drops to two days.
- Send the invoice for order 1042 to Lena before Friday.
- The winter jacket is out of stock until April.
- Budget for the Berlin fair: 4,500 EUR.
""",
    "docs/shipping.md": """\
# Shipping

Orders leave the warehouse within one working day. Delivery takes two days in
France (from the Paris warehouse) and four days elsewhere in Europe. Every
parcel carries its invoice; ask Omar for a copy of an invoice.
""",
    "docs/todo.txt": """\
TODO: update the price list for the summer season
TODO: check the delivery times to Madrid
TODO: reply to Omar about the invoice
DONE: move the shop database to SQLite
""",
    "data/cities.csv": """\
city,country,population
Paris,France,2102650
Berlin,Germany,3755251
Madrid,Spain,3332035
Tokyo,Japan,13960000
Oslo,Norway,709037
""",
    "data/sales.csv": """\
month,region,revenue
2026-01,north,18250
2026-01,south,12400
2026-02,north,19975
2026-02,south,13120
2026-03,north,21540
2026-03,south,14890
""",
    "src/report.py": """\
\"\"\"Monthly sales report.\"\"\"

import csv


def revenue_by_region(path):
    totals = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            totals[row["region"]] = totals.get(row["region"], 0) + int(row["revenue"])
    return totals  # TODO: sort by revenue


if __name__ == "__main__":
    print(revenue_by_region("data/sales.csv"))
""",
}

SHOP_DB = "shop.db"
SHOP_SQL = """\
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL,
                       price REAL NOT NULL, stock INTEGER NOT NULL);
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL,
                        email TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL
                     REFERENCES customers(id), product_id INTEGER NOT NULL
                     REFERENCES products(id), quantity INTEGER NOT NULL,
                     ordered_on TEXT NOT NULL);
INSERT INTO products VALUES
  (1, 'Trail tent', 'camping', 249.0, 12), (2, 'Sleeping bag', 'camping', 89.9, 30),
  (3, 'Winter jacket', 'clothing', 179.0, 0), (4, 'Rain jacket', 'clothing', 99.5, 18),
  (5, 'Hiking boots', 'footwear', 139.0, 7), (6, 'Trail runners', 'footwear', 119.0, 22),
  (7, 'Headlamp', 'gear', 34.9, 55), (8, 'Water filter', 'gear', 49.0, 9);
INSERT INTO customers VALUES
  (1, 'Lena Berg', 'Oslo', 'lena.berg@example.com'),
  (2, 'Omar Haddad', 'Paris', 'omar.haddad@example.org'),
  (3, 'Yuki Sato', 'Tokyo', 'yuki.sato@example.net'),
  (4, 'Ines Costa', 'Madrid', NULL), (5, 'Tom Weber', 'Berlin', 'tom.weber@example.com');
INSERT INTO orders VALUES
  (1040, 1, 2, 1, '2026-02-11'), (1041, 2, 7, 3, '2026-02-14'), (1042, 3, 1, 1, '2026-02-20'),
  (1043, 2, 5, 1, '2026-02-27'), (1044, 4, 4, 2, '2026-03-01'), (1045, 5, 8, 1, '2026-03-03'),
  (1046, 1, 6, 1, '2026-03-05'), (1047, 3, 7, 2, '2026-03-09');
"""


def write_text_files(root: Path) -> None:
    """The sample documents, data exports and script, under ``root``."""
    for name, text in TEXT_FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def write_shop_db(root: Path) -> None:
    """The sample shop database (products, customers, orders) as ``root/shop.db``."""
    import sqlite3

    conn = sqlite3.connect(root / SHOP_DB)
    try:
        conn.executescript(SHOP_SQL)
        conn.commit()
    finally:
        conn.close()
