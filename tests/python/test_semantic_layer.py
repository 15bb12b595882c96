"""The MetricFlow semantic layer (models/semantic/) on a demo build.

`mf validate-configs` checks the semantic models, metrics and saved queries against the
warehouse; `mf query` must give, period by period, the numbers the marts hold, read here
directly from DuckDB: a ratio of summed measures at the crm_period grain is the mart's rate.
"""

from __future__ import annotations

import csv
import math
from datetime import date

import pytest

from dbt_project_runner import run_dbt

# metric -> (mart, column) it must equal at the period grain.
PERIOD_METRICS = {
    "retention_rate": ("crm__retention", "retention_rate"),
    "churn_rate": ("crm__retention", "churn_rate"),
    "survival_rate": ("crm__retention", "survival_rate"),
    "customers_at_start": ("crm__retention", "customers_at_start"),
    "customers_at_end": ("crm__retention", "customers_at_end"),
    "ordering_customers": ("crm__repeat_rate", "customers"),
    "returning_customers": ("crm__repeat_rate", "returning_customers"),
    "repeat_customer_rate": ("crm__repeat_rate", "repeat_customer_rate"),
    "returning_customer_rate": ("crm__repeat_rate", "returning_customer_rate"),
    "purchase_frequency": ("crm__repeat_rate", "purchase_frequency"),
    "aov": ("crm__aov", "aov"),
    "revenue": ("crm__aov", "revenue"),
    "gross_revenue_retention": ("crm__revenue_retention", "gross_revenue_retention"),
    "net_revenue_retention": ("crm__revenue_retention", "net_revenue_retention"),
    "revenue_churn_rate": ("crm__revenue_retention", "revenue_churn_rate"),
    "churned_revenue": ("crm__revenue_retention", "churned_revenue"),
    "nps": ("crm__nps", "nps"),
}
# Compare a whole period with a whole one: null through the semantic layer for the current,
# partial period (docs/bi.md).
COMPLETE_PERIODS_ONLY = {"gross_revenue_retention", "net_revenue_retention", "revenue_churn_rate"}


def same_number(actual: str, expected) -> bool:
    if expected is None:
        return actual == ""
    return actual != "" and math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-9)


def query_csv(demo_build, tmp_path, *args: str) -> list[dict]:
    path = tmp_path / "query.csv"
    demo_build.mf("query", *args, "--csv", str(path))
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def day(text: str) -> date:
    return date.fromisoformat(text[:10])


def without_marker_period(rows: list[dict], time_column: str, last_period: date) -> list[dict]:
    """The rows up to the as-of period. A query at the crm_period grain of the figures read from
    crm__period_rollups also holds the period after it, with every metric null: the current
    quarter or year counts its end there (docs/bi.md)."""
    later = [row for row in rows if day(row[time_column]) > last_period]
    assert len(later) <= 1 and all(value == "" for key, value in (later[0] if later else {}).items()
                                   if key != time_column), later
    return [row for row in rows if day(row[time_column]) <= last_period]


@pytest.mark.slow
def test_validate_configs_passes_against_the_warehouse(demo_build):
    result = demo_build.mf("validate-configs")
    output = result.stdout + result.stderr
    assert "Successfully validated metrics against data warehouse" in output
    assert "ERRORS: 0" in output and "ERRORS: 1" not in output


def test_the_semantic_layer_is_off_unless_asked_for(tmp_path):
    # A host that does not opt in gets no semantic model, metric, saved query or time spine.
    import json

    run_dbt(["parse"], db_path=tmp_path / "crm.duckdb", target_path=tmp_path / "target")
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    assert not manifest["semantic_models"] and not manifest["metrics"] and not manifest["saved_queries"]
    assert "model.crm_retention.crm__time_spine" not in manifest["nodes"]


@pytest.mark.slow
def test_period_metrics_equal_the_marts(demo_build, tmp_path):
    rows = query_csv(demo_build, tmp_path, "--metrics", ",".join(PERIOD_METRICS),
                     "--group-by", "metric_time__month", "--order", "metric_time__month")
    marts = {mart: {row["period_start"]: row for row in demo_build.table(mart)}
             for mart in {mart for mart, _ in PERIOD_METRICS.values()}}
    rows = without_marker_period(rows, "metric_time__month", max(marts["crm__retention"]))
    assert [day(row["metric_time__month"]) for row in rows] == sorted(marts["crm__retention"])
    checked = 0
    for row in rows:
        period = day(row["metric_time__month"])
        for metric, (mart, column) in PERIOD_METRICS.items():
            expected = marts[mart][period][column]
            if metric in COMPLETE_PERIODS_ONLY and not marts[mart][period]["is_complete_period"]:
                expected = None
            assert same_number(row[metric], expected), (metric, period, row[metric], expected)
            checked += expected is not None
    # The first period has no customers at its start: its rates are null in both, not 0.
    assert rows[0]["retention_rate"] == "" and marts["crm__retention"][day(rows[0]["metric_time__month"])]["retention_rate"] is None
    assert checked > 300


@pytest.mark.slow
def test_cohort_heatmap_saved_query_equals_the_cohort_mart(demo_build, tmp_path):
    rows = query_csv(demo_build, tmp_path, "--saved-query", "crm_cohort_heatmap")
    cells = {(row["cohort_period"], row["periods_since_acquisition"]): row for row in demo_build.table("crm__cohort_retention")}
    assert len(rows) == len(cells)
    for row in rows:
        cell = cells[(day(row["cohort_cell__cohort_period__month"]), int(row["cohort_cell__periods_since_acquisition"]))]
        assert same_number(row["cohort_retention_rate"], cell["retention_rate"])
        assert same_number(row["cohort_unbounded_retention_rate"], cell["unbounded_retention_rate"])
        assert int(row["cohort_size"]) == cell["cohort_size"]


@pytest.mark.slow
def test_clv_by_rfm_segment_equals_the_customers(demo_build, tmp_path):
    rows = query_csv(demo_build, tmp_path, "--metrics",
                     "clv_customers,historical_clv,average_historical_clv,predicted_clv,average_predicted_clv",
                     "--group-by", "customer__rfm_segment")
    # Summed here, in Python, from the customer rows of crm__clv and their crm__customers segment.
    segments = {row["customer_id"]: row["rfm_segment"] for row in demo_build.table("crm__customers")}
    totals: dict[str, list] = {}
    for row in demo_build.table("crm__clv"):
        total = totals.setdefault(segments[row["customer_id"]], [0, 0, 0.0, 0])
        total[0] += 1
        total[1] += row["historical_clv"]
        if row["predicted_clv"] is not None:
            total[2] += row["predicted_clv"]
            total[3] += 1
    assert {row["customer__rfm_segment"] for row in rows} == set(totals)
    assert sum(total[3] for total in totals.values()) > 1000  # the demo's predictions ran
    for row in rows:
        customers, clv, predicted, predicted_customers = totals[row["customer__rfm_segment"]]
        assert int(row["clv_customers"]) == customers
        assert same_number(row["historical_clv"], clv)
        assert same_number(row["average_historical_clv"], clv / customers)
        assert same_number(row["predicted_clv"], predicted)
        assert same_number(row["average_predicted_clv"], predicted / predicted_customers)


# metric -> (mart, column) of the reference built at that grain: every stock and rate metric (stocks
# semi-additive, flows summed, rates from stocks and flows, and the rates that compare each
# customer within or across the periods read from crm__period_rollups).
ROLLUP_METRICS = {
    "customers_at_start": ("crm__retention", "customers_at_start"),
    "customers_at_end": ("crm__retention", "customers_at_end"),
    "new_customers": ("crm__retention", "new_customers"),
    "reactivated_customers": ("crm__retention", "reactivated_customers"),
    "churned_customers": ("crm__retention", "churned_customers"),
    "retention_rate": ("crm__retention", "retention_rate"),
    "churn_rate": ("crm__retention", "churn_rate"),
    "orders": ("crm__aov", "orders"),
    "revenue": ("crm__aov", "revenue"),
    "aov": ("crm__aov", "aov"),
    **{metric: PERIOD_METRICS[metric]
       for metric in ("ordering_customers", "returning_customers", "returning_customer_rate", "purchase_frequency")},
}
# The figures that compare each customer within or across the periods (crm__period_rollups).
CUSTOMER_FIGURES = {
    "retained_customers": ("crm__retention", "retained_customers"),
    "survival_rate": ("crm__retention", "survival_rate"),
    "repeat_customers": ("crm__repeat_rate", "repeat_customers"),
    "repeat_customer_rate": ("crm__repeat_rate", "repeat_customer_rate"),
    **{metric: ("crm__revenue_retention", metric) for metric in (
        "starting_revenue", "new_revenue", "reactivated_revenue", "expansion_revenue", "contraction_revenue",
        "churned_revenue", "gross_revenue_retention", "net_revenue_retention", "revenue_churn_rate")},
}
ROLLUP_METRICS.update(CUSTOMER_FIGURES)


def expected_at_grain(period: date, metric: str, mart: str, column: str, reference: dict):
    """The reference's figure for the metric in a period of its grain (null for revenue retention
    in the current, partial period, as at the crm_period grain)."""
    row = reference[mart][period]
    if metric in COMPLETE_PERIODS_ONLY and not row["is_complete_period"]:
        return None
    return row[column]


@pytest.mark.slow
@pytest.mark.parametrize("grain", ["quarter", "year"])
def test_stocks_and_rates_at_a_coarser_grain_equal_that_grain(demo_build, tmp_path, grain):
    """The demo's marts are monthly; MetricFlow at quarter and year grain must give what the
    reference computes with quarters or years as its periods, from the demo's raw rows."""
    from mart_comparison import expected_marts, read_demo_raw

    expected = expected_marts(read_demo_raw(), period=grain)
    rows = query_csv(demo_build, tmp_path, "--metrics", ",".join(ROLLUP_METRICS),
                     "--group-by", f"metric_time__{grain}", "--order", f"metric_time__{grain}")
    reference = {mart: {row["period_start"]: row for row in expected[mart]}
                 for mart in ("crm__retention", "crm__aov", "crm__repeat_rate", "crm__revenue_retention")}
    rows = without_marker_period(rows, f"metric_time__{grain}", max(reference["crm__retention"]))
    assert [day(row[f"metric_time__{grain}"]) for row in rows] == sorted(reference["crm__retention"])
    compared = 0
    for row in rows:
        period = day(row[f"metric_time__{grain}"])
        for metric, (mart, column) in ROLLUP_METRICS.items():
            value = expected_at_grain(period, metric, mart, column, reference)
            assert same_number(row[metric], value), (grain, metric, period, row[metric], value)
            compared += value is not None
    assert compared > len(rows) * (len(ROLLUP_METRICS) - 4)


@pytest.mark.slow
@pytest.mark.parametrize("grain", ["quarter", "year"])
def test_a_coarser_time_bucket_counts_its_periods(demo_build, tmp_path, grain):
    """crm_periods counts the demo's months in each quarter or year (from the reference's monthly
    periods), and the bucket holds one crm__period_rollups row of its own grain, whose figures it
    shows (crm_bucket_grain 3 for a quarter, 4 for a year)."""
    from collections import Counter

    from mart_comparison import expected_marts, read_demo_raw

    months = Counter(period_start(row["period_start"], grain)
                     for row in expected_marts(read_demo_raw(), period="month")["crm__retention"])
    rows = without_marker_period(query_csv(
        demo_build, tmp_path, "--metrics", f"crm_periods,{grain}_rollup_periods,crm_bucket_grain",
        "--group-by", f"metric_time__{grain}"), f"metric_time__{grain}", max(months))
    assert {day(row[f"metric_time__{grain}"]): int(row["crm_periods"]) for row in rows} == months
    assert min(months.values()) > 1
    assert {row[f"{grain}_rollup_periods"] for row in rows} == {"1"}
    assert {row["crm_bucket_grain"] for row in rows} == {"3" if grain == "quarter" else "4"}


AS_OF = date(2025, 4, 10)  # a Thursday: April holds one week start (the 7th), March 31 is a Monday


def small_build(tmp_path, period: str):
    """A build of a small data set from March 2024 to AS_OF at the crm_period grain `period`,
    and the reference's marts for it."""
    import json

    from demo_build import scratch_build
    from dbt_project_runner import source_vars, write_raw_tables
    from mart_comparison import small_dataset

    raw = small_dataset(5, start=date(2024, 3, 1), days=405)
    build_ = scratch_build(tmp_path)
    write_raw_tables(build_.db_path, raw)
    vars_ = {**source_vars(raw), "crm_using_semantic_layer": True, "crm_as_of_date": AS_OF.isoformat(),
             "crm_using_predictions": False, "crm_period": period}
    run_dbt(["run", "--vars", json.dumps(vars_)], db_path=build_.db_path, target_path=build_.target_path)
    return build_, raw


def assert_figures_of_the_grain(build_, raw, tmp_path, grain: str) -> dict[date, dict]:
    """Every period of `grain` gives the rates of the reference built with that grain's periods from
    the same raw rows (revenue retention null for the partial period); the rows by period."""
    from mart_comparison import expected_marts

    expected = expected_marts(raw, period=grain, as_of=AS_OF)
    reference = {mart: {row["period_start"]: row for row in expected[mart]} for mart, _ in CUSTOMER_FIGURES.values()}
    rows = without_marker_period(query_csv(
        build_, tmp_path, "--metrics", ",".join(["crm_periods", *CUSTOMER_FIGURES]), "--group-by",
        f"metric_time__{grain}"), f"metric_time__{grain}", max(reference["crm__retention"]))
    periods = {day(row[f"metric_time__{grain}"]): row for row in rows}
    assert set(periods) == set(reference["crm__retention"])
    compared = 0
    for period, row in periods.items():
        for metric, (mart, column) in CUSTOMER_FIGURES.items():
            wanted = expected_at_grain(period, metric, mart, column, reference)
            assert same_number(row[metric], wanted), (grain, metric, period, row[metric], wanted)
            compared += wanted is not None
    assert compared >= 3 * len(CUSTOMER_FIGURES)  # every figure in three complete periods at least
    return periods


@pytest.mark.slow
def test_a_quarter_of_one_month_gives_that_quarters_rates(tmp_path):
    """A monthly build whose first month (March) and current month (April, partial) are each the
    only month of their quarter: every quarter's survival, repeat and revenue retention rates are
    the reference's quarterly ones, whether the quarter holds one month or three."""
    build_, raw = small_build(tmp_path, "month")
    quarters = assert_figures_of_the_grain(build_, raw, tmp_path, "quarter")
    assert quarters[date(2024, 1, 1)]["crm_periods"] == "1" and quarters[date(2025, 4, 1)]["crm_periods"] == "1"


@pytest.mark.slow
def test_a_daily_build_gives_each_weeks_and_months_figures(tmp_path):
    """Weeks straddle months: in a daily build, April's bucket holds one week's row (the 7th) and
    April's, and must show April's figures; the week from March 31 holds April's row and must show
    the week's. Both grains equal the reference built with weeks and months as its periods."""
    build_, raw = small_build(tmp_path, "day")
    months = assert_figures_of_the_grain(build_, raw, tmp_path, "month")
    weeks = assert_figures_of_the_grain(build_, raw, tmp_path, "week")
    assert months[date(2025, 4, 1)]["crm_periods"] == "10" and weeks[date(2025, 3, 31)]["crm_periods"] == "7"


@pytest.mark.slow
@pytest.mark.parametrize("grain", ["month", "quarter"])
def test_segment_metrics_by_segment_value(demo_build, tmp_path, grain):
    """Retention by segment value through the semantic layer equals the reference's segment mart
    built at that grain (the demo's crm_segments, Makefile DEMO_VARS)."""
    from demo_build import DEMO_VARS
    from mart_comparison import expected_marts, read_demo_raw

    expected = expected_marts(read_demo_raw(), period=grain, segments=DEMO_VARS["crm_segments"])
    cells = {(row["period_start"], row["segment_name"], row["segment_value"]): row
             for row in expected["crm__retention_by_segment"]}
    prefix = "retention_segment_period__"
    rows = query_csv(demo_build, tmp_path, "--metrics",
                     "segment_customers_at_start,segment_customers_at_end,segment_retention_rate,segment_churn_rate",
                     "--group-by", f"metric_time__{grain},{prefix}segment_name,{prefix}segment_value")
    assert len(rows) == len(cells)
    for row in rows:
        cell = cells[(day(row[f"metric_time__{grain}"]), row[f"{prefix}segment_name"], row[f"{prefix}segment_value"])]
        for metric, column in [("segment_customers_at_start", "customers_at_start"),
                               ("segment_customers_at_end", "customers_at_end"),
                               ("segment_retention_rate", "retention_rate"), ("segment_churn_rate", "churn_rate")]:
            assert same_number(row[metric], cell[column]), (grain, metric, row, cell[column])


def period_start(day_: date, grain: str) -> date:
    return date(day_.year, 1 if grain == "year" else (day_.month - 1) // 3 * 3 + 1, 1)


@pytest.mark.slow
@pytest.mark.parametrize("grain", ["quarter", "year"])
def test_cohorts_at_a_coarser_cohort_grain_pool_the_monthly_cohorts(demo_build, tmp_path, grain):
    """By quarter or year of acquisition: acquired customers are counted once per cohort, and the
    cohort retention rate at k pools the monthly cohorts that reached k. Expected: the reference's
    monthly cohort cells (from the demo's raw rows), summed here."""
    from mart_comparison import expected_marts, read_demo_raw

    pooled: dict[tuple, list[int]] = {}
    acquired: dict[date, int] = {}
    for cell in expected_marts(read_demo_raw(), period="month")["crm__cohort_retention"]:
        start, k = period_start(cell["cohort_period"], grain), cell["periods_since_acquisition"]
        sums = pooled.setdefault((start, k), [0, 0])
        sums[0] += cell["cohort_size"]
        sums[1] += cell["active_customers"]
        if k == 0:
            acquired[start] = acquired.get(start, 0) + cell["cohort_size"]
    dimension = f"cohort_cell__cohort_period__{grain}"
    rows = query_csv(demo_build, tmp_path, "--metrics",
                     "acquired_customers,cohort_size,cohort_active_customers,cohort_retention_rate",
                     "--group-by", f"{dimension},cohort_cell__periods_since_acquisition")
    assert len(rows) == len(pooled)
    totals: dict[date, int] = {}
    for row in rows:
        start, k = day(row[dimension]), int(row["cohort_cell__periods_since_acquisition"])
        size, active = pooled[(start, k)]
        assert (int(row["cohort_size"]), int(row["cohort_active_customers"])) == (size, active), (start, k)
        assert same_number(row["cohort_retention_rate"], active / size), (start, k)
        totals[start] = totals.get(start, 0) + int(row["acquired_customers"])
    assert totals == acquired and sum(acquired.values()) > 1000


def key_text(value) -> str:
    """A mart value as `mf query --csv` writes it (null empty, dates as the day)."""
    return "" if value is None else str(value)


@pytest.mark.slow
@pytest.mark.parametrize("saved_query, mart, entity, days, metric", [
    ("crm_survival_curves", "crm__survival", "survival_step", "days_since_acquisition", "first_spell_survival"),
    ("crm_time_to_second_order", "crm__time_to_second_order", "second_order_step", "days_since_first_order",
     "not_yet_reordered"),
])
def test_survival_saved_queries_equal_the_marts(demo_build, tmp_path, saved_query, mart, entity, days, metric):
    rows = query_csv(demo_build, tmp_path, "--saved-query", saved_query)
    expected = {(row["curve"], key_text(row["cohort_period"]), key_text(row["segment_name"]),
                 key_text(row["segment_value"]), str(row[days])): row for row in demo_build.table(mart)}
    assert len(rows) == len(expected)
    for row in rows:
        key = (row[f"{entity}__curve"], row[f"{entity}__cohort_period__month"][:10], row[f"{entity}__segment_name"],
               row[f"{entity}__segment_value"], row[f"{entity}__{days}"])
        for suffix, column in [("", "survival_rate"), ("_lower", "survival_lower"), ("_upper", "survival_upper")]:
            assert same_number(row[metric + suffix], expected[key][column]), (key, column)


@pytest.mark.slow
def test_reorder_rates_pool_the_cohorts(demo_build, tmp_path):
    """By cohort, the reorder rates are the mart's cohort rows; over all cohorts, its overall row."""
    metrics = "reorder_rate_30d,reorder_rate_60d,reorder_rate_90d"
    marts = demo_build.table("crm__second_order_rates")
    by_cohort = {row["cohort_period"]: row for row in marts if row["curve"] == "cohort"}
    rows = query_csv(demo_build, tmp_path, "--metrics", metrics, "--group-by", "second_order_curve__cohort_period__month")
    assert {day(row["second_order_curve__cohort_period__month"]) for row in rows if row[
        "second_order_curve__cohort_period__month"]} == set(by_cohort)
    (overall,) = [row for row in marts if row["curve"] == "overall"]
    (pooled,) = query_csv(demo_build, tmp_path, "--metrics", metrics)
    for metric in metrics.split(","):
        assert same_number(pooled[metric], overall[metric]), metric
        for row in rows:
            if row["second_order_curve__cohort_period__month"]:
                cohort = by_cohort[day(row["second_order_curve__cohort_period__month"])]
                assert same_number(row[metric], cohort[metric]), (metric, cohort["cohort_period"])
