"""Every mart against the independent Python reference, built from the same raw rows.

The reference (reference.py) was written from SPEC.md and docs/definitions.md alone; these tests
build the package into fresh DuckDB files and require counts to match exactly and rates and money
within 1e-9, on the demo data (month and week) and on a small generated shop at all five grains.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

import reference as ref
from clv_reference import check_predictions, purchase_summaries
from dbt_project_runner import build
from mart_comparison import (
    DEMO_SEGMENTS, MART_KEYS, compare_build, compare_rows, expected_marts, read_demo_raw, small_dataset,
)


@pytest.fixture(scope="module")
def demo_raw():
    return read_demo_raw()


@pytest.fixture(scope="module")
def demo_month(tmp_path_factory, demo_raw):
    # The one full `dbt build` of the demo here with the package's own unit tests and the data
    # tests that hold by construction (crm_run_self_tests): everything must pass. With segments, so
    # the segment marts and their singular test are built and checked too.
    return build(tmp_path_factory.mktemp("demo_month"), demo_raw,
                 {"crm_period": "month", "crm_run_self_tests": True, "crm_segments": DEMO_SEGMENTS})


@pytest.fixture(scope="module")
def demo_month_expected(demo_raw):
    return expected_marts(demo_raw, period="month", segments=DEMO_SEGMENTS)


def assert_no_problems(problems: list[str]) -> None:
    assert not problems, f"{len(problems)} differences, first ones:\n" + "\n".join(problems[:25])


def test_demo_month_matches_reference(demo_month, demo_month_expected):
    assert_no_problems(compare_build(demo_month, demo_month_expected))


# Slow suite: a second build of the demo; the week grain is checked in the fast suite on the small shop.
@pytest.mark.slow
def test_demo_week_matches_reference(tmp_path, demo_raw):
    built = build(tmp_path, demo_raw, {"crm_period": "week"}, command="run")
    assert_no_problems(compare_build(built, expected_marts(demo_raw, period="week")))


@pytest.mark.parametrize("period", ["day", "week", "month", "quarter", "year"])
def test_small_shop_matches_reference_at_every_grain(tmp_path, period):
    raw = small_dataset(seed=7)
    built = build(tmp_path, raw, {"crm_period": period, "crm_churn_window_days": 45, "crm_at_risk_days": 30},
                  command="run")
    expected = expected_marts(raw, period=period, window=45, at_risk=30)
    assert_no_problems(compare_build(built, expected))


def test_demo_predictions_match_the_papers_formulas(demo_month, demo_month_expected):
    """The demo's summaries from the reference's counted orders; its predictions from the papers'
    formulas at the fitted parameters (clv_reference.py); p_alive carried to the other marts."""
    (model,) = demo_month.table("crm__clv_model")
    assert model["is_converged"] is True and model["time_unit_days"] == 7 and model["horizon_days"] == 365
    rows = demo_month.table("crm__clv")
    orders = ref.metric_orders(demo_month_expected["_cleaned"], model["as_of_date"])
    expected = purchase_summaries(((o["customer_id"], o["order_date"], o["net_revenue"]) for o in orders),
                                  model["as_of_date"], 7)
    assert model["customers"] == len(expected) == len(rows)
    assert model["repeat_customers"] == sum(1 for s in expected.values() if s["x"] > 0)
    for row in rows:
        summary = expected[row["customer_id"]]
        assert (row["frequency"], row["recency"], row["customer_age"]) == (summary["x"], summary["t_x"], summary["T"])
        assert row["repeat_order_value"] == (None if summary["zbar"] is None else pytest.approx(summary["zbar"], rel=1e-12))
    assert_no_problems(check_predictions(model, rows, horizon_days=365, unit_days=7, rate=0.1))
    p_alive = {row["customer_id"]: row["p_alive"] for row in rows}
    for customer in demo_month.table("crm__customers"):
        assert customer["p_alive"] == p_alive.get(customer["customer_id"])
    at_risk = demo_month.table("crm__at_risk_customers")
    assert at_risk
    weighted = {r["customer_id"]: float(r["value_at_stake"]) * p_alive[r["customer_id"]] for r in at_risk}
    ranked = sorted(weighted, key=lambda customer_id: (-weighted[customer_id], customer_id))
    for r in at_risk:
        assert r["p_alive"] == p_alive[r["customer_id"]]
        assert r["weighted_value_at_stake"] == pytest.approx(weighted[r["customer_id"]], rel=1e-12)
        assert r["weighted_value_at_stake_rank"] == ranked.index(r["customer_id"]) + 1


def test_demo_staging_and_rejections_match_reference(demo_month, demo_month_expected):
    cleaned = demo_month_expected["_cleaned"]
    built_rejections = sorted(
        (r["source_table"], (r["raw_key"] or "").strip(), r["rejection_reason"])
        for r in demo_month.table("crm__rejected_rows")
    )
    expected_rejections = sorted(
        (r.source_table, (r.raw_key or "").strip(), r.rejection_reason) for r in cleaned.rejected
    )
    assert built_rejections == expected_rejections
    built_orders = {r["order_id"]: r for r in demo_month.table("stg_crm__orders")}
    assert set(built_orders) == {o["order_id"] for o in cleaned.orders}
    # Whether an order's customer has a record (a guest checkout if not) is listed per customer.
    built_customers = {r["customer_id"]: r for r in demo_month.table("int_crm__customers")}
    for order in cleaned.orders:
        row = built_orders[order["order_id"]]
        for column in ["customer_id", "ordered_at", "order_date", "status", "status_class", "amount",
                       "refunded_amount", "net_revenue"]:
            assert row[column] == order[column], (order["order_id"], column, row[column], order[column])
        flag = built_customers[order["customer_id"]]["has_customer_record"]
        assert flag == order["has_customer_record"], (order["order_id"], flag)


def test_spec_worked_example(tmp_path):
    """SPEC section 3: W = 90, monthly, as-of 2024-06-01, row by row."""
    def order(order_id, customer_id, day):
        return {"order_id": order_id, "customer_id": customer_id, "ordered_at": day, "status": "completed",
                "amount": "10.00"}
    raw = {"orders": [order("1", "A", "2024-01-10"), order("2", "A", "2024-02-15"), order("3", "B", "2024-01-20"),
                      order("4", "B", "2024-06-01"), order("5", "C", "2024-03-05")],
           "customers": []}
    built = build(tmp_path, raw, {"crm_as_of_date": "2024-06-01", "crm_period": "month"}, command="run")
    rows = built.table("crm__retention", "period_start")
    table = [
        # period, S, N, R, C, E, retention_rate, churn_rate, complete
        (date(2024, 1, 1), 0, 2, 0, 0, 2, None, None, True),
        (date(2024, 2, 1), 2, 0, 0, 0, 2, 1.0, 0.0, True),
        (date(2024, 3, 1), 2, 1, 0, 0, 3, 1.0, 0.0, True),
        (date(2024, 4, 1), 3, 0, 0, 1, 2, 2 / 3, 1 / 3, True),
        (date(2024, 5, 1), 2, 0, 0, 1, 1, 0.5, 0.5, True),
        (date(2024, 6, 1), 1, 0, 1, 0, 2, 2.0, 0.0, False),
    ]
    assert len(rows) == len(table)
    for row, (period, s, n, r, c, e, retention, churn, complete) in zip(rows, table):
        assert row["period_start"] == period
        assert (row["customers_at_start"], row["new_customers"], row["reactivated_customers"],
                row["churned_customers"], row["customers_at_end"]) == (s, n, r, c, e)
        assert row["is_complete_period"] is complete
        for actual, wanted in [(row["retention_rate"], retention), (row["churn_rate"], churn)]:
            assert (actual is None and wanted is None) or abs(actual - wanted) < 1e-9
    # Gaps between order days: A 01-10 to 02-15 is 36 days, B 01-20 to 06-01 is 133 days (a
    # reactivation at W = 90); C has one order day and no gap.
    gaps = [(g["gap_days"], g["gaps"], g["cumulative_gaps"], g["cumulative_share"], g["is_reactivation"])
            for g in built.table("crm__order_gaps", "gap_days")]
    assert gaps == [(36, 1, 1, 0.5, False), (133, 1, 2, 1.0, True)]


def test_order_gaps_match_reference(demo_month, demo_month_expected):
    """crm__order_gaps from the cleaned raw rows: gaps between a customer's consecutive counted order days."""
    expected = demo_month_expected["crm__order_gaps"]
    total = expected[-1]["cumulative_gaps"]
    assert total > 1000  # the demo has thousands of repeat purchases
    assert_no_problems(compare_rows("crm__order_gaps", demo_month.table("crm__order_gaps"), expected,
                                    keys=["gap_days"]))


def test_retention_identity_every_period(demo_month):
    rows = demo_month.table("crm__retention")
    assert rows
    for row in rows:
        assert row["customers_at_end"] == (row["customers_at_start"] + row["new_customers"]
                                           + row["reactivated_customers"] - row["churned_customers"])
        assert row["retained_customers"] <= row["customers_at_start"]
        if row["survival_rate"] is not None:
            assert 0 <= row["survival_rate"] <= 1


def test_cohort_revenue_sums_to_total_revenue(demo_month, demo_month_expected):
    cohort_revenue = demo_month.scalar("select sum(revenue) from main.crm__cohort_retention")
    counted = [o for o in demo_month_expected["_cleaned"].orders if o["status_class"] == "counted"]
    assert abs(float(cohort_revenue) - float(sum(o["net_revenue"] for o in counted))) < 1e-6


def test_no_cohort_cell_beyond_the_as_of_period(demo_month):
    as_of = demo_month.scalar("select max(order_date) from main.stg_crm__orders where status_class = 'counted'")
    last_period = date(as_of.year, as_of.month, 1)
    assert demo_month.scalar("select max(period_start) from main.crm__cohort_retention") == last_period
    beyond = demo_month.scalar(
        f"select count(*) from main.crm__cohort_retention where period_start > date '{last_period}'")
    assert beyond == 0


# Slow suite: a second build of the demo; crm_as_of_date is checked in the fast suite by the SPEC example.
@pytest.mark.slow
def test_moving_as_of_back_a_year_changes_nothing_before_it(tmp_path, demo_raw, demo_month):
    latest = demo_month.scalar("select max(order_date) from main.stg_crm__orders where status_class = 'counted'")
    earlier = latest - timedelta(days=365)
    built = build(tmp_path, demo_raw, {"crm_as_of_date": earlier.isoformat(), "crm_period": "month"}, command="run")
    for mart in ["crm__retention", "crm__repeat_rate", "crm__aov", "crm__revenue_retention", "crm__kpis"]:
        before = [r for r in demo_month.table(mart) if r["period_end"] <= earlier]
        after = [r for r in built.table(mart) if r["period_end"] <= earlier]
        assert before, mart
        assert_no_problems(compare_rows(mart, after, before))
    # and the earlier build matches the reference at its own as-of date
    assert_no_problems(compare_build(built, expected_marts(demo_raw, period="month", as_of=earlier)))


# Both sources off in the fast suite; one at a time in the slow one.
@pytest.mark.parametrize("switched_off", [
    pytest.param(["nps_responses"], marks=pytest.mark.slow),
    pytest.param(["marketing_spend"], marks=pytest.mark.slow),
    ["nps_responses", "marketing_spend"],
])
def test_optional_sources_switched_off(tmp_path, switched_off):
    raw = small_dataset(seed=11)
    for name in switched_off:
        del raw[name]
    # With both optional sources off, the predictions are switched off too.
    predictions_off = len(switched_off) == 2
    built = build(tmp_path, raw, {"crm_period": "month", "crm_using_predictions": not predictions_off})
    tables = {r["table_name"] for r in built.rows("select table_name from information_schema.tables")}
    if "nps_responses" in switched_off:
        assert "crm__nps" not in tables and "stg_crm__nps_responses" not in tables
        assert built.scalar("select count(*) from main.crm__kpis where nps is not null") == 0
        assert built.scalar("select count(*) from main.crm__customers where latest_nps_score is not null") == 0
    else:
        assert built.scalar("select count(*) from main.crm__kpis where nps is not null") > 0
    if "marketing_spend" in switched_off:
        assert "stg_crm__marketing_spend" not in tables
        assert built.scalar("select count(*) from main.crm__clv where acquisition_cost is not null") == 0
    else:
        assert built.scalar("select count(*) from main.crm__clv where acquisition_cost is not null") > 0
    predicted = built.scalar("select count(p_alive) + count(predicted_clv) from main.crm__clv")
    if predictions_off:
        assert "int_crm__clv_model_fit" not in tables and "int_crm__customer_clv_predictions" not in tables
        assert predicted == 0
        assert built.scalar("select count(p_alive) from main.crm__customers") == 0
        assert built.scalar("select count(*) from main.crm__clv_model where bgnbd_r is null and is_converged is null") == 1
        assert "crm_retention: predictions are off because crm_using_predictions is false" in built.output
    else:
        # The fit runs (this small shop's data do not identify BG/NBD's a and b, so it reports
        # is_converged = false; the demo and CDNOW tests check converged predictions).
        assert "int_crm__clv_model_fit" in tables
        assert built.scalar("select count(*) from main.crm__clv_model where is_converged is not null") == 1
    expected = expected_marts({"nps_responses": [], "marketing_spend": [], **raw}, period="month")
    marts = [m for m in MART_KEYS if not (m == "crm__nps" and "nps_responses" in switched_off)]
    assert_no_problems(compare_build(built, expected, marts))


def test_segment_values_add_up_to_the_whole(demo_month):
    """For every period and segment name, the values' S, N, R, C, E, orders and revenue sum to
    the unsegmented marts; and for every cohort cell, its sizes, actives, orders and revenue."""
    kpis = {r["period_start"]: r for r in demo_month.table("crm__kpis")}
    sums: dict = {}
    for row in demo_month.table("crm__kpis_by_segment"):
        total = sums.setdefault((row["period_start"], row["segment_name"]), {})
        for column in ["customers_at_start", "new_customers", "reactivated_customers", "churned_customers",
                       "customers_at_end", "retained_customers", "orders", "revenue"]:
            total[column] = total.get(column, 0) + row[column]
    assert {name for _, name in sums} == set(DEMO_SEGMENTS)
    assert len(sums) == len(kpis) * len(DEMO_SEGMENTS)
    for (period, name), total in sums.items():
        for column, value in total.items():
            assert value == kpis[period][column], (period, name, column, value, kpis[period][column])
    cells = {(r["cohort_period"], r["periods_since_acquisition"]): r for r in demo_month.table("crm__cohort_retention")}
    cell_sums: dict = {}
    for row in demo_month.table("crm__cohort_retention_by_segment"):
        key = (row["cohort_period"], row["periods_since_acquisition"], row["segment_name"])
        total = cell_sums.setdefault(key, {})
        for column in ["cohort_size", "active_customers", "orders", "revenue"]:
            total[column] = total.get(column, 0) + row[column]
    assert len(cell_sums) == len(cells) * len(DEMO_SEGMENTS)
    for (cohort, k, name), total in cell_sums.items():
        for column, value in total.items():
            assert value == cells[(cohort, k)][column], (cohort, k, name, column)


def test_segment_values_include_unknown_for_guests_and_nulls(demo_month):
    values = demo_month.rows(
        "select segment_name, segment_value, sum(new_customers) as new_customers"
        " from main.crm__retention_by_segment group by 1, 2"
    )
    unknown = {r["segment_name"]: r["new_customers"] for r in values if r["segment_value"] == "unknown"}
    guests = demo_month.scalar(
        "select count(*) from main.crm__customers where not has_customer_record and orders > 0"
    )
    assert guests > 0
    # Every guest with a counted order was new once, and falls in unknown under every name.
    assert all(unknown[name] >= guests for name in DEMO_SEGMENTS)


# The type of every mart column on DuckDB, written from the contract of README / definitions.md
# (whole numbers bigint, money decimal(38,6), rates double), not read from the models' YAML.
_DATES = {"period_start", "period_end", "cohort_period", "first_order_date", "last_order_date", "churned_on",
          "spell_started_on", "as_of_date"}
# The predictions' backtest and next purchase.
_DATES |= {"calibration_end_date", "holdout_end_date", "closing_date", "next_purchase_date"}
# crm__report_settings and crm__rfm_segments (the dashboard's marts): their own names below.
_FLAGS = {"is_complete_period", "has_customer_record", "is_active", "is_at_risk", "is_reactivation", "is_converged",
          "is_staged"}
_TEXTS = {"customer_id", "email", "first_name", "last_name", "country", "acquisition_channel", "lifecycle_status",
          "rfm_score", "rfm_segment", "rejected_row_id", "source_table", "raw_key", "rejection_reason", "raw_values",
          "segment_name", "segment_value", "period_grain", "reporting_currency", "outcome"}
_INSTANTS = {"created_at", "latest_nps_responded_at"}
_MONEY = {"revenue", "new_customer_revenue", "returning_customer_revenue", "spell_revenue", "lifetime_revenue",
          "historical_clv", "net_revenue", "value_at_stake", "starting_revenue", "new_revenue", "reactivated_revenue",
          "expansion_revenue", "contraction_revenue", "churned_revenue", "ending_revenue"}
_RATES = {"aov", "new_customer_aov", "returning_customer_aov", "retention_rate", "churn_rate", "survival_rate",
          "repeat_customer_rate", "returning_customer_rate", "purchase_frequency", "gross_revenue_retention",
          "net_revenue_retention", "revenue_churn_rate", "nps", "formula_clv", "acquisition_cost", "net_clv",
          "cumulative_revenue_per_customer", "cumulative_share", "recency", "customer_age", "repeat_order_value",
          "p_alive", "expected_purchases", "expected_order_value", "predicted_clv", "weighted_value_at_stake",
          "bgnbd_r", "bgnbd_alpha", "bgnbd_a", "bgnbd_b", "bgnbd_log_likelihood", "gg_p", "gg_q", "gg_gamma",
          "gg_log_likelihood", "share_of_customers", "share_of_revenue", "net_revenue_per_customer",
          "mean_days_since_last_order", "rejected_share_warn", "rejected_share_error"}
_COUNTS = {"customers_at_start", "new_customers", "reactivated_customers", "churned_customers", "customers_at_end",
           "retained_customers", "orders", "new_customer_orders", "returning_customer_orders", "customers",
           "repeat_customers", "returning_customers", "responses", "promoters", "passives", "detractors",
           "cohort_size", "active_customers", "periods_since_acquisition", "value_at_stake_rank",
           "days_since_last_order", "days_until_churn", "spell_number", "spell_orders", "lifetime_orders",
           "recency_score", "frequency_score", "monetary_score", "latest_nps_score", "gap_days", "gaps",
           "cumulative_gaps", "frequency", "weighted_value_at_stake_rank", "time_unit_days", "horizon_days",
           "churn_window_days", "at_risk_days", "raw_rows"}
_TEXTS |= {"frequency_group", "fit_note"}
_RATES |= {"mean_actual_purchases", "mean_expected_purchases", "mean_absolute_error", "cumulative_expected_purchases",
           "p_purchase_within_horizon", "p_purchase_within_30_days"}
_COUNTS |= {"group_order", "holdout_days", "actual_purchases", "cumulative_actual_purchases"}
# The survival views and the retention flavours.
_TEXTS |= {"curve"}
_FLAGS |= {"is_complete_bracket"}
_RATES |= {"survival_lower", "survival_upper", "unbounded_retention_rate", "reorder_rate_30d", "reorder_rate_60d",
           "reorder_rate_90d"}
_COUNTS |= {"days_since_acquisition", "days_since_first_order", "customers_at_risk", "censored_customers",
            "reordered_customers", "median_days_to_second_order", "unbounded_active_customers",
            "first_period_since_acquisition", "last_period_since_acquisition",
            *(f"{name}_{days}d" for name in ("customers_observed", "reordered_within") for days in (30, 60, 90))}
EXPECTED_DUCKDB_TYPE = {
    **{c: "DATE" for c in _DATES}, **{c: "BOOLEAN" for c in _FLAGS}, **{c: "VARCHAR" for c in _TEXTS},
    **{c: "TIMESTAMP" for c in _INSTANTS}, **{c: "DECIMAL(38,6)" for c in _MONEY},
    **{c: "DOUBLE" for c in _RATES}, **{c: "BIGINT" for c in _COUNTS},
}
PUBLIC_MARTS = {"crm__retention", "crm__cohort_retention", "crm__churn", "crm__repeat_rate", "crm__aov",
                "crm__revenue_retention", "crm__nps", "crm__clv", "crm__customers", "crm__at_risk_customers",
                "crm__kpis", "crm__rejected_rows", "crm__order_gaps", "crm__clv_model", "crm__retention_by_segment",
                "crm__cohort_retention_by_segment", "crm__kpis_by_segment", "crm__rfm_segments",
                "crm__report_settings", "crm__raw_row_outcomes", "crm__clv_backtest", "crm__clv_backtest_tracking",
                "crm__survival", "crm__time_to_second_order", "crm__second_order_rates", "crm__cohort_bracket_retention"}


def test_every_mart_column_has_its_stable_type(demo_month):
    columns = demo_month.rows(
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_schema = 'main' and table_name like 'crm\\_\\_%' escape '\\'"
    )
    assert {c["table_name"] for c in columns} == PUBLIC_MARTS
    wrong = [
        f"{c['table_name']}.{c['column_name']}: {c['data_type']}, expected {EXPECTED_DUCKDB_TYPE.get(c['column_name'])}"
        for c in columns
        if c["data_type"] != EXPECTED_DUCKDB_TYPE.get(c["column_name"])
    ]
    assert not wrong, "\n".join(wrong)
