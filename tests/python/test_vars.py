"""Bad var values stop `dbt parse` with a message naming the var, the value and what is allowed.

SPEC.md section 5: every var is validated at compile time and no var value reaches SQL
unvalidated. Each case passes one bad value on the command line and checks the error text.
"""

from __future__ import annotations

import json
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dbt_project_runner import run_dbt  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def parse(tmp_path: Path, vars: dict):
    result = run_dbt(["parse", "--vars", json.dumps(vars)], db_path=tmp_path / "crm.duckdb",
                     target_path=tmp_path / "target", check=False)
    output = ANSI.sub("", result.stdout + result.stderr)
    # dbt wraps long messages; compare on single spaces.
    return result.returncode, " ".join(output.split())


def test_default_vars_parse(tmp_path):
    """The control: the package parses with its defaults, so the failures below are the vars'."""
    returncode, output = parse(tmp_path, {})
    assert returncode == 0, output


CASES = {
    "period": (
        {"crm_period": "fortnight"},
        ["Invalid value for var 'crm_period': 'fortnight'", "Allowed: day | week | month | quarter | year"],
    ),
    "negative_window": (
        {"crm_churn_window_days": -3},
        ["Invalid value for var 'crm_churn_window_days': -3", "a whole number of days from 1 to"],
    ),
    "as_of_month_13": (
        {"crm_as_of_date": "2024-13-45"},
        ["Invalid value for var 'crm_as_of_date': '2024-13-45'", "YYYY-MM-DD"],
    ),
    "as_of_february_30": (
        {"crm_as_of_date": "2024-02-30"},
        ["Invalid value for var 'crm_as_of_date': '2024-02-30'", "YYYY-MM-DD"],
    ),
    "counted_statuses_string": (
        {"crm_counted_statuses": "completed"},
        ["Invalid value for var 'crm_counted_statuses': 'completed'", "Allowed: a list of statuses"],
    ),
    "counted_statuses_empty": (
        {"crm_counted_statuses": []},
        ["Invalid value for var 'crm_counted_statuses': []", "at least one status"],
    ),
    "at_risk_equal_to_window": (
        {"crm_churn_window_days": 90, "crm_at_risk_days": 90},
        ["Invalid value for var 'crm_at_risk_days': 90", "smaller than crm_churn_window_days (90)"],
    ),
    "using_nps_maybe": (
        {"crm_using_nps": "maybe"},
        ["Invalid value for var 'crm_using_nps': 'maybe'", "Allowed: true or false"],
    ),
    "status_with_quote": (
        {"crm_ignored_statuses": ["cancelled", "it's a test"]},
        ["Invalid value for var 'crm_ignored_statuses'", "it's a test",
         "Allowed: a list of statuses, each letters, digits, spaces, _ or -"],
    ),
    "segments_string": (
        {"crm_segments": "country"},
        ["Invalid value for var 'crm_segments': 'country'", "Allowed: a list of column names of the raw customers table"],
    ),
    "segments_not_a_column_name": (
        {"crm_segments": ["country", "plan; drop table x"]},
        ["Invalid value for var 'crm_segments'", "each name a plain column name", "not plan; drop table x"],
    ),
    "using_predictions_maybe": (
        {"crm_using_predictions": "maybe"},
        ["Invalid value for var 'crm_using_predictions': 'maybe'", "Allowed: true or false"],
    ),
    "clv_time_unit_zero": (
        {"crm_clv_time_unit_days": 0},
        ["Invalid value for var 'crm_clv_time_unit_days': 0", "a whole number of days from 1 to 365"],
    ),
    "clv_horizon_text": (
        {"crm_clv_horizon_days": "a year"},
        ["Invalid value for var 'crm_clv_horizon_days': 'a year'", "a whole number of days from 1 to 3650"],
    ),
    "clv_discount_rate_percent": (
        {"crm_clv_annual_discount_rate": 10},
        ["Invalid value for var 'crm_clv_annual_discount_rate': 10", "a fraction from 0 to 1, e.g. 0.1 for 10% a year"],
    ),
    "clv_discount_rate_negative": (
        {"crm_clv_annual_discount_rate": -0.1},
        ["Invalid value for var 'crm_clv_annual_discount_rate': -0.1", "a fraction from 0 to 1"],
    ),
    "as_of_after_build_date": (
        {"crm_as_of_date": "2400-01-01"},
        ["Invalid value for var 'crm_as_of_date': '2400-01-01'", "not after the date the build runs"],
    ),
    "earliest_valid_date_february_30": (
        {"crm_earliest_valid_date": "1990-02-30"},
        ["Invalid value for var 'crm_earliest_valid_date': '1990-02-30'", "YYYY-MM-DD"],
    ),
    "orders_columns_unknown_key": (
        {"crm_orders_columns": {"order_key": "Order ID"}},
        ["Invalid value for var 'crm_orders_columns'", "unknown key order_key (value Order ID)"],
    ),
    "orders_columns_not_a_map": (
        {"crm_customers_columns": ["customer_id"]},
        ["Invalid value for var 'crm_customers_columns'", "a map from the contract columns of customers"],
    ),
    "orders_columns_list_for_an_id": (
        {"crm_orders_columns": {"customer_id": ["Customer", "Email"]}},
        ["Invalid value for var 'crm_orders_columns'", "key customer_id needs one column name"],
    ),
    "orders_columns_amount_part_twice": (
        {"crm_orders_columns": {"amount": ["Sales", "Add-on Total"], "refunded_amount": "sales"}},
        ["Invalid value for var 'crm_orders_columns'", "each raw column once, but amount and refunded_amount both map to sales"],
    ),
    "clv_parameters_missing_alpha": (
        {"crm_clv_parameters": {"r": 0.24, "a": 0.79, "b": 2.43}},
        ["Invalid value for var 'crm_clv_parameters'", "a mapping of r, alpha, a, b"],
    ),
    "clv_parameters_q_not_above_1": (
        {"crm_clv_parameters": {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43, "p": 6.25, "q": 1, "gamma": 15.4}},
        ["Invalid value for var 'crm_clv_parameters'", "with q above 1"],
    ),
    "default_status_unknown": (
        {"crm_default_order_status": "bogus"},
        ["Invalid value for var 'crm_default_order_status': 'bogus'", "one of the counted statuses"],
    ),
    "orders_grain_item": (
        {"crm_orders_grain": "item"},
        ["Invalid value for var 'crm_orders_grain': 'item'", "Allowed: order | line"],
    ),
    "order_line_returns_keep": (
        {"crm_order_line_returns": "keep"},
        ["Invalid value for var 'crm_order_line_returns': 'keep'", "Allowed: reject | net"],
    ),
    "reporting_currency_word": (
        {"crm_reporting_currency": "dollars"},
        ["Invalid value for var 'crm_reporting_currency': 'dollars'", "three-letter currency code"],
    ),
    "rejected_share_above_one": (
        {"crm_rejected_share_error": 5},
        ["Invalid value for var 'crm_rejected_share_error': 5", "a share from 0 to 1"],
    ),
    "timezone_not_iana": (
        {"crm_timezone": "Pacific Standard"},
        ["Invalid value for var 'crm_timezone': 'Pacific Standard'", "an IANA time zone name"],
    ),
    "identity_with_incremental": (
        {"crm_identity": "email", "crm_incremental": True},
        ["Invalid value for var 'crm_identity': 'email'", "customer_id with crm_incremental: true"],
    ),
    "rfm_cut_points_descending": (
        {"crm_rfm_cut_points": {"frequency": [5, 3, 2, 1]}},
        ["Invalid value for var 'crm_rfm_cut_points'", "four ascending numbers"],
    ),
    "retention_bracket_reversed": (
        {"crm_retention_brackets": [[1, 1], [6, 4]]},
        ["Invalid value for var 'crm_retention_brackets'", "0 <= first <= last"],
    ),
    "first_product_top_n_zero": (
        {"crm_orders_grain": "line", "crm_first_product_top_n": 0},
        ["Invalid value for var 'crm_first_product_top_n': 0", "a whole number of products from 1 to 1000"],
    ),
    "churn_window_warn_share_percent": (
        {"crm_churn_window_warn_share": 20},
        ["Invalid value for var 'crm_churn_window_warn_share': 20", "a share from 0 to 1"],
    ),
    "rejected_share_warn_above_error": (
        {"crm_rejected_share_warn": 0.5, "crm_rejected_share_error": 0.2},
        ["Invalid value for var 'crm_rejected_share_warn'", "no larger than crm_rejected_share_error"],
    ),
    "status_in_both_lists": (
        {"crm_counted_statuses": ["completed", "paid"], "crm_ignored_statuses": ["paid", "cancelled"]},
        ["Invalid value for var 'crm_ignored_statuses'", "not also in crm_counted_statuses (both list paid)"],
    ),
    "freshness_hours_text": (
        {"crm_freshness_warn_after_hours": "a day"},
        ["Invalid value for var 'crm_freshness_warn_after_hours': 'a day'",
         "Allowed: null (no check) or a whole number of hours from 1 to 87600"],
    ),
    "freshness_error_before_warn": (
        {"crm_freshness_warn_after_hours": 48, "crm_freshness_error_after_hours": 24},
        ["Invalid value for var 'crm_freshness_error_after_hours': 24",
         "not below crm_freshness_warn_after_hours (48)"],
    ),
}


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    """Every case parsed once, side by side (each parse is a separate dbt process)."""
    paths = {case: tmp_path_factory.mktemp(f"vars_{case}") for case in CASES}
    with ThreadPoolExecutor(max_workers=min(len(CASES), os.cpu_count() or 2, 8)) as pool:
        futures = {case: pool.submit(parse, paths[case], CASES[case][0]) for case in CASES}
        return {case: (*future.result(), paths[case]) for case, future in futures.items()}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_var_fails_the_parse_with_a_clear_message(parsed, case):
    vars, expected_parts = CASES[case]
    returncode, output, tmp_path = parsed[case]
    assert returncode != 0, f"dbt parse accepted {vars}"
    assert "Compilation Error" in output
    for part in expected_parts:
        assert part in output, f"{part!r} not in dbt's output:\n{output}"
    assert not (tmp_path / "target" / "manifest.json").exists()


def test_switch_given_as_a_string_parses_like_the_boolean(tmp_path):
    returncode, output = parse(tmp_path, {"crm_using_nps": "false", "crm_using_marketing_spend": "false"})
    assert returncode == 0, output
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    enabled = {node["name"] for node in manifest["nodes"].values()}
    assert "stg_crm__nps_responses" not in enabled and "stg_crm__marketing_spend" not in enabled
    assert "stg_crm__orders" in enabled


def test_bad_identifier_fails_the_parse(tmp_path):
    returncode, output = parse(tmp_path, {"crm_orders_identifier": "orders; drop table customers"})
    assert returncode != 0
    assert "Invalid value for var 'crm_orders_identifier'" in output


def test_segment_column_missing_from_the_raw_table_names_the_var(tmp_path):
    """A segment the raw customers table lacks stops the build at staging, naming the var."""
    from dbt_project_runner import DbtError, build

    raw = {
        "orders": [{"order_id": "1", "customer_id": "A", "ordered_at": "2024-01-02", "status": "completed",
                    "amount": "10"}],
        "customers": [{"customer_id": "A", "country": "US"}],
    }
    with pytest.raises(DbtError) as failure:
        build(tmp_path, raw, {"crm_segments": ["country", "loyalty_tier"]}, command="run",
              extra_args=["--select", "base_crm__customers"])
    output = " ".join(ANSI.sub("", str(failure.value)).split())
    assert "has no column 'loyalty_tier', named in the var crm_segments" in output, output
    assert "Remove it from crm_segments or use one of the table's columns" in output
