"""The marts made for dashboards, crm__rfm_segments and crm__report_settings, on the demo build,
against the independent Python reference computed from the demo's raw rows."""

from __future__ import annotations

import math
from collections import defaultdict
from decimal import Decimal

import pytest

import mart_comparison
import reference


@pytest.fixture(scope="module")
def expected():
    return mart_comparison.expected_marts(mart_comparison.read_demo_raw(), period="month")


def test_rfm_segments_roll_up_the_reference_customers(demo_build, expected):
    segments = defaultdict(lambda: {"customers": 0, "orders": 0, "net_revenue": Decimal(0), "days": 0})
    for customer in expected["crm__customers"]:
        if customer["rfm_segment"] is None:
            assert customer["orders"] == 0
            continue
        segment = segments[customer["rfm_segment"]]
        segment["customers"] += 1
        segment["orders"] += customer["orders"]
        segment["net_revenue"] += customer["net_revenue"]
        segment["days"] += customer["days_since_last_order"]
    all_customers = sum(s["customers"] for s in segments.values())
    all_revenue = sum(s["net_revenue"] for s in segments.values())
    built = {row["rfm_segment"]: row for row in demo_build.table("crm__rfm_segments")}
    assert set(built) == set(segments) and len(built) >= 6
    for name, segment in segments.items():
        row = built[name]
        assert row["customers"] == segment["customers"] and row["orders"] == segment["orders"], name
        assert row["net_revenue"] == segment["net_revenue"], name
        assert math.isclose(row["share_of_customers"], segment["customers"] / all_customers, rel_tol=1e-12)
        assert math.isclose(row["share_of_revenue"], float(segment["net_revenue"] / all_revenue), rel_tol=1e-9)
        assert math.isclose(row["net_revenue_per_customer"], float(segment["net_revenue"] / segment["customers"]), rel_tol=1e-9)
        assert math.isclose(row["mean_days_since_last_order"], segment["days"] / segment["customers"], rel_tol=1e-12)


def test_report_settings_are_the_build_settings(demo_build, expected):
    cleaned = expected["_cleaned"]
    as_of = reference.as_of_date(cleaned, None)
    orders = reference.metric_orders(cleaned, as_of)
    [row] = demo_build.table("crm__report_settings")
    assert row["as_of_date"] == as_of
    assert row["first_order_date"] == min(order["order_date"] for order in orders)
    assert (row["period_grain"], row["churn_window_days"], row["at_risk_days"]) == ("month", 90, 60)
