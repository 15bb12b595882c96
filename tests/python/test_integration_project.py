"""The host project in integration_tests/ installs the package as users do and builds green.

A copy of it (host_project.py) runs `dbt deps`, `dbt seed` and `dbt build` into a scratch
warehouse, target folder and package folder, then checks what a host must see: its own raw tables
(typed, under its own schema and names) are read, the package's demo seeds do not load, the
package's unit tests and its own singular tests (hand-worked numbers of its small dataset) ran and
passed, and the package's marts are built in its schema. A second copy is pointed at a one-table
sales export (order lines, its own column names, two currencies, no customers table) by the vars
of its own dbt_project.yml, and its marts are compared with the reference computed from the CSV.
DuckDB here; `make test-engines` runs the same tests on PostgreSQL (CRM_TARGET=postgres).
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference as ref  # noqa: E402
from dbt_project_runner import ROOT  # noqa: E402
from host_project import ENGINE, HOST, Host, unit_test_names  # noqa: E402
from mart_comparison import compare_rows  # noqa: E402

PROJECT = HOST
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
    host = Host(tmp_path_factory.mktemp("integration"))
    host.build()
    return host


def test_package_demo_seeds_do_not_load_in_the_host(host):
    demo_seeds = sorted(path.stem for path in (ROOT / "seeds").rglob("*.csv"))
    assert "raw_orders" in demo_seeds, "the package ships demo seeds; this check is about them"
    # The host's own schemas only (on PostgreSQL the database also holds other builds' schemas).
    tables = {name for (name,) in host.query(
        f"select table_name from information_schema.tables where table_schema like '{host.schema}%'")}
    assert not tables & set(demo_seeds), tables & set(demo_seeds)
    assert "raw_orders" not in tables
    manifest = json.loads((host.target_path / "manifest.json").read_text())
    package_seeds = [node["name"] for node in manifest["nodes"].values()
                     if node["resource_type"] == "seed" and node["package_name"] == "crm_retention"]
    assert package_seeds == []


def test_host_reads_its_own_typed_raw_tables(host):
    raw = dict(((table, column), data_type.upper()) for table, column, data_type in host.query(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'main_shop_raw'",
    ))
    assert {table for table, _ in raw} == {"shop_orders", "shop_customers", "shop_nps", "shop_spend",
                                           "sales_export", "sales_rates"}
    assert raw[("shop_orders", "ordered_at")].startswith("TIMESTAMP")
    assert raw[("shop_orders", "amount")].startswith(("DECIMAL", "NUMERIC"))
    assert raw[("shop_spend", "spent_on")] == "DATE"
    # Typed columns skip the string parsing.
    compiled = host.target_path / "compiled/crm_retention/models/staging/crm/base/base_crm__orders.sql"
    sql = compiled.read_text()
    assert "main_shop_raw" in sql and "shop_orders" in sql
    assert TIMESTAMP_REGEX not in sql


def test_every_host_raw_row_is_staged_or_rejected(host):
    for source, raw_table, staged_model in [
        ("orders", "shop_orders", "stg_crm__orders"),
        ("customers", "shop_customers", "stg_crm__customers"),
        ("nps_responses", "shop_nps", "stg_crm__nps_responses"),
        ("marketing_spend", "shop_spend", "stg_crm__marketing_spend"),
    ]:
        [(raw, staged, rejected)] = host.query(f"""
            select
                (select count(*) from main_shop_raw.{raw_table}),
                (select count(*) from main.{staged_model}),
                (select count(*) from main.crm__rejected_rows where source_table = '{source}')
        """)
        assert raw == staged + rejected, source
    # Hand count of seeds/*.csv: 21 orders (10 rejected), 8 customers (3), 8 responses (5), 7 spends (4).
    assert host.query("select count(*) from main.crm__rejected_rows") == [(22,)]


def test_host_singular_tests_ran_and_passed(host):
    results = host.run_results()
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
    # The host's 60-day churn window is shorter than many of its hand-made repeat gaps: the
    # window-fit check warns, naming the var.
    fit = [r for r in results if r["unique_id"].split(".")[2].startswith("churn_window_fit_")]
    assert [r["status"] for r in fit] == ["warn"], fit
    others = [r for r in results if r["unique_id"].split(".")[2] != BROKEN_RULES_TEST
              and r not in exposures and r["unique_id"].split(".")[2] not in guards and r not in fit]
    assert all(result["status"] in ("pass", "success") for result in others), [
        (r["unique_id"], r["status"]) for r in others if r["status"] not in ("pass", "success")]


def test_column_rules_report_each_broken_rule(host):
    """column_rules on integration_tests/models/column_rules_cases.sql, whose breaks are hand-counted."""
    results = host.run_results()
    by_name = {r["unique_id"].split(".")[2]: r for r in results}
    broken, kept = by_name[BROKEN_RULES_TEST], by_name["column_rules_cases_kept"]
    assert (kept["status"], kept["failures"]) == ("pass", 0)
    assert (broken["status"], broken["failures"]) == ("warn", 3)
    rows = host.query(f"select column_name, rule, failing_rows from main_dbt_test__audit.{BROKEN_RULES_TEST} "
                      "order by column_name")
    assert rows == [
        ("always_set", "not null", 1),   # case 1
        ("label", "not null where case_id > 2", 1),   # case 3 (case 2 is not covered)
        ("score", "between 0 and 5", 2),   # 7 and -1; the null score is left to not_null
    ]


def test_host_settings_reach_the_marts(host):
    # crm_period: week (Mondays), from the week of the first counted order to the as-of week.
    [(periods, first_start, last_start, last_end)] = host.query("""
        select count(*), min(period_start), max(period_start), max(period_end) from main.crm__retention
    """)
    assert (periods, str(first_start), str(last_start), str(last_end)) == (16, "2024-01-01", "2024-04-15", "2024-04-21")
    # crm_churn_window_days: 60 -- c02's only order on 2024-01-03 churns 60 days later.
    assert host.query("select churned_on from main.crm__churn where customer_id = 'c02'") == [(date(2024, 3, 3),)]


def test_host_survival_and_brackets(host):
    """crm_retention_brackets from the host's dbt_project.yml; the survival curves' churns are the
    first spells' churns of crm__churn, per weekly cohort and per plan."""
    brackets = host.query("select distinct first_period_since_acquisition, last_period_since_acquisition "
                          "from main.crm__cohort_bracket_retention order by 1")
    assert brackets == [(1, 2), (3, 6)]
    churns = host.query("select count(*) from main.crm__churn where spell_number = 1")[0][0]
    by_curve = dict(host.query("select curve, sum(churned_customers) from main.crm__survival "
                               "where curve <> 'segment' or segment_name = 'plan' group by 1"))
    assert by_curve == {"overall": churns, "cohort": churns, "segment": churns} and churns > 0


def test_host_segments_by_its_own_column(host):
    """crm_segments: [acquisition_channel, plan]; plan is a raw column beyond the contract, passed
    through staging as trimmed text in its own namespace (segment__plan), case kept ('Gold ' is
    'Gold'); c02's blank plan and the guests fall in unknown."""
    plan_values = {value for (value,) in host.query("""
        select distinct segment_value from main.crm__retention_by_segment where segment_name = 'plan'
    """)}
    assert plan_values == {"Gold", "gold", "silver", "unknown"}
    # New customers over the whole spine per plan = customers of that plan with a counted order.
    by_plan = dict(host.query("""
        select segment_value, sum(new_customers) from main.crm__retention_by_segment
        where segment_name = 'plan' group by 1
    """))
    expected = dict(host.query("""
        select coalesce(staged.segment__plan, 'unknown'), count(*)
        from main.crm__customers as customers
        left join main.stg_crm__customers as staged on customers.customer_id = staged.customer_id
        where customers.orders > 0
        group by 1
    """))
    assert {k: v for k, v in by_plan.items() if v} == expected
    assert host.query("select count(*) from main.crm__kpis_by_segment where segment_name = 'acquisition_channel'")[0][0] > 0


def test_source_freshness_reads_the_hosts_typed_timestamps(host):
    """`dbt source freshness` on the host's typed raw tables: each checked source's newest
    timestamp, the year-2999 rows (future_timestamp in staging) left out, as read from the seeds."""
    freshness_target = host.target_path.parent / "freshness_target"
    vars = {"crm_freshness_warn_after_hours": 24, "crm_freshness_error_after_hours": 87600}
    result = host.dbt(["source", "freshness", "--vars", json.dumps(vars)], target_path=freshness_target, check=False)
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


def test_package_unit_tests_run_in_the_host(host):
    """crm_run_self_tests: true in the host's dbt_project.yml runs every unit test of the package."""
    expected = unit_test_names()
    if ENGINE != "duckdb":
        # It mocks the predictions, which only dbt-duckdb builds here.
        expected.discard("customers_without_a_counted_order_have_zero_orders")
    ran = {r["unique_id"].split(".")[-1]: r["status"] for r in host.run_results()
           if r["unique_id"].startswith("unit_test.crm_retention.")}
    assert ran == {name: "pass" for name in expected}


# ------------------------------------------------------------------ a one-table sales export

# The vars a shop with one CSV of order lines sets in its dbt_project.yml (README "Point it at
# your tables"): its own column names, a line's amount in two columns (the line total and its
# add-on charges, such as gift wrap), line grain, two currencies and their rates, no customers
# table, no NPS or spend.
SALES_EXPORT_VARS = {
    "crm_orders_identifier": "sales_export",
    "crm_orders_grain": "line",
    "crm_orders_columns": {"order_id": "Order Number", "line_id": "Line", "customer_id": "Customer",
                           "ordered_at": "Order Date", "status": "Status", "amount": ["Line Total", "Add-on Total"],
                           "currency": "Currency"},
    "crm_using_customers": False,
    "crm_using_nps": False,
    "crm_using_marketing_spend": False,
    "crm_reporting_currency": "USD",
    "crm_using_exchange_rates": True,
    "crm_exchange_rates_identifier": "sales_rates",
    "crm_exchange_rates_columns": {"rate_date": "Date", "currency": "Currency", "rate": "Rate"},
    "crm_segments": [],
}
SALES_MARTS = ["crm__retention", "crm__cohort_retention", "crm__churn", "crm__repeat_rate", "crm__aov",
               "crm__revenue_retention", "crm__customers", "crm__clv"]


@pytest.fixture(scope="module")
def sales_host(tmp_path_factory):
    host = Host(tmp_path_factory.mktemp("sales_export"), SALES_EXPORT_VARS, schema="sales")
    # The package alone: the host's own tests hold hand-worked numbers of its shop_* tables.
    host.build("--exclude", "package:crm_retention_integration_tests")
    return host


def read_seed(name: str) -> list[dict]:
    with open(PROJECT / "seeds" / f"{name}.csv", newline="", encoding="utf-8") as handle:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(handle)]


def _added(*amounts: str | None) -> str:
    """The export's amount columns added up, a blank one as 0 (they hold plain numbers, some with
    a leading $ and spaces around them)."""
    return str(sum(Decimal(a.strip().removeprefix("$")) for a in amounts if a and a.strip()))


@pytest.fixture(scope="module")
def sales_expected():
    """The reference from the CSVs alone, with the host's other settings from its dbt_project.yml."""
    settings = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())["vars"]
    contract = {raw: name for name, raw in SALES_EXPORT_VARS["crm_orders_columns"].items() if isinstance(raw, str)}
    lines = [{**{contract[raw]: value for raw, value in row.items() if raw in contract},
              "amount": _added(row["Line Total"], row["Add-on Total"])} for row in read_seed("sales_export")]
    rate_columns = {raw: name for name, raw in SALES_EXPORT_VARS["crm_exchange_rates_columns"].items()}
    rates = [{rate_columns[raw]: value for raw, value in row.items()} for row in read_seed("sales_rates")]
    cleaned = ref.clean({"orders": ref.orders_from_lines(lines), "exchange_rates": rates},
                        today=datetime.now(timezone.utc).date(), counted_statuses=settings["crm_counted_statuses"],
                        ignored_statuses=settings["crm_ignored_statuses"], reporting_currency="USD",
                        using_customers=False)
    return ref.compute_marts(cleaned, period=settings["crm_period"],
                             churn_window_days=settings["crm_churn_window_days"],
                             at_risk_days=settings["crm_at_risk_days"])


def test_sales_export_marts_equal_the_reference(sales_host, sales_expected):
    problems = []
    for mart in SALES_MARTS:
        expected = sales_expected[mart]
        assert expected, mart
        problems += compare_rows(mart, sales_host.rows(f"select * from sales.{mart}"), expected,
                                 columns=list(expected[0]))
    assert not problems, "\n".join(problems[:25])


def test_sales_export_accounts_for_every_line(sales_host):
    """Nothing is lost: every raw line is staged; the EUR orders are converted, none rejected."""
    [(raw, staged, rejected)] = sales_host.query("""
        select
            (select count(*) from sales_shop_raw.sales_export),
            (select sum(lines) from sales.stg_crm__orders),
            (select count(*) from sales.crm__rejected_rows)
    """)
    assert (staged, rejected) == (raw, 0)
    assert sales_host.query("select distinct currency from sales.stg_crm__orders where exchange_rate <> 1") == [("EUR",)]
    # Customers come from the orders: one per customer of the export, created at its first order.
    customers = {row["Customer"] for row in read_seed("sales_export")}
    assert sales_host.query("select count(*), count(created_at), count(acquisition_channel) from sales.stg_crm__customers") \
        == [(len(customers), len(customers), 0)]


def test_sales_export_first_product_cohorts(sales_host):
    """Line grain without product columns: every customer's first product is unknown, and the
    first-product cohorts are the cohorts."""
    rows = sales_host.query("select segment_name, segment_value, sum(cohort_size) from sales.crm__cohort_retention_by_first_product "
                            "where periods_since_acquisition = 0 group by 1, 2 order by 1")
    (customers,) = sales_host.query("select count(*) from sales.crm__customers where orders > 0")[0]
    assert rows == [("product_category", "unknown", customers), ("product_id", "unknown", customers)]


def test_sales_export_build_has_no_warning(sales_host):
    # But one: the host's 60-day churn window is shorter than more than a fifth of the export's
    # repeat gaps, and the window-fit check says so.
    results = sales_host.run_results()
    fit = [r for r in results if r["unique_id"].split(".")[2].startswith("churn_window_fit_")]
    assert [r["status"] for r in fit] == ["warn"], fit
    statuses = {r["status"] for r in results if r not in fit}
    assert statuses <= {"success", "pass", "no-op"}, statuses
