"""Raw data a fault-injection pass fed a host project, built the way a user builds: a copy of
integration_tests/ with the settings in its own dbt_project.yml (host_project.Host), over raw
tables written here. One build covers the four categories of faults in the raw data:

- mapping: raw column names that are reserved words (`order`, `select`, `group`) or need quotes
  (a space, `#`, a double quote), and a map reading one raw column as two contract columns;
- currency: a currency written in the amount with no currency column, a rate of 0.0000393, a rate
  out of range, and `$` and `€` lines of one order;
- segments: customer attributes named like the package's own columns (`rejection_reason`,
  `has_customer_record`), a reserved word and a name with a space;
- lines: return lines (negative amounts) netted from their order, and a 33-digit amount.

Every expected value is worked out by hand from docs/definitions.md in the comments beside the
rows; nothing is read back from the package's SQL.
"""

from __future__ import annotations

import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dbt_project_runner import postgres_connection  # noqa: E402
from host_project import ENGINE, Host  # noqa: E402

pytestmark = pytest.mark.slow

SCHEMA = "faults"
RAW = f"{SCHEMA}_raw"
D = Decimal

# Contract column -> the shop's raw column name.
ORDER_COLUMNS = {"order_id": "order", "line_id": "Line #", "customer_id": "select", "ordered_at": "Order Date",
                 "status": "group", "amount": 'Amount "Gross"'}
SEGMENTS = ["rejection_reason", "has_customer_record", "Loyalty Tier", "order"]
VARS = {
    "crm_schema": RAW,
    "crm_orders_identifier": "fault_order_lines",
    "crm_customers_identifier": "fault_customers",
    "crm_exchange_rates_identifier": "fault_rates",
    "crm_using_nps": False,
    "crm_using_marketing_spend": False,
    "crm_orders_grain": "line",
    "crm_orders_columns": ORDER_COLUMNS,
    "crm_reporting_currency": "USD",
    "crm_using_exchange_rates": True,
    "crm_segments": SEGMENTS,
    "crm_as_of_date": "2024-03-31",
}


def line(order_id, line_id, customer_id, ordered_at, amount, status="complete"):
    return dict(zip(ORDER_COLUMNS.values(), [order_id, line_id, customer_id, ordered_at, status, amount]))


# No currency column: a currency written in an amount is the line's currency.
LINES = [
    # A1: $100 less a $30 return line: amount 100, refunded 30, net revenue 70 (USD).
    line("A1", "1", "c1", "2024-01-10", "$100.00"),
    line("A1", "2", "c1", "2024-01-10", "$-30.00"),
    # A2: EUR 100 + EUR 50 at 1.1 USD per EUR: 165 USD.
    line("A2", "1", "c2", "2024-01-12", "EUR 100"),
    line("A2", "2", "c2", "2024-01-12", "€50"),
    # A3: a dollar line and a euro line are not one sum: both rejected conflicting_order_lines.
    line("A3", "1", "c3", "2024-01-15", "$20"),
    line("A3", "2", "c3", "2024-01-15", "€20"),
    # A4: 1,000,000 VND at 0.0000393: 39.30 USD (39.00 if the rate were cut to 6 decimals).
    line("A4", "1", "c1", "2024-02-01", "VND 1,000,000"),
    # A5: returns larger than the sale: amount 1000, refunded 1500, net revenue floored at 0.
    line("A5", "1", "c2", "2024-02-03", "1000"),
    line("A5", "2", "c2", "2024-02-03", "-1500"),
    # A6: a 33-digit line is rejected invalid_amount (its sums would overflow); the other stays.
    line("A6", "1", "c3", "2024-02-05", "100000000000000000000000000000000"),
    line("A6", "2", "c3", "2024-02-05", "10"),
    # A7: a guest (no customer record), in dollars.
    line("A7", "1", "c4", "2024-03-01", "$5"),
    # A8: a currency whose only rate is out of range: no rate for it.
    line("A8", "1", "c1", "2024-03-02", "ZZZ 10"),
    # A9: money is rounded once, on the order: 3 VND at 0.0000393 is 0.000118 (0.0001179), where
    # three lines rounded one by one would give 3 x 0.000039 = 0.000117.
    line("A9", "1", "c2", "2024-03-03", "VND 1"),
    line("A9", "2", "c2", "2024-03-03", "VND 1"),
    line("A9", "3", "c2", "2024-03-03", "VND 1"),
]
RATES = [
    {"rate_date": "2024-01-01", "currency": "EUR", "rate": "1.1"},
    {"rate_date": "2024-01-01", "currency": "VND", "rate": "0.0000393"},
    {"rate_date": "2024-01-01", "currency": "ZZZ", "rate": "0.0000000000001"},
]
CUSTOMERS = [
    {"customer_id": "c1", "rejection_reason": "gold", "has_customer_record": "no", "Loyalty Tier": "Tier 1", "order": "x"},
    {"customer_id": "c2", "rejection_reason": None, "has_customer_record": None, "Loyalty Tier": "Tier 2", "order": None},
    {"customer_id": "c3", "rejection_reason": "silver", "has_customer_record": "no", "Loyalty Tier": "Tier 1", "order": "y"},
]

# order_id: (currency, amount, refunded_amount, net_revenue, lines) in USD.
STAGED_ORDERS = {
    "A1": ("USD", D("100"), D("30"), D("70"), 2),
    "A2": ("EUR", D("165"), None, D("165"), 2),
    "A4": ("VND", D("39.3"), None, D("39.3"), 1),
    "A5": (None, D("1000"), D("1500"), D("0"), 2),
    "A6": (None, D("10"), None, D("10"), 1),
    "A7": ("USD", D("5"), None, D("5"), 1),
    "A9": ("VND", D("0.000118"), None, D("0.000118"), 3),
}
REJECTED = Counter({("orders", "A3", "conflicting_order_lines"): 2, ("orders", "A6", "invalid_amount"): 1,
                    ("orders", "A8", "missing_exchange_rate"): 1,
                    ("exchange_rates", "ZZZ|2024-01-01", "rate_out_of_range"): 1})
# Customers acquired, by segment and value: c1-c3 have records, c4 is a guest ('unknown'); a
# customer with a value of the attribute is never rejected nor made a guest by it.
NEW_CUSTOMERS = {
    ("rejection_reason", "gold"): 1, ("rejection_reason", "silver"): 1, ("rejection_reason", "unknown"): 2,
    ("has_customer_record", "no"): 2, ("has_customer_record", "unknown"): 2,
    ("loyalty tier", "Tier 1"): 2, ("loyalty tier", "Tier 2"): 1, ("loyalty tier", "unknown"): 1,
    ("order", "x"): 1, ("order", "y"): 1, ("order", "unknown"): 2,
}


def write_raw_tables(host: Host, tables: dict[str, list[dict]]) -> None:
    """Text columns under their raw names, quoted, in the schema RAW of the host's warehouse."""
    statements = [f'drop schema if exists "{RAW}" cascade', f'create schema "{RAW}"']
    for name, rows in tables.items():
        columns = list(dict.fromkeys(c for row in rows for c in row))
        quoted = ", ".join('"' + c.replace('"', '""') + '" varchar' for c in columns)
        statements.append(f'create table "{RAW}"."{name}" ({quoted})')
        for row in rows:
            values = ", ".join("null" if row.get(c) is None else "'" + row[c].replace("'", "''") + "'" for c in columns)
            statements.append(f'insert into "{RAW}"."{name}" values ({values})')
    if ENGINE == "postgres":
        con = postgres_connection()
        try:
            with con.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        finally:
            con.close()
        return
    con = duckdb.connect(str(host.db_path))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    host = Host(tmp_path_factory.mktemp("raw_faults"), VARS, schema=SCHEMA)
    host.dbt(["deps"])
    write_raw_tables(host, {"fault_order_lines": LINES, "fault_customers": CUSTOMERS, "fault_rates": RATES})
    host.dbt(["build", "--select", "+crm__retention_by_segment", "+crm__rejected_rows",
              "--exclude", "package:crm_retention_integration_tests", "--exclude-resource-type", "unit_test",
              "--indirect-selection", "cautious"])
    return host


def test_mapping_reserved_and_quoted_names_are_read(host):
    """Every line is accounted for under its raw name: staged lines + rejected lines = raw lines."""
    [(staged_lines,)] = host.query(f"select sum(lines) from {SCHEMA}.stg_crm__orders")
    rejected_lines = sum(n for (source, _, _), n in REJECTED.items() if source == "orders")
    assert staged_lines + rejected_lines == len(LINES)


def test_lines_returns_are_netted_and_currencies_read_from_amounts(host):
    staged = {row["order_id"]: (row["currency"], row["amount"], row["refunded_amount"], row["net_revenue"],
                                row["lines"])
              for row in host.rows(f"select * from {SCHEMA}.stg_crm__orders")}
    assert staged == STAGED_ORDERS


def test_currency_faults_are_rejected_with_their_reason(host):
    rejected = Counter((row["source_table"], row["raw_key"], row["rejection_reason"])
                       for row in host.rows(f"select * from {SCHEMA}.crm__rejected_rows"))
    assert rejected == REJECTED


def test_segments_named_like_internal_columns_keep_every_customer(host):
    assert host.query(f"select count(*) from {SCHEMA}.crm__rejected_rows where source_table = 'customers'") == [(0,)]
    counts = {(name, value): new for name, value, new in host.query(
        f"select segment_name, segment_value, sum(new_customers) from {SCHEMA}.crm__retention_by_segment "
        "group by segment_name, segment_value")}
    assert counts == NEW_CUSTOMERS


def test_mapping_one_raw_column_for_two_keys_stops_the_parse(host):
    """customer_id and order_id read from one column would make every order its own customer."""
    config = yaml.safe_load((host.project / "dbt_project.yml").read_text())
    config["vars"]["crm_orders_columns"] = {**ORDER_COLUMNS, "customer_id": "order"}
    (host.project / "dbt_project.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    result = host.dbt(["parse"], check=False, target_path=host.project / "target_parse")
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, output
    assert "Invalid value for var 'crm_orders_columns'" in output, output
    assert "order_id and customer_id both map to order" in output, output
