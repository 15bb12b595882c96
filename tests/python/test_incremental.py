"""Incremental mode equals a full refresh.

The demo orders and customers are loaded up to a cut-off, then appended a day at a time
together with the awkward rows of a real feed: a late order dated months back, a correction of
an old order to cancelled, an order moved to another customer, a brand-new guest, that guest
registering the next day, a changed customer record, and customer rows without an id or with a
timestamp that does not parse. After each batch an incremental run must leave every mart (and
the staged orders and customers and the rejected rows) identical to a full build of the same raw
rows into a fresh database.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

import reference as ref
from dbt_project_runner import build, run_dbt
from mart_comparison import MART_KEYS, compare_rows, read_demo_raw

CUT_OFF = date(2026, 6, 20)
BATCH_DAYS = [date(2026, 6, 20), date(2026, 6, 21), date(2026, 6, 22)]
INCREMENTAL = {"crm_incremental": True, "crm_incremental_lookback_days": 2}
# The segment marts exist only with crm_segments, which these builds leave empty.
COMPARED = ["stg_crm__orders", "stg_crm__customers", "crm__rejected_rows",
            *(name for name in MART_KEYS if not name.endswith("_by_segment"))]
KEYS = {**MART_KEYS, "stg_crm__orders": ["order_id"], "stg_crm__customers": ["customer_id"],
        "crm__rejected_rows": ["rejected_row_id"]}


def changed_on(row: dict) -> date | None:
    """The day a raw order or customer row changed: updated_at, or else its own timestamp."""
    stamp = ref.parse_timestamp(row.get("updated_at")) or ref.parse_timestamp(
        row.get("ordered_at") if "ordered_at" in row else row.get("created_at"))
    return stamp.date() if stamp else None


def feed_rows(day: date, batch: int, history: list[dict]) -> list[dict]:
    """The rows a real feed delivers besides the day's own orders."""
    at = f"{day.isoformat()}T12:00:00Z"
    counted = [r for r in history if (r.get("status") or "").strip().lower() == "completed" and r.get("order_id")]
    corrected, moved = counted[100 + batch], counted[200 + batch]
    return [
        # an order placed months ago that arrives only now
        {"order_id": f"LATE{batch}", "customer_id": counted[300 + batch]["customer_id"],
         "ordered_at": "2025-03-10T10:00:00Z", "status": "completed", "amount": "80.00", "updated_at": at},
        # an old order corrected to cancelled: its customer may be left with no order at all
        {**corrected, "status": "cancelled", "updated_at": at},
        # an old order moved to another customer
        {**moved, "customer_id": f"C9{batch:05d}", "updated_at": at},
        # a first order from a guest nobody has seen
        {"order_id": f"GUEST{batch}", "customer_id": f"G{batch}", "ordered_at": at, "status": "paid",
         "amount": "$1,200.00", "updated_at": at},
    ]


def customer_feed_rows(day: date, batch: int, history: list[dict]) -> list[dict]:
    """The customer rows a real feed delivers besides the day's new and changed customers."""
    at = f"{day.isoformat()}T12:00:00Z"
    rows = [
        # a changed record of a known customer: the newer version wins
        {**history[50 + batch], "country": "NL", "updated_at": at},
        # rows that are rejected, and re-read by every run
        {"customer_id": None, "email": f"nobody{batch}@example.com", "created_at": at, "updated_at": at},
        {"customer_id": f"BAD{batch}", "created_at": "yesterday", "updated_at": None},
    ]
    if batch:
        # the guest of the day before registers
        rows.append({"customer_id": f"G{batch - 1}", "email": f"g{batch - 1}@example.com", "country": "US",
                     "acquisition_channel": "organic", "created_at": at, "updated_at": at})
    return rows


def assert_identical(incremental, full) -> None:
    problems = []
    for name in COMPARED:
        actual, expected = incremental.table(name), full.table(name)
        problems += compare_rows(name, actual, expected, keys=KEYS[name])
        if len(actual) != len(expected):
            problems.append(f"{name}: {len(actual)} rows incrementally, {len(expected)} in the full refresh")
    assert not problems, "\n".join(problems[:25])


@pytest.fixture(scope="module")
def demo_raw():
    return read_demo_raw()


# One appended day in the fast suite; the three-day sequence (seven dbt invocations) in the slow one.
@pytest.mark.parametrize("batch_days", [
    pytest.param(BATCH_DAYS[:1], id="one_day"),
    pytest.param(BATCH_DAYS, id="three_days", marks=pytest.mark.slow),
])
def test_incremental_runs_equal_full_refresh(tmp_path, demo_raw, batch_days):
    orders, customers = demo_raw["orders"], demo_raw["customers"]
    loaded = [r for r in orders if (changed_on(r) or date.min) < CUT_OFF]
    loaded_customers = [r for r in customers if (changed_on(r) or date.min) < CUT_OFF]
    incremental_dir = tmp_path / "incremental"
    # The first run is a full build, with every data and unit test, in incremental mode.
    first = build(incremental_dir, {**demo_raw, "orders": loaded, "customers": loaded_customers}, INCREMENTAL)
    assert first.scalar("select count(*) from main.stg_crm__order_changes") > 0

    for batch, day in enumerate(batch_days):
        todays = [r for r in orders if changed_on(r) == day]
        loaded = loaded + todays + feed_rows(day, batch, loaded)
        todays_customers = [r for r in customers if changed_on(r) == day]
        loaded_customers = loaded_customers + todays_customers + customer_feed_rows(day, batch, loaded_customers)
        raw = {**demo_raw, "orders": loaded, "customers": loaded_customers}
        incremental = build(incremental_dir, raw, INCREMENTAL, command="run")
        changed = incremental.scalar(
            "select count(distinct customer_id) from main.stg_crm__order_changes"
            " where processed_at = (select max(processed_at) from main.stg_crm__order_changes)")
        profiles = incremental.scalar("select count(*) from main.crm__customers")
        # the run touched a day's customers, not the whole history
        assert 0 < changed < profiles / 10, (changed, profiles)
        # every raw customer row is in the base table once: none lost, none kept twice
        based = incremental.scalar("select count(*) from main.base_crm__customers")
        assert based == len(loaded_customers), (based, len(loaded_customers))
        full = build(tmp_path / f"full_{batch}", raw, {}, command="run")
        assert_identical(incremental, full)


@pytest.mark.engines
def test_incremental_mode_on_spark_is_a_var_error(tmp_path):
    # Incremental mode runs on DuckDB and PostgreSQL only (it deletes rows): on Spark the switch
    # stops the parse naming the var and the engine, before anything runs.
    result = run_dbt(["parse", "--vars", "{crm_incremental: true}"], db_path=tmp_path / "unused.duckdb",
                     target_path=tmp_path / "target", check=False, env={"CRM_TARGET": "spark"})
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "Invalid value for var 'crm_incremental'" in output and "false on spark" in output, output[-2000:]
