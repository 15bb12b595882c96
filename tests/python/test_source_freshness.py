"""Opt-in source freshness: `dbt source freshness` runs on raw tables and reports each one.

The newest loaded_at of every checked source is compared with a plain-Python reading of the same
raw rows (reference.parse_timestamp: the newest accepted timestamp not in the future), on the demo
data with its dirt and future dates, and on a small table whose newest order is two hours old.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import reference as ref
from dbt_project_runner import run_dbt, source_vars, write_raw_tables
from mart_comparison import read_demo_raw

LOADED_AT = {"orders": "ordered_at", "nps_responses": "responded_at", "marketing_spend": "spent_on"}


def freshness(tmp_path: Path, tables: dict, vars: dict) -> tuple[str, dict]:
    db_path = tmp_path / "crm.duckdb"
    target_path = tmp_path / "target"
    write_raw_tables(db_path, tables)
    all_vars = source_vars(tables)
    all_vars.update(vars)
    result = run_dbt(["source", "freshness", "--vars", json.dumps(all_vars)], db_path=db_path,
                     target_path=target_path, check=False)
    sources_json = target_path / "sources.json"
    results = {}
    if sources_json.exists():
        for row in json.loads(sources_json.read_text())["results"]:
            results[row["unique_id"].rsplit(".", 1)[1]] = row
    return result.stdout + result.stderr, results


def newest_accepted(rows: list[dict], column: str, now: datetime) -> datetime:
    parsed = [ref.parse_timestamp(row.get(column)) for row in rows]
    return max(value for value in parsed if value is not None and value <= now)


def as_utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc).replace(tzinfo=None)


def test_freshness_is_off_by_default(tmp_path):
    output, results = freshness(tmp_path, {"orders": [{"order_id": "1", "customer_id": "a",
                                                       "ordered_at": "2024-01-01", "status": "paid",
                                                       "amount": "1"}]}, {})
    assert results == {}, output
    assert "Nothing to do" in output


def test_demo_sources_report_their_newest_row(tmp_path):
    raw = read_demo_raw()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    output, results = freshness(tmp_path, raw, {"crm_freshness_warn_after_hours": 24,
                                                "crm_freshness_error_after_hours": 87600})
    # customers has no required timestamp and is never checked.
    assert set(results) == set(LOADED_AT), output
    for name, column in LOADED_AT.items():
        expected = newest_accepted(raw[name], column, now)
        assert as_utc(results[name]["max_loaded_at"]) == expected, (name, results[name]["max_loaded_at"], expected)
        # The demo ends months before today: older than a day (warn), younger than ten years.
        assert results[name]["status"] == "warn", (name, results[name]["status"])


def test_fresh_orders_pass_and_future_or_bad_rows_are_skipped(tmp_path):
    now = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)
    newest = now - timedelta(hours=2)

    def order(order_id, ordered_at):
        return {"order_id": order_id, "customer_id": "c1", "ordered_at": ordered_at, "status": "paid",
                "amount": "10"}
    orders = [
        order("1", (now - timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")),
        # Two hours ago, written with a +02:00 offset: the UTC instant counts.
        order("2", (newest + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")),
        order("3", "2099-01-01 00:00:00"),      # future_timestamp in staging: left out
        order("4", "last tuesday"),             # invalid_timestamp in staging: left out
    ]
    output, results = freshness(tmp_path, {"orders": orders}, {"crm_freshness_warn_after_hours": 24})
    assert set(results) == {"orders"}, output
    assert as_utc(results["orders"]["max_loaded_at"]) == newest == newest_accepted(orders, "ordered_at", now)
    assert results["orders"]["status"] == "pass", output
