"""SQL over a fleet store with DuckDB: `harness query DIR "SQL"`.

`connect(store)` opens an in-memory DuckDB database whose views `devices`,
`transactions` and `findings` read the store's Parquet files (hive partitions
`day` and `family` become columns; files written by different versions are
unioned by column name). `run_query` returns column names and rows. The
command prints a table, CSV or JSON. Reading only; the store is written by
`harness.fleet.store`.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from harness.fleet.store import TABLES
from harness.report.untrusted import printable

HELP = "run SQL over a fleet store written by `harness analyze --store DIR` (DuckDB)"
EPILOG = """tables: devices, transactions, findings (columns: docs/fleet.md).
example: harness query fleet/ "select firmware, count(*) from findings where verdict='fail' group by 1"
"""


class QueryError(ValueError):
    """The store or the SQL is unusable (DuckDB's message, made one line)."""


def connect(store: str | Path):  # noqa: ANN201 - duckdb.DuckDBPyConnection (lazy import)
    import duckdb

    root = Path(store)
    if not root.is_dir():
        raise QueryError(f"{store}: no such store directory")
    con = duckdb.connect(":memory:")
    present = False
    for table in TABLES:
        files = list((root / table).glob("**/*.parquet"))
        if files:
            present = True
            pattern = str(root / table / "**" / "*.parquet").replace("'", "''")
            con.execute(
                f"create view {table} as select * from read_parquet('{pattern}', "
                "hive_partitioning = true, union_by_name = true)"
            )
        else:
            con.execute(_empty_view(table))
    if not present:
        raise QueryError(f"{store}: no Parquet data (write some with harness analyze --store)")
    return con


def _empty_view(table: str) -> str:
    from harness.fleet.store import SCHEMAS

    kinds = {
        "string": "varchar",
        "float64": "double",
        "int64": "bigint",
        "list<string>": "varchar[]",
        "list<int64>": "bigint[]",
    }
    cols = ", ".join(f"null::{kinds[k]} as {n}" for n, k in SCHEMAS[table])
    return f"create view {table} as select {cols} where false"


def run_query(store: str | Path, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    import duckdb

    con = connect(store)
    try:
        cur = con.execute(sql)
        if cur.description is None:
            return [], []
        return [d[0] for d in cur.description], cur.fetchall()
    except duckdb.Error as exc:
        raise QueryError(" ".join(str(exc).split())) from None
    finally:
        con.close()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("store", help="the store directory (harness analyze --store DIR)")
    p.add_argument("sql", help="the SQL query; tables: devices, transactions, findings")
    p.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table (default) for reading, csv or json (one object per row) for tools",
    )


def run(args: argparse.Namespace) -> int:
    try:
        cols, rows = run_query(args.store, args.sql)
    except QueryError as exc:
        print(f"harness query: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout
    if args.format == "csv":
        w = csv.writer(out)
        w.writerow(cols)
        w.writerows(rows)
    elif args.format == "json":
        json.dump([dict(zip(cols, r, strict=True)) for r in rows], out, default=str, indent=1)
        out.write("\n")
    else:
        from rich.console import Console
        from rich.table import Table

        t = Table(*cols, show_lines=False)
        for r in rows:
            t.add_row(*(_cell(v) for v in r))
        Console(file=out, soft_wrap=True).print(t)
        print(f"{len(rows)} row(s)", file=out)
    return 0


def _cell(value: Any) -> str:
    """A value as table text: device-controlled bytes never reach the terminal raw."""
    from rich.markup import escape

    return escape(printable("" if value is None else value))
