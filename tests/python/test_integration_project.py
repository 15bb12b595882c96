"""The host project in integration_tests/ installs the package by `local: ../` and builds green.

It runs `dbt deps`, `dbt seed` and `dbt build` there into a scratch DuckDB file, target folder and
package folder, then checks what a host must see: its own raw tables (typed, under its own schema
and names) are read, the package's demo seeds do not load, its singular tests (hand-worked
numbers of its small dataset) ran and passed, and the package's marts are built in its schema.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference as ref  # noqa: E402
from dbt_project_runner import ROOT, run_dbt  # noqa: E402

PROJECT = ROOT / "integration_tests"
HOST_TESTS = {
    "assert_rejected_rows_by_reason",
    "assert_weekly_retention_hand_worked",
    "assert_lifecycle_hand_worked",
    "assert_typed_orders_staged",
}
# Expected to warn: integration_tests/models/_column_rules_cases.yml.
BROKEN_RULES_TEST = "column_rules_cases_broken"
TIMESTAMP_REGEX = "^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}"


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("integration")
    db_path = tmp_path / "host.duckdb"
    target_path = tmp_path / "target"
    env = {"CRM_PACKAGES_INSTALL_PATH": str(tmp_path / "dbt_packages")}
    for command in (["deps"], ["seed"], ["build"]):
        run_dbt(command, db_path=db_path, target_path=target_path, project_dir=PROJECT, env=env)
    return db_path, target_path


def query(db_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_package_demo_seeds_do_not_load_in_the_host(host):
    db_path, target_path = host
    demo_seeds = sorted(path.stem for path in (ROOT / "seeds").rglob("*.csv"))
    assert "raw_orders" in demo_seeds, "the package ships demo seeds; this check is about them"
    tables = {name for (name,) in query(db_path, "select table_name from information_schema.tables")}
    assert not tables & set(demo_seeds), tables & set(demo_seeds)
    assert "raw_orders" not in tables
    manifest = json.loads((target_path / "manifest.json").read_text())
    package_seeds = [node["name"] for node in manifest["nodes"].values()
                     if node["resource_type"] == "seed" and node["package_name"] == "crm_retention"]
    assert package_seeds == []


def test_host_reads_its_own_typed_raw_tables(host):
    db_path, target_path = host
    raw = dict(((table, column), data_type) for table, column, data_type in query(
        db_path,
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'main_shop_raw'",
    ))
    assert {table for table, _ in raw} == {"shop_orders", "shop_customers", "shop_nps", "shop_spend"}
    assert raw[("shop_orders", "ordered_at")] == "TIMESTAMP"
    assert raw[("shop_orders", "amount")].startswith("DECIMAL")
    assert raw[("shop_spend", "spent_on")] == "DATE"
    # Typed columns skip the string parsing.
    compiled = target_path / "compiled/crm_retention/models/staging/crm/base/base_crm__orders.sql"
    sql = compiled.read_text()
    assert "main_shop_raw" in sql and "shop_orders" in sql
    assert TIMESTAMP_REGEX not in sql


def test_every_host_raw_row_is_staged_or_rejected(host):
    db_path, _ = host
    for source, raw_table, staged_model in [
        ("orders", "shop_orders", "stg_crm__orders"),
        ("customers", "shop_customers", "stg_crm__customers"),
        ("nps_responses", "shop_nps", "stg_crm__nps_responses"),
        ("marketing_spend", "shop_spend", "stg_crm__marketing_spend"),
    ]:
        [(raw, staged, rejected)] = query(db_path, f"""
            select
                (select count(*) from main_shop_raw.{raw_table}),
                (select count(*) from main.{staged_model}),
                (select count(*) from main.crm__rejected_rows where source_table = '{source}')
        """)
        assert raw == staged + rejected, source
    # Hand count of seeds/*.csv: 21 orders (10 rejected), 8 customers (3), 8 responses (5), 7 spends (4).
    assert query(db_path, "select count(*) from main.crm__rejected_rows") == [(22,)]


def test_host_singular_tests_ran_and_passed(host):
    _, target_path = host
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    statuses = {result["unique_id"].split(".")[-1]: result["status"] for result in results
                if result["unique_id"].startswith("test.crm_retention_integration_tests.")}
    assert HOST_TESTS <= set(statuses), HOST_TESTS - set(statuses)
    assert {name: statuses[name] for name in HOST_TESTS} == {name: "pass" for name in HOST_TESTS}
    # The package's exposure (the dashboard) builds nothing: dbt reports it as no-op.
    exposures = [r for r in results if r["unique_id"].startswith("exposure.")]
    assert all(r["status"] == "no-op" for r in exposures), exposures
    # The host's seeds are half dirt on purpose: every source's rejected-share guard warns.
    guards = {r["unique_id"].split(".")[2]: r["status"] for r in results
              if r["unique_id"].split(".")[2].startswith("rejected_share_")}
    assert sorted(guards) == sorted(f"rejected_share_base_crm__{source}_{source}" for source in
                                    ["orders", "customers", "nps_responses", "marketing_spend"])
    assert set(guards.values()) == {"warn"}, guards
    others = [r for r in results if r["unique_id"].split(".")[2] != BROKEN_RULES_TEST
              and r not in exposures and r["unique_id"].split(".")[2] not in guards]
    assert all(result["status"] in ("pass", "success") for result in others), [
        (r["unique_id"], r["status"]) for r in others if r["status"] not in ("pass", "success")]


def test_column_rules_report_each_broken_rule(host):
    """column_rules on integration_tests/models/column_rules_cases.sql, whose breaks are hand-counted."""
    db_path, target_path = host
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    by_name = {r["unique_id"].split(".")[2]: r for r in results}
    broken, kept = by_name[BROKEN_RULES_TEST], by_name["column_rules_cases_kept"]
    assert (kept["status"], kept["failures"]) == ("pass", 0)
    assert (broken["status"], broken["failures"]) == ("warn", 3)
    rows = query(db_path, f"select column_name, rule, failing_rows from main_dbt_test__audit.{BROKEN_RULES_TEST} "
                          "order by column_name")
    assert rows == [
        ("always_set", "not null", 1),   # case 1
        ("label", "not null where case_id > 2", 1),   # case 3 (case 2 is not covered)
        ("score", "between 0 and 5", 2),   # 7 and -1; the null score is left to not_null
    ]


def test_host_settings_reach_the_marts(host):
    db_path, _ = host
    # crm_period: week (Mondays), from the week of the first counted order to the as-of week.
    [(periods, first_start, last_start, last_end)] = query(db_path, """
        select count(*), min(period_start), max(period_start), max(period_end) from main.crm__retention
    """)
    assert (periods, str(first_start), str(last_start), str(last_end)) == (16, "2024-01-01", "2024-04-15", "2024-04-21")
    # crm_churn_window_days: 60 -- c02's only order on 2024-01-03 churns 60 days later.
    assert query(db_path, "select churned_on from main.crm__churn where customer_id = 'c02'") == [(date(2024, 3, 3),)]


def test_host_segments_by_its_own_column(host):
    """crm_segments: [acquisition_channel, plan]; plan is a raw column beyond the contract, passed
    through staging as trimmed text, case kept ('Gold ' is 'Gold'); c02's blank plan and the
    guests fall in unknown."""
    db_path, _ = host
    plan_values = {value for (value,) in query(db_path, """
        select distinct segment_value from main.crm__retention_by_segment where segment_name = 'plan'
    """)}
    assert plan_values == {"Gold", "gold", "silver", "unknown"}
    # New customers over the whole spine per plan = customers of that plan with a counted order.
    by_plan = dict(query(db_path, """
        select segment_value, sum(new_customers) from main.crm__retention_by_segment
        where segment_name = 'plan' group by 1
    """))
    expected = dict(query(db_path, """
        select coalesce(staged.plan, 'unknown'), count(*)
        from main.crm__customers as customers
        left join main.stg_crm__customers as staged on customers.customer_id = staged.customer_id
        where customers.orders > 0
        group by 1
    """))
    assert {k: v for k, v in by_plan.items() if v} == expected
    assert query(db_path, "select count(*) from main.crm__kpis_by_segment where segment_name = 'acquisition_channel'")[0][0] > 0


def test_source_freshness_reads_the_hosts_typed_timestamps(host):
    """`dbt source freshness` on the host's typed raw tables: each checked source's newest
    timestamp, the year-2999 rows (future_timestamp in staging) left out, as read from the seeds."""
    db_path, target_path = host
    freshness_target = target_path.parent / "freshness_target"
    vars = {"crm_freshness_warn_after_hours": 24, "crm_freshness_error_after_hours": 87600}
    result = run_dbt(["source", "freshness", "--vars", json.dumps(vars)], db_path=db_path,
                     target_path=freshness_target, project_dir=PROJECT, check=False,
                     env={"CRM_PACKAGES_INSTALL_PATH": str(db_path.parent / "dbt_packages")})
    results = {row["unique_id"].rsplit(".", 1)[1]: row
               for row in json.loads((freshness_target / "sources.json").read_text())["results"]}
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for source, seed, column in [("orders", "shop_orders", "ordered_at"), ("nps_responses", "shop_nps", "responded_at"),
                                 ("marketing_spend", "shop_spend", "spent_on")]:
        with open(PROJECT / "seeds" / f"{seed}.csv", newline="") as handle:
            parsed = [ref.parse_timestamp(row[column]) for row in csv.DictReader(handle)]
        expected = max(value for value in parsed if value is not None and value <= now)
        actual = datetime.fromisoformat(results[source]["max_loaded_at"]).astimezone(timezone.utc).replace(tzinfo=None)
        assert actual == expected, (source, actual, expected, result.stdout)
        assert results[source]["status"] == "warn", (source, results[source]["status"])
    assert "customers" not in results
