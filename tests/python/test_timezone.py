"""Reporting time zone (crm_timezone) and the zone of raw times without offset
(crm_raw_timestamps_timezone), against the reference computed in local time.

A shop in America/Los_Angeles: the small generated shop (orders at every time of day, with and
without offsets) plus orders a minute either side of local midnight on both daylight-saving
changes of 2024 and at month, week and year ends, written in UTC and with offsets. Its daily,
weekly and monthly marts equal the reference's in local time; a few dates are also checked by
hand.
"""

from __future__ import annotations

from datetime import date

import pytest

import reference as ref
from dbt_project_runner import build
from mart_comparison import compare_build, expected_marts, small_dataset

ZONE = "America/Los_Angeles"
PERIOD_MARTS = ["crm__retention", "crm__cohort_retention", "crm__repeat_rate", "crm__aov",
                "crm__revenue_retention", "crm__churn", "crm__customers", "crm__order_gaps"]

# (order id, raw ordered_at, its date in Los Angeles)
MIDNIGHT_ORDERS = [
    # spring forward, 2024-03-10 (PST -8 before, PDT -7 after)
    ("tz_spring_1", "2024-03-10T07:59:00Z", date(2024, 3, 9)),
    ("tz_spring_2", "2024-03-10T08:00:00Z", date(2024, 3, 10)),
    ("tz_spring_3", "2024-03-11T06:59:00Z", date(2024, 3, 10)),   # Sunday in LA, Monday in UTC
    ("tz_spring_4", "2024-03-11T07:00:00Z", date(2024, 3, 11)),
    # fall back, 2024-11-03 (PDT -7 before, PST -8 after)
    ("tz_fall_1", "2024-11-03T06:59:00Z", date(2024, 11, 2)),
    ("tz_fall_2", "2024-11-03T07:00:00Z", date(2024, 11, 3)),
    ("tz_fall_3", "2024-11-04T07:59:00Z", date(2024, 11, 3)),
    ("tz_fall_4", "2024-11-04T08:00:00Z", date(2024, 11, 4)),
    # offsets in the raw text; month, quarter and year ends
    ("tz_offset_1", "2024-06-30T23:30:00-07:00", date(2024, 6, 30)),   # July 1 in UTC
    ("tz_offset_2", "2024-07-01T09:00:00+02:00", date(2024, 7, 1)),    # 07:00 UTC = 00:00 PDT
    ("tz_offset_3", "2024-07-01T08:59:00+02:00", date(2024, 6, 30)),
    ("tz_offset_4", "2024-12-31T20:00:00-0800", date(2024, 12, 31)),   # 2025 in UTC
    ("tz_date_only", "2024-04-01", date(2024, 4, 1)),                  # a date is a local day
]


def la_shop() -> dict:
    raw = small_dataset(seed=11, start=date(2023, 6, 1), days=600)
    for number, (order_id, ordered_at, _) in enumerate(MIDNIGHT_ORDERS):
        # two customers, so the same day closes and opens spells on both sides of midnight
        raw["orders"].append({"order_id": order_id, "customer_id": f"TZ{number % 2}", "ordered_at": ordered_at,
                              "status": "completed", "amount": "10.00"})
    return raw


def expected_in(zone: str, raw: dict, period: str, raw_zone: str = "UTC") -> dict:
    with ref.time_zones(report=zone, raw=raw_zone):
        return expected_marts(raw, period=period)


def assert_no_problems(problems: list[str]) -> None:
    assert not problems, f"{len(problems)} differences, first ones:\n" + "\n".join(problems[:25])


@pytest.fixture(scope="module")
def raw():
    return la_shop()


# The monthly build also reads raw times without offset as New York's: a naive 05:30 is 02:30 the
# same day in Los Angeles; read as UTC it is 22:30 the day before.
NAIVE_NEW_YORK = {"order_id": "tz_naive_ny", "customer_id": "TZ0", "ordered_at": "2024-05-02 05:30:00",
                  "status": "completed", "amount": "10.00"}
LOCAL_DATES = {order_id: local for order_id, _, local in MIDNIGHT_ORDERS}


@pytest.mark.slow
@pytest.mark.parametrize(("period", "raw_zone"), [("day", "UTC"), ("week", "UTC"), ("month", "America/New_York")])
def test_los_angeles_figures_equal_the_reference_in_local_time(tmp_path, raw, period, raw_zone):
    shop = {**raw, "orders": raw["orders"] + [NAIVE_NEW_YORK]}
    built = build(tmp_path, shop, {"crm_timezone": ZONE, "crm_raw_timestamps_timezone": raw_zone,
                                   "crm_period": period, "crm_using_predictions": False}, command="run")
    expected = expected_in(ZONE, shop, period, raw_zone=raw_zone)
    assert_no_problems(compare_build(built, expected, PERIOD_MARTS))
    dates = {row["order_id"]: row["order_date"] for row in built.rows(
        "select order_id, order_date from main.stg_crm__orders where order_id like 'tz_%'")}
    naive = date(2024, 5, 2) if raw_zone == "America/New_York" else date(2024, 5, 1)
    assert dates == {**LOCAL_DATES, "tz_naive_ny": naive}
