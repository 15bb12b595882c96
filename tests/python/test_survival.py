"""Survival curves, time to second order and bracket retention against independent code.

- crm__survival equals lifelines' KaplanMeierFitter (numbers at risk, churns and censorings
  exactly; survival and its 95% exponential Greenwood interval to 1e-9) for every curve of the
  demo (overall, each cohort, each segment value) and of the CDNOW sample, the durations taken
  from reference.py's window model;
- crm__time_to_second_order, crm__second_order_rates and crm__cohort_bracket_retention equal
  the plain Python of survival_reference.py (an exact product-limit estimate, the shares and the
  brackets counted from the counted orders);
- its churns are crm__churn's first-spell churns.

The demo is the session's demo build; CDNOW is one `dbt run` of the survival marts (about 30 s
with its reference: slow suite).
"""

from __future__ import annotations

import math
from datetime import date

import pytest
from lifelines import KaplanMeierFitter

import reference as ref
import survival_reference as sref
from dbt_project_runner import build
from mart_comparison import DEMO_SEGMENTS, compare_rows, expected_marts, read_demo_raw
from test_predictions import cdnow_raw_tables, read_cdnow

CURVE_KEY = ("curve", "cohort_period", "segment_name", "segment_value")
TOLERANCE = 1e-9
SHOPS = ["demo", pytest.param("cdnow", marks=pytest.mark.slow)]
SURVIVAL_MARTS = "+crm__survival +crm__time_to_second_order +crm__second_order_rates +crm__cohort_retention"


class Shop:
    """A build and the reference model of the same raw rows."""

    def __init__(self, built, raw: dict, segments: list[str]):
        expected = expected_marts(raw, period="month")
        self.built = built
        self.cohort_retention = expected["crm__cohort_retention"]
        cleaned = expected["_cleaned"]
        self.model = ref._build_model(cleaned, "month", None, 90, 60)
        self.segments = {name: ref.segment_values(cleaned, name) for name in segments}

    def mart_curves(self, name: str) -> dict[tuple, list[dict]]:
        grouped: dict[tuple, list[dict]] = {}
        for row in self.built.table(name):
            grouped.setdefault(tuple(row[k] for k in CURVE_KEY), []).append(row)
        return grouped


@pytest.fixture(scope="module")
def demo(demo_build):
    return Shop(demo_build, read_demo_raw(), DEMO_SEGMENTS)


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    raw = cdnow_raw_tables(read_cdnow())
    built = build(tmp_path_factory.mktemp("cdnow_survival"), raw, command="run",
                  extra_args=["--select", SURVIVAL_MARTS])
    return Shop(built, raw, [])


def assert_equals_lifelines(built: dict[tuple, list[dict]], expected: dict[tuple, list[sref.Observation]]) -> None:
    assert set(built) == set(expected)
    for key, observations in expected.items():
        kmf = KaplanMeierFitter().fit([o.duration_days for o in observations], [o.is_event for o in observations])
        table = kmf.event_table
        survival = kmf.survival_function_.iloc[:, 0]
        lower, upper = kmf.confidence_interval_.iloc[:, 0], kmf.confidence_interval_.iloc[:, 1]
        rows = {row["days_since_acquisition"]: row for row in built[key]}
        assert set(rows) == {int(t) for t in table.index if table.loc[t, "removed"] > 0}, key
        for t, row in rows.items():
            assert (row["customers_at_risk"], row["churned_customers"], row["censored_customers"]) == (
                table.loc[t, "at_risk"], table.loc[t, "observed"], table.loc[t, "censored"]), (key, t)
            for column, value in (("survival_rate", survival), ("survival_lower", lower), ("survival_upper", upper)):
                assert abs(row[column] - value.loc[t]) <= TOLERANCE, (key, t, column, row[column], value.loc[t])


@pytest.mark.parametrize("shop", SHOPS)
def test_survival_equals_lifelines(shop, request):
    shop = request.getfixturevalue(shop)
    expected = sref.curves(sref.first_spell_observations(shop.model), shop.segments)
    assert_equals_lifelines(shop.mart_curves("crm__survival"), expected)


def test_survival_churns_are_the_first_spell_churns(demo):
    churns = demo.built.scalar("select count(*) from main.crm__churn where spell_number = 1")
    overall = demo.built.scalar("select sum(churned_customers) from main.crm__survival where curve = 'overall'")
    by_cohort = demo.built.scalar("select sum(churned_customers) from main.crm__survival where curve = 'cohort'")
    assert churns == overall == by_cohort > 0


@pytest.mark.parametrize("shop", SHOPS)
def test_time_to_second_order_equals_the_exact_estimate(shop, request):
    shop = request.getfixturevalue(shop)
    expected = sref.curves(sref.second_order_observations(shop.model), shop.segments)
    built = shop.mart_curves("crm__time_to_second_order")
    assert set(built) == set(expected)
    for key, observations in expected.items():
        rows = {row["days_since_first_order"]: row for row in built[key]}
        estimate = {row["duration_days"]: row for row in sref.kaplan_meier(observations)}
        assert set(rows) == set(estimate), key
        for t, row in rows.items():
            e = estimate[t]
            assert (row["customers_at_risk"], row["reordered_customers"], row["censored_customers"]) == (
                e["customers_at_risk"], e["events"], e["censored"]), (key, t)
            assert abs(row["survival_rate"] - float(e["survival"])) <= TOLERANCE, (key, t)
            assert math.isclose(row["survival_lower"], e["survival_lower"], rel_tol=TOLERANCE, abs_tol=TOLERANCE)
            assert math.isclose(row["survival_upper"], e["survival_upper"], rel_tol=TOLERANCE, abs_tol=TOLERANCE)


@pytest.mark.parametrize("shop", SHOPS)
def test_second_order_rates_equal_the_counts(shop, request):
    name, shop = shop, request.getfixturevalue(shop)
    expected = {key: {**dict(zip(CURVE_KEY, key)), **sref.second_order_rates(observations)}
                for key, observations in sref.curves(sref.second_order_observations(shop.model), shop.segments).items()}
    problems = compare_rows("crm__second_order_rates", shop.built.table("crm__second_order_rates"),
                            list(expected.values()), keys=list(CURVE_KEY))
    assert not problems, problems[:10]
    if name == "demo":  # its recent customers, whose 90 days have not passed, are left out of that share
        overall = expected[("overall", None, None, None)]
        assert overall["customers_observed_30d"] > overall["customers_observed_90d"] > 0


@pytest.mark.slow
def test_cdnow_cohort_retention_flavours(cdnow):
    problems = compare_rows("crm__cohort_retention", cdnow.built.table("crm__cohort_retention"), cdnow.cohort_retention)
    assert not problems, problems[:10]
    for row in cdnow.cohort_retention:
        assert row["active_customers"] <= row["unbounded_active_customers"] <= row["cohort_size"]


def test_bracket_retention(demo):
    expected = sref.bracket_rows(demo.model, [(1, 1), (2, 3), (4, 6), (7, 12)])
    keys = ["cohort_period", "first_period_since_acquisition", "last_period_since_acquisition"]
    problems = compare_rows("crm__cohort_bracket_retention", demo.built.table("crm__cohort_bracket_retention"),
                            expected, keys=keys)
    assert not problems, problems[:10]
    assert any(not row["is_complete_bracket"] for row in expected) and any(row["is_complete_bracket"] for row in expected)


def test_kaplan_meier_by_hand():
    """The reference's estimator on a hand-worked example (Kaplan and Meier's textbook shape)."""
    o = lambda t, e: sref.Observation("c", date(2024, 1, 1), t, e, t)  # noqa: E731
    rows = sref.kaplan_meier([o(2, True), o(4, True), o(4, False), o(5, True), o(6, True), o(6, False), o(8, True),
                              o(0, False)])
    assert [(r["duration_days"], r["customers_at_risk"], r["events"], r["censored"]) for r in rows] == [
        (0, 8, 0, 1), (2, 7, 1, 0), (4, 6, 1, 1), (5, 4, 1, 0), (6, 3, 1, 1), (8, 1, 1, 0)]
    assert [r["survival"] for r in rows] == [1, sref.Fraction(6, 7), sref.Fraction(5, 7), sref.Fraction(15, 28),
                                           sref.Fraction(5, 14), 0]
    assert sref.median_duration(rows) == 6
    assert (rows[-1]["survival_lower"], rows[0]["survival_upper"]) == (0.0, 1.0)
