"""Each misconfiguration of the raw data fails the build with a message that names the fix, and
the rejected-share guards are loud at the right levels (issue: "builds that fail loudly instead of
emptying the marts").

Every case writes its raw tables into a fresh DuckDB file and runs `dbt build` of the base models
and their tests, as a host would, with the guards at their defaults (0.02 warn, 0.2 error).
Expected messages are the fixes docs/configuration.md documents, written here by hand.
"""

from __future__ import annotations

import json
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dbt_project_runner import RAW_SCHEMA, run_dbt  # noqa: E402

pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[[0-9;]*m")
SELECT = ["--select", "path:models/staging/crm/base", "--exclude-resource-type", "unit_test"]
BASE_VARS = {"crm_schema": RAW_SCHEMA, "crm_orders_identifier": "src_orders",
             "crm_customers_identifier": "src_customers", "crm_using_nps": False,
             "crm_using_marketing_spend": False}


def orders(n, *, junk=0, currency=lambda i: "USD", columns=None):
    rows = []
    for i in range(n):
        rows.append({"order_id": f"o{i}", "customer_id": f"c{i % 7}", "ordered_at": "2024-03-05",
                     "status": "completed", "amount": "abc" if i < junk else "10.00", "currency": currency(i)})
    if columns:
        rows = [{columns.get(k, k): v for k, v in row.items() if columns.get(k, k)} for row in rows]
    return rows


def customers(columns=("customer_id",)):
    return [{c: f"c{i}" for c in columns} for i in range(7)]


def order_lines_as_orders():
    """A retail export: two lines per order under one order id, read as orders."""
    return [{**row, "order_id": f"o{i // 2}"} for i, row in enumerate(orders(100))]


CASES = {
    "no_status_column": (
        {"src_orders": orders(10, columns={"status": None}), "src_customers": customers()}, {},
        ["has no column 'status'", "crm_orders_columns", "crm_default_order_status"],
    ),
    "ordered_at_named_order_date": (
        {"src_orders": orders(10, columns={"ordered_at": "order_date"}), "src_customers": customers()}, {},
        ["has no column 'ordered_at'", "Map it to the table's own column with the var crm_orders_columns", "order_date"],
    ),
    "mapped_column_missing": (
        {"src_orders": orders(10), "src_customers": customers()},
        {"crm_orders_columns": {"ordered_at": "Order Date"}},
        ["Invalid value for var 'crm_orders_columns': key ordered_at maps to 'Order Date'", "has no such column"],
    ),
    "amount_part_missing": (
        {"src_orders": orders(10), "src_customers": customers()},
        {"crm_orders_columns": {"amount": ["amount", "Add-on Total"]}},
        ["Invalid value for var 'crm_orders_columns': key amount lists 'Add-on Total'", "has no such column",
         "Its columns: "],
    ),
    "customers_without_customer_id": (
        {"src_orders": orders(10), "src_customers": customers(("id",))}, {},
        ["has no column 'customer_id'", "crm_customers_columns"],
    ),
    "missing_nps_table": (
        {"src_orders": orders(10), "src_customers": customers()}, {"crm_using_nps": True},
        ["The raw nps_responses table", "does not exist", "crm_nps_responses_identifier", "crm_using_nps: false"],
    ),
    "two_currencies": (
        {"src_orders": orders(10, currency=lambda i: "EUR" if i % 2 else "usd"), "src_customers": customers()}, {},
        ["more than one currency (EUR, USD)", "crm_reporting_currency", "crm_using_exchange_rates"],
    ),
    "order_lines_read_as_orders": (
        {"src_orders": order_lines_as_orders(), "src_customers": customers()}, {},
        ["50 of the 100 raw rows of orders (50.0%", "duplicate_order_id: 50", "set crm_orders_grain: line"],
    ),
    "junk_30_percent": (
        {"src_orders": orders(100, junk=30), "src_customers": customers()}, {},
        ["30 of the 100 raw rows of orders (30.0%", "invalid_amount: 30"],
    ),
    # One raw column read as two contract columns: every order its own customer, or every net
    # revenue 0, if it were accepted.
    "two_keys_map_to_one_column": (
        {"src_orders": orders(10, columns={"order_id": "id"}), "src_customers": customers()},
        {"crm_orders_columns": {"order_id": "id", "customer_id": "ID"}},
        ["Invalid value for var 'crm_orders_columns'", "order_id and customer_id both map to ID"],
    ),
    "key_mapped_to_another_keys_column": (
        {"src_orders": orders(10), "src_customers": customers()},
        {"crm_orders_columns": {"customer_id": "order_id"}},
        ["Invalid value for var 'crm_orders_columns'", "order_id and customer_id would both be read from the raw column 'order_id'"],
    ),
    "refund_mapped_to_the_amount": (
        {"src_orders": orders(10), "src_customers": customers()},
        {"crm_orders_columns": {"refunded_amount": "amount"}},
        ["Invalid value for var 'crm_orders_columns'", "amount and refunded_amount would both be read from the raw column 'amount'"],
    ),
    # An optional source that stages nothing names its switch, not only the reason.
    "all_null_nps_table": (
        {"src_orders": orders(10), "src_customers": customers(),
         "src_nps": [dict.fromkeys(["response_id", "customer_id", "responded_at", "score"])] * 5},
        {"crm_using_nps": True, "crm_nps_responses_identifier": "src_nps"},
        ["No raw row of nps_responses stages", "set crm_using_nps: false", "missing_response_id: 5"],
    ),
    "no_order_stages": (
        {"src_orders": orders(10, junk=10), "src_customers": customers()},
        {"crm_rejected_share_warn": 1, "crm_rejected_share_error": 1},
        ["No raw row of orders stages", "invalid_amount: 10"],
    ),
}
# Raw names that need quotes on every engine: reserved words, a space, a double quote.
QUOTED_NAMES = {"order_id": "order", "customer_id": "select", "ordered_at": "Order Date", "amount": 'Amount "USD"'}
PASSING = {
    "reserved_and_quoted_column_names": (
        {"src_orders": orders(10, columns=QUOTED_NAMES), "src_customers": customers()},
        {"crm_orders_columns": QUOTED_NAMES},
    ),
    "junk_5_percent": ({"src_orders": orders(100, junk=5), "src_customers": customers()}, {}),
    "junk_1_percent": ({"src_orders": orders(100, junk=1), "src_customers": customers()}, {}),
}


def run_case(tmp_path: Path, tables: dict, vars: dict):
    db_path = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(db_path))
    try:
        con.execute(f"create schema {RAW_SCHEMA}")
        for name, rows in tables.items():
            columns = list(dict.fromkeys(c for row in rows for c in row))
            quoted = ", ".join('"' + c.replace('"', '""') + '" varchar' for c in columns)
            con.execute(f"create table {RAW_SCHEMA}.{name} ({quoted})")
            con.executemany(f"insert into {RAW_SCHEMA}.{name} values ({', '.join('?' for _ in columns)})",
                            [[row.get(c) for c in columns] for row in rows])
    finally:
        con.close()
    result = run_dbt(["build", "--vars", json.dumps({**BASE_VARS, **vars}), *SELECT],
                     db_path=db_path, target_path=tmp_path / "target", check=False)
    return result.returncode, " ".join(ANSI.sub("", result.stdout + result.stderr).split())


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    cases = {**{k: v[:2] for k, v in CASES.items()}, **PASSING}
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 2)) as pool:
        futures = {case: pool.submit(run_case, tmp_path_factory.mktemp(case), *cases[case]) for case in cases}
        return {case: future.result() for case, future in futures.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_misconfiguration_fails_naming_the_fix(outcomes, case):
    returncode, output = outcomes[case]
    assert returncode != 0, output
    for part in CASES[case][2]:
        assert part in output, f"{part!r} not in dbt's output:\n{output}"


def test_five_percent_junk_warns(outcomes):
    returncode, output = outcomes["junk_5_percent"]
    assert returncode == 0, output
    assert "WARN=1" in output and "5 of the 100 raw rows of orders (5.0%" in output, output


def test_reserved_and_quoted_column_names_build(outcomes):
    """Mapped raw names are quoted on every engine: the ten orders stage, none rejected."""
    returncode, output = outcomes["reserved_and_quoted_column_names"]
    assert returncode == 0, output
    assert "WARN=0" in output and "ERROR=0" in output, output


def test_one_percent_junk_is_silent(outcomes):
    returncode, output = outcomes["junk_1_percent"]
    assert returncode == 0, output
    assert "WARN=0" in output and "raw rows of orders" not in output, output
