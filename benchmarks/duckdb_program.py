"""The DuckDB program: the package's headline tables as one hand-written SQL program.

The yardstick for what the models' own execution could cost on DuckDB: benchmarks/duckdb_program.sql
computes the retention, cohort retention, repeat rate, AOV and CLV tables from the raw orders,
customers and marketing spend, as a sequence of `create table ... as` statements run in order in
one connection. The steps' own tables (cleaned orders, spells, customer periods) are temporary;
the five result tables are written into a schema of the same DuckDB file (`duckdb_program` by
default), as the marts are. Its cleaning is the peers' (benchmarks/polars_peer.py).
tests/python/test_peers.py checks each table equals the package's mart.

Run: python benchmarks/duckdb_program.py DATABASE [--schema crm_raw] [--period month] ...
It prints each statement's seconds and the row counts of its tables, as JSON on the last line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from pathlib import Path
from string import Template

import duckdb

import peer_cli
from raw_schema import COUNTED_STATUSES, RAW_SCHEMA

SQL_PATH = Path(__file__).resolve().with_name("duckdb_program.sql")
OUTPUT_SCHEMA = "duckdb_program"
# DuckDB interval of each period grain (date_trunc takes the grain's own name; weeks start on Monday).
STEPS = {"day": "'1 day'", "week": "'7 days'", "month": "'1 month'", "quarter": "'3 months'", "year": "'1 year'"}
TABLES = {
    "crm__retention": "retention",
    "crm__cohort_retention": "cohort_retention",
    "crm__repeat_rate": "repeat_rate",
    "crm__aov": "aov",
    "crm__clv": "clv",
}
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _identifier(name: str) -> str:
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not a plain SQL identifier; pass a schema or table name of letters, "
                         "digits and underscores")
    return name


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def statements(*, schema: str = RAW_SCHEMA, orders_table: str = "raw_orders",
               customers_table: str = "raw_customers", spend_table: str | None = "raw_marketing_spend",
               output_schema: str = OUTPUT_SCHEMA, period: str = "month", window_days: int = 90,
               as_of: str | None = None, counted_statuses: list[str] | None = None,
               today: dt.date | None = None) -> list[str]:
    """The program's statements with every name and value filled in, in the order they run."""
    if period not in STEPS:
        raise ValueError(f"period must be one of {', '.join(STEPS)}; got {period!r}")
    today = today or dt.datetime.now(dt.timezone.utc).date()
    as_of_date = dt.date.fromisoformat(as_of) if as_of else None
    raw = _identifier(schema)
    values = {
        "raw_orders": f"{raw}.{_identifier(orders_table)}",
        "raw_customers": f"{raw}.{_identifier(customers_table)}",
        # Without marketing spend every acquisition cost is null: an empty spend table gives that.
        "raw_marketing_spend": (f"{raw}.{_identifier(spend_table)}" if spend_table else
                                "(select null::date as spent_on, null::varchar as channel, "
                                "null::decimal(18, 2) as amount where false)"),
        "out": _identifier(output_schema),
        "period": period,
        "step": STEPS[period],
        "window_days": str(int(window_days)),
        "today": f"date '{today.isoformat()}'",
        "as_of_date": f"date '{as_of_date.isoformat()}'" if as_of_date else "max(order_date)",
        "as_of_filter": f"and cast(ordered_at as date) <= date '{as_of_date.isoformat()}'" if as_of_date else "",
        "counted_statuses": ", ".join(_text(s.strip().lower()) for s in counted_statuses or COUNTED_STATUSES),
    }
    program = Template(SQL_PATH.read_text()).substitute(values)
    # A statement ends with the line that ends in `;`; comments between statements go with the next.
    return [statement.strip() for statement in re.split(r";[ \t]*$", program, flags=re.MULTILINE)
            if re.sub(r"--[^\n]*", "", statement).strip()]


def run(con: duckdb.DuckDBPyConnection, timings: dict | None = None, **options) -> dict[str, int]:
    """Run the program in `con`; return the row count of each table, keyed by the mart it matches."""
    timings = {} if timings is None else timings
    output_schema = _identifier(options.get("output_schema", OUTPUT_SCHEMA))
    con.execute("set enable_progress_bar = false")
    con.execute(f"create schema if not exists {output_schema}")
    for statement in statements(**options):
        name = re.search(r"create or replace (?:temp )?table (?:\w+\.)?(\w+)", statement).group(1)
        started = time.perf_counter()
        con.execute(statement)
        timings[name] = round(time.perf_counter() - started, 3)
    return {mart: con.execute(f"select count(*) from {output_schema}.{table}").fetchone()[0]
            for mart, table in TABLES.items()}


def main() -> None:
    parser = peer_cli.parser("The DuckDB SQL program of the crm_retention marts.")
    parser.add_argument("--output-schema", default=OUTPUT_SCHEMA)
    parser.add_argument("--memory-limit", default=os.environ.get("CRM_DUCKDB_MEMORY_LIMIT", "4GB"),
                        help="DuckDB memory_limit (default: $CRM_DUCKDB_MEMORY_LIMIT or 4GB, as in profiles.yml)")
    args = parser.parse_args()

    timings: dict[str, float] = {}
    started = time.perf_counter()
    with duckdb.connect(args.database) as con:
        con.execute(f"set memory_limit = {_text(args.memory_limit)}")
        rows = run(con, timings, schema=args.schema, orders_table=args.orders_table,
                   customers_table=args.customers_table, spend_table=args.spend_table or None,
                   output_schema=args.output_schema, period=args.period, window_days=args.window_days,
                   as_of=args.as_of)
    timings["total"] = round(time.perf_counter() - started, 3)
    print(json.dumps({"timings": timings, "rows": rows}))


if __name__ == "__main__":
    main()
