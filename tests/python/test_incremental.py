"""Incremental mode equals a full refresh.

The demo orders are loaded up to a cut-off, then appended a day at a time together with the
awkward rows of a real feed: a late order dated months back, a correction of an old order to
cancelled, an order moved to another customer and a brand-new guest. After each batch an
incremental run must leave every mart (and the staged orders and rejected rows) identical to a
full build of the same raw rows into a fresh database.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

import reference as ref
from dbt_project_runner import build
from mart_comparison import MART_KEYS, compare_rows, read_demo_raw

CUT_OFF = date(2026, 6, 20)
BATCH_DAYS = [date(2026, 6, 20), date(2026, 6, 21), date(2026, 6, 22)]
INCREMENTAL = {"crm_incremental": True, "crm_incremental_lookback_days": 2}
COMPARED = ["stg_crm__orders", "crm__rejected_rows", *MART_KEYS]
KEYS = {**MART_KEYS, "stg_crm__orders": ["order_id"], "crm__rejected_rows": ["rejected_row_id"]}


def changed_on(row: dict) -> date | None:
    stamp = ref.parse_timestamp(row.get("updated_at")) or ref.parse_timestamp(row.get("ordered_at"))
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


def test_incremental_runs_equal_full_refresh(tmp_path, demo_raw):
    orders = demo_raw["orders"]
    loaded = [r for r in orders if (changed_on(r) or date.min) < CUT_OFF]
    incremental_dir = tmp_path / "incremental"
    # The first run is a full build, with every data and unit test, in incremental mode.
    first = build(incremental_dir, {**demo_raw, "orders": loaded}, INCREMENTAL)
    assert first.scalar("select count(*) from main.int_crm__changed_customers") > 0

    for batch, day in enumerate(BATCH_DAYS):
        todays = [r for r in orders if changed_on(r) == day]
        loaded = loaded + todays + feed_rows(day, batch, loaded)
        raw = {**demo_raw, "orders": loaded}
        incremental = build(incremental_dir, raw, INCREMENTAL, command="run")
        changed = incremental.scalar("select count(*) from main.int_crm__changed_customers")
        customers = incremental.scalar("select count(*) from main.crm__customers")
        # the run touched a day's customers, not the whole history
        assert 0 < changed < customers / 10, (changed, customers)
        full = build(tmp_path / f"full_{batch}", raw, {}, command="run")
        assert_identical(incremental, full)
