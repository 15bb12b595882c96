"""The ways incremental mode used to drift from a full refresh, each as a test: an
interrupted run, an order moved to another customer in place, hard deletes, a changed setting,
a raw column dropped, an exchange rate arriving late and a full refresh into another schema; and three properties of the re-read lookback (unchanged keys are left
alone, an id spelled with any whitespace the staging layer trims is the same key, an order
rejected as dated in the future is staged when its day comes). Each ends equal to the reference
of the raw rows as they are (a full refresh), or the run stops with its documented message. The
random sequences of tests/python/test_incremental_sequences.py mix the same steps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb
import pytest

import reference as ref
from dbt_project_runner import source_vars
from incremental_sequences import DuckDBWarehouse, Sequence

# Eight builds of a small shop, each with a few incremental runs: the slow suite. The fast suite
# has two random sequences of the same steps (test_incremental_sequences.py).
pytestmark = pytest.mark.slow


@pytest.fixture
def shop(tmp_path):
    sequence = Sequence(7, DuckDBWarehouse(tmp_path))
    sequence.start()
    return sequence


def assert_equal_to_full_refresh(shop: Sequence, period: str = "month") -> None:
    problems = shop.problems(period)
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("interrupted_after", [
    ["base_crm__orders"],
    ["base_crm__orders", "base_crm__customers", "stg_crm__order_changes", "int_crm__orders"],
])
def test_interrupted_run_is_repaired_by_the_next_build(shop, interrupted_after):
    for _ in range(3):
        shop.append()
    shop.move()
    # A build killed after these models (or a run of only them), then the normal build.
    result = shop.run(["build", "-s", *interrupted_after])
    assert result.returncode == 0, result.stdout[-3000:]
    result = shop.run(["build"])
    assert result.returncode == 0, result.stdout[-3000:]
    assert_equal_to_full_refresh(shop)


def test_a_full_refresh_into_another_schema_leaves_this_schemas_progress(shop):
    # A host whose generate_schema_name puts the package's models elsewhere (same target schema)
    # fully refreshes the same rows between an interrupted run here and the next normal run: its
    # progress through its own order log must not be taken for this schema's.
    for _ in range(3):
        shop.append()
    shop.move()
    result = shop.run(["run", "-s", "base_crm__orders", "base_crm__customers", "stg_crm__order_changes",
                       "int_crm__orders"])
    assert result.returncode == 0, result.stdout[-3000:]
    shop.refresh_elsewhere()
    result = shop.run(["run"])
    assert result.returncode == 0, result.stdout[-3000:]
    assert_equal_to_full_refresh(shop)


@pytest.mark.parametrize("command", ["build", "run"])
def test_order_moved_in_place_leaves_its_old_customer(shop, command):
    moved = shop.pick_order()
    old_customer = moved["customer_id"]
    new_customer = next(c for c in shop.customers() if c != old_customer)
    moved["customer_id"], moved["updated_at"] = new_customer, shop.stamp()
    # `dbt build` runs the unique test of int_crm__orders, which a duplicate order would fail.
    result = shop.run([command])
    assert result.returncode == 0, result.stdout[-3000:]
    assert_equal_to_full_refresh(shop)
    orders = shop.warehouse.table("int_crm__orders")
    assert [o["customer_id"] for o in orders if o["order_id"] == moved["order_id"]] in ([], [new_customer])


def test_hard_deletes_leave_the_marts(shop):
    for _ in range(3):
        shop.delete()
    removed_customer = shop.raw["customers"].pop(0)
    # the reconciliation stops the build, naming the fix
    result = shop.run(["build"])
    assert result.returncode != 0 and "does not match the raw table" in result.stdout, result.stdout[-3000:]
    assert "crm_incremental_full_check: true" in result.stdout and "--full-refresh" in result.stdout
    # the fix: one run that compares every key
    result = shop.run(["build"], {**shop.settings, "crm_incremental_full_check": True})
    assert result.returncode == 0, result.stdout[-3000:]
    assert_equal_to_full_refresh(shop)
    customers = {c["customer_id"] for c in shop.warehouse.table("stg_crm__customers")}
    assert removed_customer["customer_id"] not in customers
    # and the next normal run finds nothing to repair
    result = shop.run(["build"])
    assert result.returncode == 0, result.stdout[-3000:]
    assert_equal_to_full_refresh(shop)


def test_unchanged_keys_of_the_lookback_are_left_alone(shop):
    # A run with no raw change re-reads the keys of the lookback but rewrites none of them, so the
    # order log gains nothing and no customer is recomputed downstream.
    shop.append()
    result = shop.run(["build"])
    assert result.returncode == 0, result.stdout[-3000:]
    logged = len(shop.warehouse.table("stg_crm__order_changes"))
    result = shop.run(["build"])
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(shop.warehouse.table("stg_crm__order_changes")) == logged
    assert_equal_to_full_refresh(shop)


def test_an_id_spelled_with_whitespace_is_the_same_key(shop):
    # The re-read finds a key's rows by their raw spelling, and trims only the spellings that may
    # need it: a padded new version of an old order and rows without an id must still be read.
    old = shop.pick_order()
    shop.raw["orders"].append({**old, "order_id": f"\u00a0{old['order_id']}\t", "status": "cancelled",
                               "updated_at": shop.stamp()})
    shop.blank_id()
    result = shop.run(["build"])
    assert result.returncode == 0, result.stdout[-3000:]
    assert_equal_to_full_refresh(shop)
    staged = [o for o in shop.warehouse.table("stg_crm__orders") if o["order_id"] == old["order_id"]]
    assert [o["status"] for o in staged] == ["cancelled"]
    # and a later version spelled plainly again wins over the padded one
    shop.clock += timedelta(days=1)
    shop.raw["orders"].append({**old, "status": "completed", "updated_at": shop.stamp()})
    result = shop.run(["build"])
    assert result.returncode == 0, result.stdout[-3000:]
    assert_equal_to_full_refresh(shop)


def test_an_id_padded_with_any_trimmed_whitespace_is_the_same_key(shop):
    # Every character the staging layer trims (CR as a CRLF export leaves it, NEL, VT, FF, LS, PS
    # and the Unicode spaces), before or after an old order's id: each padded row is a new version
    # of that order. Every run after it, and the full check, must still match a full refresh.
    old_orders = [row for row in shop.raw["orders"] if row.get("order_id")][:len(ref.WHITESPACE)]
    for number, (old, character) in enumerate(zip(old_orders, ref.WHITESPACE)):
        padded = f"{old['order_id']}{character}" if number % 2 else f"{character}{old['order_id']}"
        shop.raw["orders"].append({**old, "order_id": padded, "status": "cancelled", "updated_at": shop.stamp()})
    for settings in [shop.settings, shop.settings, {**shop.settings, "crm_incremental_full_check": True}]:
        result = shop.run(["build"], settings)
        assert result.returncode == 0, result.stdout[-3000:]
        assert_equal_to_full_refresh(shop)
    cancelled = {o["order_id"] for o in shop.warehouse.table("stg_crm__orders") if o["status"] == "cancelled"}
    assert {old["order_id"] for old in old_orders} <= cancelled


def test_an_order_rejected_as_future_is_staged_when_its_day_comes(shop):
    # An order dated today (UTC), which a build on an earlier day rejected as future_timestamp. That
    # earlier state is made here: the base table holds the rejection and everything downstream is
    # rebuilt from it. The next run, with no raw change, must stage the order.
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT00:00:01Z")
    order = {**shop.new_order(shop.customers()[0], now, now), "status": "completed"}
    shop.raw["orders"].append(order)
    result = shop.run(["build"])
    assert result.returncode == 0, result.stdout[-3000:]
    con = duckdb.connect(str(shop.warehouse.path / "crm.duckdb"))
    try:
        con.execute("update main.base_crm__orders set rejection_reason = 'future_timestamp' where order_id = ?",
                    [order["order_id"]])
    finally:
        con.close()
    result = shop.run(["run", "--full-refresh", "--exclude", "base_crm__orders", "base_crm__customers"])
    assert result.returncode == 0, result.stdout[-3000:]
    assert order["order_id"] not in {o["order_id"] for o in shop.warehouse.table("int_crm__orders")}
    result = shop.run(["build"])
    assert result.returncode == 0, result.stdout[-3000:]
    assert order["order_id"] in {o["order_id"] for o in shop.warehouse.table("int_crm__orders")}
    assert_equal_to_full_refresh(shop)


def test_a_raw_column_dropped_stops_the_run_with_the_fix(shop):
    # Dropping the optional refunded_amount column changes every order's net revenue, yet no row
    # count or change time: the run must stop naming --full-refresh, which then builds it.
    refunded = [row for row in shop.raw["orders"] if row.get("refunded_amount")]
    assert refunded, "the shop has refunds to lose"
    for row in shop.raw["orders"]:
        row.pop("refunded_amount", None)
    result = shop.run(["build"])
    assert result.returncode != 0
    assert "columns of the raw orders table changed since incremental table" in result.stdout, result.stdout[-3000:]
    assert "refunded_amount" in result.stdout and "dbt build --full-refresh" in result.stdout
    result = shop.run(["build", "--full-refresh"])
    assert result.returncode == 0, result.stdout[-3000:]
    assert_equal_to_full_refresh(shop)


def test_a_rate_arriving_or_changing_for_old_dates_reconverts_their_orders(tmp_path):
    # A third of the orders are in euros, with one rate from the first order day. Then the rate of
    # that day changes and a rate arrives for a day long before the lookback: every euro order
    # from those days on must be converted again (the marts equal a full refresh).
    shop = Sequence(7, DuckDBWarehouse(tmp_path))
    euro_orders = [row for row in shop.raw["orders"] if row.get("order_id")][::3]
    for row in euro_orders:
        row["currency"] = "EUR"
    days = sorted(d.date() for d in (ref.parse_timestamp(r["ordered_at"]) for r in shop.raw["orders"]) if d)
    first, middle = days[0].isoformat(), days[len(days) // 2].isoformat()
    shop.raw["exchange_rates"] = [{"rate_date": first, "currency": "EUR", "rate": "1.10"}]
    shop.settings = {**shop.settings, **source_vars(shop.raw)}
    shop.start()
    shop.raw["exchange_rates"] = [{"rate_date": first, "currency": "EUR", "rate": "1.20"},
                                  {"rate_date": middle, "currency": "EUR", "rate": "0.95"}]
    result = shop.run(["build"])
    assert result.returncode == 0, result.stdout[-3000:]
    assert_equal_to_full_refresh(shop)
    converted = {o["order_id"]: o["exchange_rate"] for o in shop.warehouse.table("stg_crm__orders")}
    assert {float(converted[row["order_id"]]) for row in euro_orders if row["order_id"] in converted} == {1.2, 0.95}


@pytest.mark.parametrize("setting, old, new", [
    ("crm_period", "month", "week"),
    ("crm_churn_window_days", 90, 120),
    ("crm_counted_statuses", None, ["completed"]),
])
def test_changed_setting_stops_the_run_with_the_fix(shop, setting, old, new):
    shop.append()
    changed = {**shop.settings, setting: new}
    result = shop.run(["build"], changed)
    assert result.returncode != 0
    assert f"Setting {setting} changed since incremental table" in result.stdout, result.stdout[-3000:]
    assert "dbt build --full-refresh" in result.stdout
    if old is not None:
        assert f"it was {old!r}".replace("'", '"') in result.stdout
    # nothing was written: the marts still hold the state before the append
    # and a full refresh with the new setting builds it
    if setting == "crm_period":
        result = shop.run(["build", "--full-refresh"], changed)
        assert result.returncode == 0, result.stdout[-3000:]
        assert_equal_to_full_refresh(shop, period="week")
