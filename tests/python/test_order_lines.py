"""A shop given as order lines, in its own column names, without a status column, in two
currencies, gives the marts of the same shop given as one row per order in one currency.

The generator below writes one shop twice (issue: "Right on the raw data people actually
have"). Build A is the package's native shape: one row per order, the contract's column names, a
status column, every amount in USD. Build B is the shape of a public retail export: one row per
order line (1 to 5 lines, with a line number), columns named "Order ID", "Order Date", "Sales"
and so on, no status column (`crm_default_order_status` gives every row its status), and half
the orders in EUR with an exchange-rates table (rates 0.5, 1.25 and 2, so that each converted
line is exact to the cent-thousandth and the sums are exact). B is built with text columns and
with typed ones. Every mart of B must equal A's row for row: the expected values are A's, which
come from a different raw shape through different vars, so a fault in the mapping, the line sums
or the conversion shows as a difference.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dbt_project_runner import RAW_SCHEMA, run_dbt  # noqa: E402

pytestmark = pytest.mark.slow

MARTS = ["crm__retention", "crm__cohort_retention", "crm__churn", "crm__repeat_rate", "crm__aov",
         "crm__revenue_retention", "crm__clv", "crm__customers", "crm__kpis", "crm__at_risk_customers"]
AS_OF = "2024-12-31"
# EUR rates by month: reporting-currency (USD) units per EUR; powers of two and 1.25 keep the
# products exact in binary floating point.
RATES = [0.5, 1.25, 2.0]


def generate_shop(seed: int = 12):
    rng = random.Random(seed)
    customers = [{"customer_id": f"c{i:03d}", "created_at": "2023-01-01"} for i in range(60)]
    orders = []
    for number in range(400):
        day = date(2023, 1, 1) + timedelta(days=rng.randrange(700))
        cents = rng.randrange(500, 50_000)
        refund_cents = rng.choice([0, 0, 0, rng.randrange(0, cents)])
        orders.append({
            "order_id": f"o{number:04d}", "customer_id": rng.choice(customers)["customer_id"],
            "ordered_at": f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00",
            "day": day, "cents": cents, "refund_cents": refund_cents,
            "currency": rng.choice(["USD", "EUR"]), "lines": rng.randint(1, 5),
        })
    rates = []
    month = date(2022, 12, 1)
    while month <= date(2024, 12, 1):
        rates.append({"rate_date": month.isoformat(), "currency": "EUR", "rate": rng.choice(RATES)})
        month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return customers, orders, rates


def rate_on(rates, day):
    return [r["rate"] for r in rates if r["rate_date"] <= day.isoformat()][-1]


def split(total: int, parts: int, rng: random.Random) -> list[int]:
    cuts = sorted(rng.sample(range(1, total), parts - 1)) if parts > 1 and total > parts else []
    return [b - a for a, b in zip([0, *cuts], [*cuts, total])]


def money(cents: int | Decimal) -> str:
    return f"{Decimal(cents) / 100:f}"


def order_rows(orders):
    """Build A: one row per order, in USD, the contract's names."""
    return [{"order_id": o["order_id"], "customer_id": o["customer_id"], "ordered_at": o["ordered_at"],
             "status": "completed", "amount": money(o["cents"]),
             "refunded_amount": money(o["refund_cents"]) if o["refund_cents"] else None, "currency": "USD"}
            for o in orders]


def line_rows(orders, rates, seed: int = 7):
    """Build B: 1-5 lines per order in the shop's own names; EUR lines hold amount / rate."""
    rng = random.Random(seed)
    rows = []
    for o in orders:
        amounts = split(o["cents"], o["lines"], rng)
        refunds = [0] * len(amounts)
        refunds[rng.randrange(len(amounts))] = o["refund_cents"]
        divisor = Decimal(str(rate_on(rates, o["day"]))) if o["currency"] == "EUR" else Decimal(1)
        for number, (cents, refund) in enumerate(zip(amounts, refunds), start=1):
            rows.append({
                "Order ID": f" {o['order_id']}\t", "Line No": str(number), "Customer ID": o["customer_id"],
                "Order Date": o["ordered_at"], "Sales": money(cents / divisor),
                "Refund": money(refund / divisor) if refund else None,
                # Half of the USD orders carry no currency: they are in the reporting currency.
                "Currency Code": o["currency"] if o["currency"] == "EUR" or int(o["order_id"][1:]) % 2 else None,
            })
    rng.shuffle(rows)
    return rows


def write_table(con, name, rows, columns):
    column_sql = ", ".join(f'"{c}" varchar' for c in columns)
    con.execute(f"create or replace table {RAW_SCHEMA}.{name} ({column_sql})")
    con.executemany(f"insert into {RAW_SCHEMA}.{name} values ({', '.join('?' for _ in columns)})",
                    [[None if row.get(c) is None else str(row[c]) for c in columns] for row in rows])


LINE_COLUMNS = ["Order ID", "Line No", "Customer ID", "Order Date", "Sales", "Refund", "Currency Code"]
TYPED_LINES = (
    'select "Order ID", cast("Line No" as integer) as "Line No", "Customer ID", '
    'cast("Order Date" as timestamp) as "Order Date", cast("Sales" as decimal(18, 3)) as "Sales", '
    'cast("Refund" as double) as "Refund", "Currency Code" from {table}'
)
TYPED_RATES = ('select cast("Rate Date" as date) as "Rate Date", "Currency", '
               'cast("Rate" as double) as "Rate" from {table}')

COMMON_VARS = {"crm_schema": RAW_SCHEMA, "crm_customers_identifier": "src_customers",
               "crm_using_nps": False, "crm_using_marketing_spend": False, "crm_as_of_date": AS_OF}
LINE_VARS = {
    # The block of vars of the README's "order lines" example.
    "crm_orders_identifier": "src_order_lines",
    "crm_orders_grain": "line",
    "crm_orders_columns": {"order_id": "Order ID", "line_id": "Line No", "customer_id": "Customer ID",
                           "ordered_at": "Order Date", "amount": "Sales", "refunded_amount": "Refund",
                           "currency": "Currency Code"},
    "crm_default_order_status": "completed",
    "crm_reporting_currency": "USD",
    "crm_using_exchange_rates": True,
    "crm_exchange_rates_identifier": "src_rates",
    "crm_exchange_rates_columns": {"rate_date": "Rate Date", "currency": "Currency", "rate": "Rate"},
}


def build_shop(tmp_path: Path, *, lines: bool, typed: bool = False):
    customers, orders, rates = generate_shop()
    db_path = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(db_path))
    try:
        con.execute(f"create schema {RAW_SCHEMA}")
        write_table(con, "src_customers", customers, ["customer_id", "created_at"])
        if lines:
            write_table(con, "src_order_lines", line_rows(orders, rates), LINE_COLUMNS)
            write_table(con, "src_rates", [{"Rate Date": r["rate_date"], "Currency": r["currency"], "Rate": r["rate"]}
                                           for r in rates], ["Rate Date", "Currency", "Rate"])
            if typed:
                for name, sql in [("src_order_lines", TYPED_LINES), ("src_rates", TYPED_RATES)]:
                    con.execute(f"create or replace table {RAW_SCHEMA}.{name} as "
                                + sql.format(table=f"{RAW_SCHEMA}.{name}"))
        else:
            write_table(con, "src_orders", order_rows(orders),
                        ["order_id", "customer_id", "ordered_at", "status", "amount", "refunded_amount", "currency"])
    finally:
        con.close()
    vars = {**COMMON_VARS, **(LINE_VARS if lines else {"crm_orders_identifier": "src_orders"})}
    run_dbt(["build", "--vars", json.dumps(vars), "--exclude-resource-type", "unit_test"],
            db_path=db_path, target_path=tmp_path / "target")
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        marts = {}
        for mart in MARTS:
            cursor = con.execute(f"select * from main.{mart}")
            names = [d[0] for d in cursor.description]
            marts[mart] = sorted((tuple(zip(names, row)) for row in cursor.fetchall()), key=repr)
        staged = con.execute("select count(*), sum(lines) from main.stg_crm__orders").fetchone()
        raw_lines = con.execute(
            f"select count(*) from {RAW_SCHEMA}.{'src_order_lines' if lines else 'src_orders'}").fetchone()[0]
        rejected = con.execute("select count(*) from main.crm__rejected_rows").fetchone()[0]
    finally:
        con.close()
    return marts, staged, raw_lines, rejected


@pytest.fixture(scope="module")
def order_shop(tmp_path_factory):
    return build_shop(tmp_path_factory.mktemp("shop_orders"), lines=False)


@pytest.mark.parametrize("typed", [False, True], ids=["text", "typed"])
def test_order_lines_give_the_marts_of_orders(order_shop, tmp_path, typed):
    expected_marts, (orders, _), _, _ = order_shop
    marts, (staged_orders, staged_lines), raw_lines, rejected = build_shop(tmp_path, lines=True, typed=typed)
    assert rejected == 0
    assert staged_orders == orders == 400
    assert staged_lines == raw_lines > orders
    for mart in MARTS:
        assert expected_marts[mart], f"{mart} is empty"
        assert marts[mart] == expected_marts[mart], mart


# --------------------------------------------------------------------------------------
# Line grain, line by line: each raw line with its expected outcome
# --------------------------------------------------------------------------------------

STAGED = "staged"
CONFLICT = "conflicting_order_lines"
LINE_TABLE_COLUMNS = ["order_id", "line_id", "customer_id", "ordered_at", "status", "amount", "currency", "updated_at"]


def line(order_id, line_id, *, customer_id="c1", ordered_at="2024-03-05", status="completed", amount="10.00",
         currency="USD", updated_at=None):
    return {"order_id": order_id, "line_id": line_id, "customer_id": customer_id, "ordered_at": ordered_at,
            "status": status, "amount": amount, "currency": currency, "updated_at": updated_at}


# (raw line, expected outcome), worked by hand from docs/definitions.md ("Shapes of the orders
# table"): the current lines of an order must agree on customer_id, ordered_at (in UTC), status
# and currency, a value missing on some lines and present on others being a disagreement.
LINES = [
    (line("l_agree", "1", amount="10.00"), STAGED),
    (line("l_agree", "2", amount="5.00"), STAGED),
    (line("l_customer", "1"), CONFLICT),
    (line("l_customer", "2", customer_id="c2"), CONFLICT),
    (line("l_time", "1", ordered_at="2024-03-05T10:00:00Z"), CONFLICT),
    (line("l_time", "2", ordered_at="2024-03-05T11:00:00Z"), CONFLICT),
    (line("l_status", "1", status="completed"), CONFLICT),
    (line("l_status", "2", status="shipped"), CONFLICT),
    (line("l_currency_missing", "1"), CONFLICT),
    (line("l_currency_missing", "2", currency=None), CONFLICT),
    # The same instant in two offsets, and one status in two spellings, agree.
    (line("l_same_instant", "1", ordered_at="2024-03-05T10:00:00Z"), STAGED),
    (line("l_same_instant", "2", ordered_at="2024-03-05T12:00:00+02:00"), STAGED),
    (line("l_status_spelling", "1", status=" Completed "), STAGED),
    (line("l_status_spelling", "2", status="completed"), STAGED),
    # Only current lines must agree: a superseded version of a line takes no part.
    (line("l_versions", "1", customer_id="c2", updated_at="2024-03-01"), "superseded_version"),
    (line("l_versions", "1", updated_at="2024-03-02"), STAGED),
    (line("l_versions", "2", updated_at="2024-03-02"), STAGED),
    # A line rejected for its own amount leaves the order with its other lines.
    (line("l_bad_amount", "1", amount="ten"), "invalid_amount"),
    (line("l_bad_amount", "2", amount="7.00"), STAGED),
    # A currency written in the amounts, without a currency value: a dollar line and a euro line
    # disagree on the order's currency; two dollar spellings agree.
    (line("l_symbols", "1", amount="$5.00", currency=None), CONFLICT),
    (line("l_symbols", "2", amount="€5.00", currency=None), CONFLICT),
    (line("l_symbols_agree", "1", amount="$5.00", currency=None), STAGED),
    (line("l_symbols_agree", "2", amount="USD 7", currency=None), STAGED),
    # A line whose amount names another currency than its own is rejected alone.
    (line("l_line_mismatch", "1", amount="€5.00"), "currency_mismatch"),
    (line("l_line_mismatch", "2", amount="6.00"), STAGED),
]
# Return lines (negative amounts, as UCI Online Retail ships them), crm_order_line_returns:
# net (default) stages them as returns of their order; reject rejects them as negative_amount.
RETURN_LINES = [
    (line("l_return", "1", amount="30.00"), STAGED),
    (line("l_return", "2", amount="-10.00"), "negative_amount"),
    (line("l_return_exceeds", "1", amount="5.00"), STAGED),
    (line("l_return_exceeds", "2", amount="-8.00"), "negative_amount"),
    (line("l_return_only", "1", amount="-5.00"), "negative_amount"),
]
# The staged orders: order_id -> (lines, amount, net revenue), the amount being the sum of its
# staged lines.
STAGED_LINE_ORDERS = {"l_agree": (2, Decimal("15.00"), Decimal("15.00")),
                      "l_same_instant": (2, Decimal("20.00"), Decimal("20.00")),
                      "l_status_spelling": (2, Decimal("20.00"), Decimal("20.00")),
                      "l_versions": (2, Decimal("20.00"), Decimal("20.00")),
                      "l_bad_amount": (1, Decimal("7.00"), Decimal("7.00")),
                      "l_symbols_agree": (2, Decimal("12.00"), Decimal("12.00")),
                      "l_line_mismatch": (1, Decimal("6.00"), Decimal("6.00"))}
# net: a return is refunded from its order's sales, and net revenue is floored at 0 per order.
STAGED_RETURN_ORDERS = {
    "net": {"l_return": (2, Decimal("30.00"), Decimal("20.00")),
            "l_return_exceeds": (2, Decimal("5.00"), Decimal("0")),
            "l_return_only": (1, Decimal("0"), Decimal("0"))},
    "reject": {"l_return": (1, Decimal("30.00"), Decimal("30.00")),
               "l_return_exceeds": (1, Decimal("5.00"), Decimal("5.00"))},
}


@pytest.mark.parametrize("returns", ["net", "reject"])
def test_each_line_is_staged_or_rejected_with_its_reason(tmp_path, returns):
    lines = LINES + [(row, STAGED if returns == "net" and outcome == "negative_amount" else outcome)
                     for row, outcome in RETURN_LINES]
    db_path = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(db_path))
    try:
        con.execute(f"create schema {RAW_SCHEMA}")
        write_table(con, "src_order_lines", [row for row, _ in lines], LINE_TABLE_COLUMNS)
        write_table(con, "src_customers", [{"customer_id": "c1"}, {"customer_id": "c2"}], ["customer_id"])
    finally:
        con.close()
    # Half the lines are dirt on purpose: the rejected-share guard would stop the build.
    vars = {**COMMON_VARS, "crm_orders_identifier": "src_order_lines", "crm_orders_grain": "line",
            "crm_rejected_share_warn": 1, "crm_rejected_share_error": 1}
    if returns == "reject":
        vars["crm_order_line_returns"] = "reject"
    run_dbt(["build", "--vars", json.dumps(vars), "--select", "path:models/staging", "crm__rejected_rows",
             "--exclude-resource-type", "unit_test", "--indirect-selection", "cautious"],
            db_path=db_path, target_path=tmp_path / "target")
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        rejected = Counter(con.execute("select raw_key, rejection_reason from main.crm__rejected_rows "
                                       "where source_table = 'orders'").fetchall())
        staged = {order_id: (n, amount, net_revenue) for order_id, n, amount, net_revenue in con.execute(
            "select order_id, lines, amount, net_revenue from main.stg_crm__orders").fetchall()}
    finally:
        con.close()
    expected = Counter((row["order_id"], outcome) for row, outcome in lines if outcome != STAGED)
    assert rejected - expected == Counter(), "rejected but should not be (or with another reason)"
    assert expected - rejected == Counter(), "should be rejected with this reason"
    assert staged == STAGED_LINE_ORDERS | STAGED_RETURN_ORDERS[returns]
