"""What the benchmark's peers share: their command line and their stage timings.

benchmarks/pandas_peer.py, benchmarks/polars_peer.py and benchmarks/duckdb_program.py each read
the raw tables of a DuckDB file and print, as JSON on their last line, their stage timings and the
row count of each table, so scripts/benchmark.py can run any of them in its own process.

The peers are benchmark artefacts, frozen beside the benchmark: yardsticks of speed, not second
implementations of the metrics (tests/python/reference.py is that). The slow suite checks they
still equal the marts (tests/python/test_peers.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable

import duckdb

# The raw contract (tables, default statuses) is the one the generators in scripts/ write.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from raw_schema import RAW_SCHEMA  # noqa: E402

PERIODS = ["day", "month", "quarter", "week", "year"]


def parser(description: str) -> argparse.ArgumentParser:
    """The arguments every peer takes: the DuckDB file, where its raw tables are, and the vars."""
    arguments = argparse.ArgumentParser(description=description)
    arguments.add_argument("database")
    arguments.add_argument("--schema", default=RAW_SCHEMA)
    arguments.add_argument("--orders-table", default="raw_orders")
    arguments.add_argument("--customers-table", default="raw_customers")
    arguments.add_argument("--spend-table", default="raw_marketing_spend", help="'' without marketing spend")
    arguments.add_argument("--period", default="month", choices=PERIODS)
    arguments.add_argument("--window-days", type=int, default=90)
    arguments.add_argument("--as-of", default=None)
    return arguments


class Laps:
    """Seconds per stage: each lap(name) records the time since the previous one."""

    def __init__(self, timings: dict | None = None) -> None:
        self.timings = {} if timings is None else timings
        self.started = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self.started, 3)
        self.started = now


def run_in_memory_peer(description: str, load: Callable, compute: Callable) -> None:
    """The main of a peer that loads the raw tables into memory and computes its tables there."""
    args = parser(description).parse_args()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with duckdb.connect(args.database, read_only=True) as con:
        frames = load(con, args.schema, args.orders_table, args.customers_table, args.spend_table or None)
    timings["read"] = round(time.perf_counter() - started, 3)
    tables = compute(frames, period=args.period, window_days=args.window_days, as_of=args.as_of, timings=timings)
    timings["total"] = round(time.perf_counter() - started, 3)
    print(json.dumps({"timings": timings, "rows": {name: len(table) for name, table in tables.items()}}))
