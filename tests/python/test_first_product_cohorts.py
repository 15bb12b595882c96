"""First-product cohorts (crm__cohort_retention_by_first_product) against plain Python.

A small shop given as order lines with a product and a category in its own column names
(`SKU`, `Category`, mapped with crm_orders_columns), some lines without them. The expected rows
come from the reference: the lines summed to orders (reference.orders_from_lines), each
customer's first product picked here from the raw lines as docs/definitions.md "First-product
cohorts" says, and the cohort rows of reference.py computed on each value's customers. The
values' counts must add up to crm__cohort_retention's (the singular test runs in the build).
One build of about 30 s: slow suite.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date, timedelta

import duckdb
import pytest

import reference as ref
from dbt_project_runner import RAW_SCHEMA, run_dbt
from mart_comparison import compare_rows, expected_marts

AS_OF = "2024-06-30"
TOP_N = 3
pytestmark = pytest.mark.slow
KEYS = ["segment_name", "segment_value", "cohort_period", "periods_since_acquisition"]
PRODUCTS = {f"P{n}": ("mugs" if n < 4 else "tea" if n < 7 else None) for n in range(1, 9)}
RAW = ["Order ID", "Line", "Customer", "Ordered", "Status", "Sales", "SKU", "Category"]
VARS = {
    "crm_schema": RAW_SCHEMA, "crm_orders_identifier": "src_lines", "crm_customers_identifier": "src_customers",
    "crm_using_nps": False, "crm_using_marketing_spend": False, "crm_as_of_date": AS_OF,
    "crm_orders_grain": "line", "crm_first_product_top_n": TOP_N,
    "crm_orders_columns": {"order_id": "Order ID", "line_id": "Line", "customer_id": "Customer",
                           "ordered_at": "Ordered", "status": "Status", "amount": "Sales",
                           "product_id": "SKU", "product_category": "Category"},
}


def generate_lines(seed: int = 31) -> list[dict]:
    """40 customers, 1-6 orders each over 18 months, 1-3 lines per order; a few lines without a
    product, some products without a category, equal line amounts to exercise the tie-break."""
    rng = random.Random(seed)
    lines = []
    for c in range(40):
        day = date(2023, 1, 1) + timedelta(days=rng.randrange(500))
        for o in range(rng.randint(1, 6)):
            if day > date.fromisoformat(AS_OF):
                break
            order_id = f"o{c:02d}-{o}"
            ordered_at = f"{day.isoformat()}T{rng.randrange(24):02d}:00:00"
            for n in range(1, rng.randint(1, 3) + 1):
                product = rng.choice([*PRODUCTS, None]) if rng.random() > 0.05 else None
                lines.append({"Order ID": order_id, "Line": str(n), "Customer": f"c{c:02d}", "Ordered": ordered_at,
                              "Status": "completed", "Sales": rng.choice(["10.00", "25.00", "40.00"]),
                              "SKU": product, "Category": PRODUCTS.get(product)})
            day += timedelta(days=rng.choice([3, 20, 45, 100, 200]))
    return lines


def first_products(lines: list[dict]) -> dict[str, dict[str, str]]:
    """segment name -> customer -> value: the first order's (earliest ordered_at, then order_id)
    line with the largest amount, then the smallest product, category and line id."""
    by_order: dict[str, list[dict]] = {}
    for row in lines:
        by_order.setdefault(row["Order ID"], []).append(row)
    first_order: dict[str, tuple] = {}
    for order_id, rows in by_order.items():
        key = (rows[0]["Ordered"], order_id)
        if rows[0]["Customer"] not in first_order or key < first_order[rows[0]["Customer"]]:
            first_order[rows[0]["Customer"]] = key

    def line_key(row):
        missing = lambda v: (v is None, v or "")  # noqa: E731  (nulls last)
        return (-float(row["Sales"]), missing(row["SKU"]), missing(row["Category"]), missing(row["Line"]))

    first = {c: min(by_order[order_id], key=line_key) for c, (_, order_id) in first_order.items()}
    counts = Counter(row["SKU"] for row in first.values() if row["SKU"] is not None)
    top = set(sorted(counts, key=lambda p: (-counts[p], p))[:TOP_N])
    return {
        "product_category": {c: row["Category"] or ref.UNKNOWN_SEGMENT for c, row in first.items()},
        "product_id": {c: ref.UNKNOWN_SEGMENT if row["SKU"] is None else row["SKU"] if row["SKU"] in top else "other"
                       for c, row in first.items()},
    }


def expected_rows(lines: list[dict]) -> list[dict]:
    orders = ref.orders_from_lines([
        {"order_id": r["Order ID"], "customer_id": r["Customer"], "ordered_at": r["Ordered"], "status": r["Status"],
         "amount": r["Sales"]} for r in lines])
    cleaned = expected_marts({"orders": orders, "customers": []}, period="month",
                             as_of=date.fromisoformat(AS_OF))["_cleaned"]
    model = ref._build_model(cleaned, "month", date.fromisoformat(AS_OF), 90, 60)
    rows = []
    for name, values in first_products(lines).items():
        for value in sorted(set(values.values())):
            for row in ref.cohort_rows(ref._restricted(model, {c for c, v in values.items() if v == value})):
                rows.append({"segment_name": name, "segment_value": value, **row})
    return rows


@pytest.fixture(scope="module")
def first_product_build(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("first_product")
    lines = generate_lines()
    db_path = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(db_path))
    try:
        con.execute(f"create schema {RAW_SCHEMA}")
        con.execute(f"create table {RAW_SCHEMA}.src_customers (customer_id varchar)")
        con.execute(f"create table {RAW_SCHEMA}.src_lines ({', '.join(f'{chr(34)}{c}{chr(34)} varchar' for c in RAW)})")
        con.executemany(f"insert into {RAW_SCHEMA}.src_lines values ({', '.join('?' for _ in RAW)})",
                        [[row[c] for c in RAW] for row in lines])
    finally:
        con.close()
    # cautious: the data tests whose models are all selected, the singular one among them
    result = run_dbt(["build", "--vars", json.dumps(VARS), "--exclude-resource-type", "unit_test", "--select",
                      "+crm__cohort_retention_by_first_product +crm__cohort_retention", "--indirect-selection", "cautious"],
                     db_path=db_path, target_path=tmp_path / "target")
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = {}
        for name in ("crm__cohort_retention_by_first_product", "crm__cohort_retention"):
            cursor = con.execute(f"select * from main.{name}")
            names = [d[0] for d in cursor.description]
            tables[name] = [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()
    return lines, tables["crm__cohort_retention_by_first_product"], result.stdout, tables["crm__cohort_retention"]


def test_first_product_cohorts_equal_the_reference(first_product_build):
    lines, built, _, _ = first_product_build
    expected = expected_rows(lines)
    values = {(r["segment_name"], r["segment_value"]) for r in expected}
    assert {"other", ref.UNKNOWN_SEGMENT} <= {v for _, v in values} and len(values) >= 7
    problems = compare_rows("crm__cohort_retention_by_first_product", built, expected, keys=KEYS)
    assert not problems, problems[:10]


def test_first_product_cohorts_add_up_to_the_cohorts(first_product_build):
    """Each breakdown's values sum to crm__cohort_retention, here and in the build's singular test."""
    _, built, output, cohorts = first_product_build
    sums = Counter()
    for row in built:
        for column in ("cohort_size", "active_customers", "unbounded_active_customers", "orders", "revenue"):
            sums[(row["segment_name"], row["cohort_period"], row["periods_since_acquisition"], column)] += row[column]
    for name in ("product_category", "product_id"):
        for cell in cohorts:
            for column in ("cohort_size", "active_customers", "unbounded_active_customers", "orders", "revenue"):
                assert sums[(name, cell["cohort_period"], cell["periods_since_acquisition"], column)] == cell[column]
    assert any("PASS assert_first_product_cohorts_add_up" in line for line in output.splitlines())
