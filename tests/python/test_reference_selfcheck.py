"""Hand-worked checks of the Python reference itself (tests/python/reference.py).

Nothing here touches the package: every expected value is worked out by hand from SPEC.md and
docs/definitions.md, or is an identity the definitions promise.
"""

from __future__ import annotations

import random
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference as ref  # noqa: E402
from raw_schema import COUNTED_STATUSES, IGNORED_STATUSES  # noqa: E402

TODAY = date(2025, 6, 30)


def order(order_id, customer_id, ordered_at, amount="10.00", status="completed", **extra):
    row = {"order_id": order_id, "customer_id": customer_id, "ordered_at": ordered_at,
           "status": status, "amount": amount}
    row.update(extra)
    return row


def build(orders, customers=(), nps=(), spend=(), *, today=TODAY, **mart_options):
    cleaned = ref.clean({"orders": list(orders), "customers": list(customers),
                         "nps_responses": list(nps), "marketing_spend": list(spend)},
                        today=today, counted_statuses=COUNTED_STATUSES, ignored_statuses=IGNORED_STATUSES)
    return cleaned, ref.compute_marts(cleaned, **mart_options)


def by_period(rows):
    return {r["period_start"]: r for r in rows}


def typed_id(value) -> str:
    """A test id that shows a typed value with its type, so 12.5 and "12.5" read apart."""
    if isinstance(value, str) or value is None:
        return str(value)
    return f"{type(value).__name__}({value})"


def rfm_id(value) -> str:
    return "r{}f{}m{}".format(*value) if isinstance(value, tuple) else value


def rejection_reasons(cleaned, source):
    return {r.raw_key: r.rejection_reason for r in cleaned.rejected_for(source)}


# --------------------------------------------------------------------------------------
# SPEC section 3: the worked example, row by row
# --------------------------------------------------------------------------------------

WORKED_ORDERS = [
    order("a1", "A", "2024-01-10"), order("a2", "A", "2024-02-15"),
    order("b1", "B", "2024-01-20"), order("b2", "B", "2024-06-01"),
    order("c1", "C", "2024-03-05"),
]


def test_spec_worked_example_row_by_row():
    _, marts = build(WORKED_ORDERS, period="month", as_of=date(2024, 6, 1), churn_window_days=90)
    rows = marts["crm__retention"]
    expected = [
        # period,        S, N, R, C, E, retention, churn,  complete
        (date(2024, 1, 1), 0, 2, 0, 0, 2, None, None, True),
        (date(2024, 2, 1), 2, 0, 0, 0, 2, 1.0, 0.0, True),
        (date(2024, 3, 1), 2, 1, 0, 0, 3, 1.0, 0.0, True),
        (date(2024, 4, 1), 3, 0, 0, 1, 2, 2 / 3, 1 / 3, True),
        (date(2024, 5, 1), 2, 0, 0, 1, 1, 0.5, 0.5, True),
        (date(2024, 6, 1), 1, 0, 1, 0, 2, 2.0, 0.0, False),
    ]
    assert len(rows) == len(expected)
    for row, (start, s, n, r, c, e, retention, churn, complete) in zip(rows, expected):
        assert row["period_start"] == start
        assert (row["customers_at_start"], row["new_customers"], row["reactivated_customers"],
                row["churned_customers"], row["customers_at_end"]) == (s, n, r, c, e), start
        assert row["retention_rate"] == pytest.approx(retention) if retention is not None \
            else row["retention_rate"] is None
        assert row["churn_rate"] == pytest.approx(churn) if churn is not None \
            else row["churn_rate"] is None
        assert row["is_complete_period"] is complete
    assert rows[-1]["period_end"] == date(2024, 6, 30)
    # retained: active both on the day before period_start and on the period's last day
    assert [r["retained_customers"] for r in rows] == [0, 2, 2, 2, 1, 1]
    assert [r["survival_rate"] for r in rows] == [None, 1.0, 1.0, pytest.approx(2 / 3), 0.5, 1.0]


def test_spec_worked_example_spells_and_churn_events():
    _, marts = build(WORKED_ORDERS, as_of=date(2024, 6, 1))
    churn = [(r["customer_id"], r["churned_on"], r["spell_number"], r["spell_started_on"],
              r["last_order_date"], r["spell_orders"], r["lifetime_orders"])
             for r in marts["crm__churn"]]
    # A [01-10, 05-15); B [01-20, 04-19) then [06-01, 08-30); C [03-05, 06-03) not yet churned
    assert churn == [
        ("A", date(2024, 5, 15), 1, date(2024, 1, 10), date(2024, 2, 15), 2, 2),
        ("B", date(2024, 4, 19), 1, date(2024, 1, 20), date(2024, 1, 20), 1, 1),
    ]
    assert marts["crm__churn"][1]["period_start"] == date(2024, 4, 1)
    customers = {r["customer_id"]: r for r in marts["crm__customers"]}
    assert customers["A"]["lifecycle_status"] == "churned"
    assert customers["B"]["lifecycle_status"] == "reactivated"
    assert customers["C"]["lifecycle_status"] == "at_risk"  # active, last order 88 days ago


def test_as_of_defaults_to_latest_counted_order_date():
    rows = WORKED_ORDERS + [order("x", "A", "2024-06-20", status="cancelled")]
    _, marts = build(rows)
    assert marts["crm__retention"][-1]["period_start"] == date(2024, 6, 1)
    assert marts["crm__customers"][0]["days_since_last_order"] == (date(2024, 6, 1)
                                                                   - date(2024, 2, 15)).days


# --------------------------------------------------------------------------------------
# Random data: identities for every grain
# --------------------------------------------------------------------------------------

def random_raw(seed: int, customers: int = 40, start=date(2023, 1, 1), days=700):
    rng = random.Random(seed)
    rows = []
    for i in range(customers):
        cid = f"c{i:03d}"
        for j in range(rng.randint(1, 8)):
            d = start + timedelta(days=rng.randrange(days))
            status = rng.choice(["completed", "completed", "shipped", " Paid ", "cancelled"])
            amount = f"{rng.randint(0, 300)}.{rng.randint(0, 99):02d}"
            refunded = rng.choice([None, "", "0", f"{rng.randint(0, 100)}", "500"])
            rows.append(order(f"{cid}-{j}", cid, f"{d.isoformat()}T{rng.randint(0, 23):02d}:00:00",
                              amount, status, refunded_amount=refunded))
    return rows


@pytest.mark.parametrize("period", ref.PERIODS)
@pytest.mark.parametrize("window", [30, 90])
def test_retention_identity_on_random_data(period, window):
    raw = random_raw(seed=7 + window)
    as_of = date(2024, 11, 17)
    cleaned, marts = build(raw, period=period, as_of=as_of, churn_window_days=window)
    rows = marts["crm__retention"]
    assert rows, "expected periods"
    counted = [o for o in cleaned.orders
               if o["status_class"] == "counted" and o["order_date"] <= as_of]

    def active_by_spec(day):
        """SPEC section 3 literally: a counted order on o with o <= d < o + W."""
        return len({o["customer_id"] for o in counted
                    if o["order_date"] <= day < o["order_date"] + timedelta(days=window)})

    previous = None
    for row in rows:
        s, n, r, c, e = (row["customers_at_start"], row["new_customers"],
                         row["reactivated_customers"], row["churned_customers"],
                         row["customers_at_end"])
        assert e == s + n + r - c, row
        assert row["retained_customers"] <= min(s, e)
        if row["survival_rate"] is not None:
            assert row["survival_rate"] <= 1.0
        end = min(row["period_end"], as_of)
        assert e == active_by_spec(end)
        assert s == active_by_spec(row["period_start"] - timedelta(days=1))
        if previous is not None:
            assert s == previous["customers_at_end"]
            assert row["period_start"] == previous["period_end"] + timedelta(days=1)
        previous = row
    assert rows[-1]["period_start"] <= as_of <= rows[-1]["period_end"]
    assert sum(r["new_customers"] for r in rows) == len({o["customer_id"] for o in counted})
    assert sum(r["churned_customers"] for r in rows) == len(marts["crm__churn"])
    assert all(r["churned_on"] <= as_of for r in marts["crm__churn"])


@pytest.mark.parametrize("period", ref.PERIODS)
def test_revenue_identity_on_random_data(period):
    raw = random_raw(seed=11)
    as_of = date(2024, 10, 3)
    cleaned, marts = build(raw, period=period, as_of=as_of)
    rows = marts["crm__revenue_retention"]
    aov = by_period(marts["crm__aov"])
    previous_ending = Decimal(0)
    for row in rows:
        assert row["ending_revenue"] == (row["starting_revenue"] + row["new_revenue"]
                                         + row["reactivated_revenue"] + row["expansion_revenue"]
                                         - row["contraction_revenue"] - row["churned_revenue"])
        assert row["starting_revenue"] == previous_ending
        assert row["ending_revenue"] == aov[row["period_start"]]["revenue"]
        if row["gross_revenue_retention"] is not None:
            assert row["gross_revenue_retention"] <= 1.0 <= row["net_revenue_retention"] + \
                row["revenue_churn_rate"] + 1e-12
            assert row["gross_revenue_retention"] + row["revenue_churn_rate"] == \
                pytest.approx(1.0)
        previous_ending = row["ending_revenue"]
    total = sum(o["net_revenue"] for o in cleaned.orders
                if o["status_class"] == "counted" and o["order_date"] <= as_of)
    assert sum(r["ending_revenue"] for r in rows) == total
    assert sum(r["historical_clv"] for r in marts["crm__clv"]) == total


@pytest.mark.parametrize("period", ref.PERIODS)
def test_period_marts_share_one_spine_and_agree(period):
    raw = random_raw(seed=3, customers=25)
    as_of = date(2024, 8, 14)
    _, marts = build(raw, period=period, as_of=as_of)
    spines = {name: [r["period_start"] for r in marts[name]]
              for name in ["crm__retention", "crm__repeat_rate", "crm__aov",
                           "crm__revenue_retention", "crm__nps", "crm__kpis"]}
    assert len({tuple(s) for s in spines.values()}) == 1
    for a, r in zip(marts["crm__aov"], marts["crm__repeat_rate"]):
        assert a["orders"] == r["orders"]
        assert a["orders"] == a["new_customer_orders"] + a["returning_customer_orders"]
        assert a["revenue"] == a["new_customer_revenue"] + a["returning_customer_revenue"]
        assert r["repeat_customers"] <= r["customers"]
        assert r["returning_customers"] <= r["customers"]
    for name, columns in ref.MART_COLUMNS.items():
        for row in marts[name]:
            assert list(row) == columns


def test_moving_as_of_back_changes_nothing_before_it():
    raw = random_raw(seed=5)
    _, early = build(raw, as_of=date(2024, 3, 31))
    _, late = build(raw, as_of=date(2024, 9, 30))
    for name in ["crm__retention", "crm__aov", "crm__repeat_rate", "crm__revenue_retention"]:
        late_rows = by_period(late[name])
        for row in early[name]:
            assert row == late_rows[row["period_start"]], name


# --------------------------------------------------------------------------------------
# Spells exactly W and W - 1 days apart
# --------------------------------------------------------------------------------------

def test_orders_exactly_w_days_apart_churn_and_reactivate_same_day():
    first, second = date(2024, 1, 1), date(2024, 1, 1) + timedelta(days=90)
    assert second == date(2024, 3, 31)
    _, marts = build([order("1", "A", first.isoformat()), order("2", "A", second.isoformat())],
                     as_of=date(2024, 4, 15), churn_window_days=90)
    churn = marts["crm__churn"]
    assert [(r["churned_on"], r["spell_number"], r["last_order_date"]) for r in churn] == [
        (second, 1, first)]
    march = by_period(marts["crm__retention"])[date(2024, 3, 1)]
    assert (march["customers_at_start"], march["new_customers"], march["reactivated_customers"],
            march["churned_customers"], march["customers_at_end"]) == (1, 0, 1, 1, 1)
    assert march["retained_customers"] == 1
    customer = marts["crm__customers"][0]
    assert customer["lifecycle_status"] == "reactivated"


def test_orders_w_minus_one_days_apart_stay_in_one_spell():
    first, second = date(2024, 1, 1), date(2024, 1, 1) + timedelta(days=89)
    _, marts = build([order("1", "A", first.isoformat()), order("2", "A", second.isoformat())],
                     as_of=date(2024, 6, 28), churn_window_days=90)
    assert second + timedelta(days=90) == date(2024, 6, 28)
    churn = marts["crm__churn"]
    assert [(r["churned_on"], r["spell_number"], r["spell_started_on"], r["spell_orders"])
            for r in churn] == [(date(2024, 6, 28), 1, first, 2)]
    rows = marts["crm__retention"]
    assert [r["reactivated_customers"] for r in rows] == [0] * 6
    assert [r["churned_customers"] for r in rows] == [0, 0, 0, 0, 0, 1]
    assert rows[-1]["customers_at_end"] == 0  # not active on the churn day itself


# --------------------------------------------------------------------------------------
# Cohort table, hand-worked
# --------------------------------------------------------------------------------------

def test_cohort_table_hand_worked():
    rows = [
        order("x1", "X", "2024-01-05", "10"), order("x2", "X", "2024-01-20", "5"),
        order("x3", "X", "2024-03-01", "20"),
        order("y1", "Y", "2024-01-10", "30"),
        order("y2", "Y", "2024-02-10", "30", status="cancelled"),  # ignored: not active
        order("z1", "Z", "2024-02-03", "40"),
        order("z2", "Z", "2024-02-04", "8", refunded_amount="8"),   # zero-value, still an order
        order("z3", "Z", "2024-03-10", "15"),
        order("z4", "Z", "2024-03-20", "99"),                       # after the as-of date
    ]
    _, marts = build(rows, as_of=date(2024, 3, 15))
    got = [(r["cohort_period"], r["periods_since_acquisition"], r["period_start"],
            r["is_complete_period"], r["cohort_size"], r["active_customers"],
            r["retention_rate"], r["orders"], r["revenue"], r["cumulative_revenue_per_customer"])
           for r in marts["crm__cohort_retention"]]
    jan, feb, mar = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)
    assert got == [
        (jan, 0, jan, True, 2, 2, 1.0, 3, Decimal("45"), Decimal("22.5")),
        (jan, 1, feb, True, 2, 0, 0.0, 0, Decimal("0"), Decimal("22.5")),
        (jan, 2, mar, False, 2, 1, 0.5, 1, Decimal("20"), Decimal("32.5")),
        (feb, 0, feb, True, 1, 1, 1.0, 2, Decimal("40"), Decimal("40")),
        (feb, 1, mar, False, 1, 1, 1.0, 1, Decimal("15"), Decimal("55")),
    ]
    repeat = by_period(marts["crm__repeat_rate"])
    assert (repeat[feb]["customers"], repeat[feb]["orders"], repeat[feb]["repeat_customers"],
            repeat[feb]["returning_customers"]) == (1, 2, 1, 0)
    assert (repeat[mar]["customers"], repeat[mar]["returning_customers"],
            repeat[mar]["returning_customer_rate"]) == (2, 2, 1.0)
    aov = by_period(marts["crm__aov"])
    assert aov[jan]["aov"] == Decimal(15) and aov[feb]["aov"] == Decimal(20)
    assert aov[mar]["new_customer_aov"] is None and aov[mar]["returning_customer_aov"] == 17.5
    revenue = by_period(marts["crm__revenue_retention"])
    # Feb: X and Y had revenue in Jan and none in Feb (churned 45); Z is new (40)
    assert (revenue[feb]["starting_revenue"], revenue[feb]["new_revenue"],
            revenue[feb]["churned_revenue"], revenue[feb]["ending_revenue"]) == (45, 40, 45, 40)
    # Mar: X reactivated (20); Z contracted 40 -> 15 (25)
    assert (revenue[mar]["reactivated_revenue"], revenue[mar]["contraction_revenue"],
            revenue[mar]["expansion_revenue"], revenue[mar]["ending_revenue"]) == (20, 25, 0, 35)
    assert revenue[mar]["gross_revenue_retention"] == pytest.approx(15 / 40)
    assert revenue[mar]["net_revenue_retention"] == pytest.approx(15 / 40)
    assert revenue[mar]["revenue_churn_rate"] == pytest.approx(25 / 40)
    assert revenue[jan]["gross_revenue_retention"] is None


def test_revenue_expansion_and_zero_value_orders():
    rows = [order("1", "A", "2024-01-05", "10"), order("2", "A", "2024-02-05", "25"),
            order("3", "B", "2024-01-05", "10"), order("4", "B", "2024-02-05", "0"),
            order("5", "C", "2024-01-05", "0"), order("6", "C", "2024-02-05", "7")]
    _, marts = build(rows, as_of=date(2024, 2, 29))
    feb = marts["crm__revenue_retention"][1]
    # A expands 10 -> 25; B's zero-value order moves no revenue: churned 10; C reactivates 7
    assert (feb["starting_revenue"], feb["expansion_revenue"], feb["churned_revenue"],
            feb["reactivated_revenue"], feb["new_revenue"], feb["ending_revenue"]) == \
        (20, 15, 10, 7, 0, 32)
    assert feb["net_revenue_retention"] == pytest.approx(25 / 20)


# --------------------------------------------------------------------------------------
# RFM
# --------------------------------------------------------------------------------------

def test_rfm_direction_and_ntile_sizes():
    # seven customers; c0 ordered longest ago, c6 most recently; c6 also orders most and spends most
    rows = []
    for i in range(7):
        for j in range(i + 1):
            rows.append(order(f"c{i}-{j}", f"c{i}", f"2024-01-{10 + i:02d}", str(10 * (i + 1))))
    _, marts = build(rows)
    customers = {r["customer_id"]: r for r in marts["crm__customers"]}
    assert customers["c6"]["days_since_last_order"] == 0
    assert customers["c6"]["recency_score"] == 5
    assert customers["c0"]["recency_score"] == 1
    # ntile(5) over 7 rows: sizes 2, 2, 1, 1, 1
    assert [customers[f"c{i}"]["recency_score"] for i in range(7)] == [1, 1, 2, 2, 3, 4, 5]
    assert [customers[f"c{i}"]["frequency_score"] for i in range(7)] == [1, 1, 2, 2, 3, 4, 5]
    assert [customers[f"c{i}"]["monetary_score"] for i in range(7)] == [1, 1, 2, 2, 3, 4, 5]
    assert customers["c6"]["rfm_score"] == "555"
    assert customers["c6"]["rfm_segment"] == "champions"
    assert customers["c0"]["rfm_segment"] == "lost"


def test_rfm_equal_customers_score_alike():
    rows = [order(f"o{i}", cid, "2024-01-10") for i, cid in enumerate(["b", "a", "d", "c", "e"])]
    _, marts = build(rows)
    customers = {r["customer_id"]: r for r in marts["crm__customers"]}
    # all equal: every boundary is the common value and nobody lies above it
    assert {customers[c]["rfm_score"] for c in "abcde"} == {"111"}


def test_rfm_ties_lie_below_the_boundary():
    # frequencies of ten customers, six of them one-order buyers: quintiles end at the 2nd, 4th,
    # 6th and 8th value (1, 1, 1, 2), so one order scores 1, two 4, three or more 5
    frequency = dict(zip("abcdefghij", [1, 1, 1, 1, 1, 1, 2, 2, 3, 5]))
    recency = {c: 10 for c in frequency}
    scores = ref.rfm_scores(recency, frequency, {c: Decimal(n) for c, n in frequency.items()})
    assert [scores[c][1] for c in "abcdefghij"] == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert [scores[c][2] for c in "abcdefghij"] == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert {scores[c][0] for c in recency} == {1}


def test_rfm_cut_points():
    days = {"a": 0, "b": 30, "c": 31, "d": 365, "e": 366}
    frequency = {"a": 1, "b": 2, "c": 4, "d": 5, "e": 6}
    scores = ref.rfm_scores(days, frequency, {c: Decimal(1) for c in days},
                            {"recency": [30, 90, 180, 365], "frequency": [1, 2, 3, 5]})
    assert [scores[c][0] for c in "abcde"] == [5, 5, 4, 2, 1]
    assert [scores[c][1] for c in "abcde"] == [1, 2, 4, 4, 5]


def test_ntile_matches_sql():
    assert ref.ntile(3) == [1, 2, 3]
    assert ref.ntile(5) == [1, 2, 3, 4, 5]
    assert ref.ntile(12) == [1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5]
    assert ref.ntile(0) == []


@pytest.mark.parametrize("scores, segment", [
    ((5, 5, 5), "champions"), ((4, 4, 4), "champions"),
    ((2, 4, 4), "cant_lose"), ((1, 5, 5), "cant_lose"),
    ((4, 4, 3), "loyal"), ((3, 5, 1), "loyal"),
    ((2, 3, 5), "at_risk"), ((1, 4, 1), "at_risk"),
    ((5, 1, 5), "new"), ((4, 1, 1), "new"),
    ((4, 2, 5), "potential_loyalists"), ((5, 3, 1), "potential_loyalists"),
    ((3, 3, 3), "need_attention"), ((3, 1, 5), "need_attention"),
    ((2, 2, 5), "hibernating"), ((2, 1, 1), "hibernating"),
    ((1, 2, 5), "lost"), ((1, 1, 1), "lost"),
], ids=rfm_id)
def test_rfm_segment_mapping(scores, segment):
    assert ref.rfm_segment(*scores) == segment


def test_rfm_segment_covers_every_score():
    for r in range(1, 6):
        for f in range(1, 6):
            for m in range(1, 6):
                assert ref.rfm_segment(r, f, m)


# --------------------------------------------------------------------------------------
# Lifecycle
# --------------------------------------------------------------------------------------

def test_lifecycle_statuses():
    as_of = date(2024, 12, 31)

    def days_ago(n):
        return (as_of - timedelta(days=n)).isoformat()

    plan = {
        "churned": [100],
        "at_risk_exact": [60],       # days since last order == at_risk_days
        "new_59": [59],
        "new_w_minus_1": [89, 5],    # acquired 89 days ago, one spell
        "active_w": [90, 5],         # acquired 90 days ago: no longer new
        "active_long": [120, 40, 10],
        "reactivated": [200, 10],
        "reactivated_old": [300, 150, 80, 5],  # second spell started 150 days ago
    }
    rows = [order(f"{cid}-{i}", cid, days_ago(n)) for cid, ns in plan.items()
            for i, n in enumerate(ns)]
    rows.append(order("g-1", "guest_cancelled", days_ago(3), status="cancelled"))
    customers_raw = [{"customer_id": "profile_only", "email": " p@example.com "},
                     {"customer_id": "churned", "acquisition_channel": "ads"}]
    _, marts = build(rows, customers_raw, as_of=as_of, churn_window_days=90, at_risk_days=60)
    got = {r["customer_id"]: r for r in marts["crm__customers"]}
    assert {c: got[c]["lifecycle_status"] for c in plan} == {
        "churned": "churned", "at_risk_exact": "at_risk", "new_59": "new",
        "new_w_minus_1": "new", "active_w": "active", "active_long": "active",
        "reactivated": "reactivated", "reactivated_old": "active"}
    assert {c: got[c]["is_active"] for c in plan} == {c: c != "churned" for c in plan}
    assert got["at_risk_exact"]["is_at_risk"] is True
    assert got["new_59"]["is_at_risk"] is False
    for cid in ["guest_cancelled", "profile_only"]:
        row = got[cid]
        assert (row["orders"], row["net_revenue"], row["first_order_date"],
                row["lifecycle_status"], row["rfm_score"], row["is_active"], row["aov"]) == \
            (0, 0, None, None, None, False, None)
    assert got["guest_cancelled"]["has_customer_record"] is False
    assert got["profile_only"]["has_customer_record"] is True
    assert got["profile_only"]["email"] == "p@example.com"
    assert got["churned"]["has_customer_record"] is True
    assert got["reactivated"]["has_customer_record"] is False
    assert got["reactivated"]["days_since_last_order"] == 10
    assert got["reactivated"]["aov"] == Decimal("10.00")
    assert got["reactivated"]["cohort_period"] == date(2024, 6, 1)


# --------------------------------------------------------------------------------------
# NPS
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("score, bucket", [(0, "detractor"), (6, "detractor"), (7, "passive"),
                                           (8, "passive"), (9, "promoter"), (10, "promoter")])
def test_nps_bucket_edges(score, bucket):
    assert ref.nps_bucket(score) == bucket


def test_nps_mart_and_latest_response():
    orders = [order("1", "A", "2024-01-05"), order("2", "A", "2024-02-20")]
    nps = [
        {"response_id": "r1", "customer_id": "A", "responded_at": "2024-01-06", "score": "6"},
        {"response_id": "r2", "customer_id": "A", "responded_at": "2024-01-07", "score": 7},
        {"response_id": "r3", "customer_id": "B", "responded_at": "2024-01-08", "score": "8"},
        {"response_id": "r4", "customer_id": "B", "responded_at": "2024-01-09", "score": "9"},
        {"response_id": "r5", "customer_id": "C", "responded_at": "2024-01-10", "score": " 10 "},
        {"response_id": "r6", "customer_id": "C", "responded_at": "2024-01-11", "score": "0"},
        {"response_id": "r7", "customer_id": "A", "responded_at": "2024-02-10T09:00:00",
         "score": "3"},
        {"response_id": "r8", "customer_id": "A", "responded_at": "2024-02-10T09:00:00",
         "score": "10"},  # same time, higher response_id wins
        {"response_id": "r9", "customer_id": "A", "responded_at": "2024-03-01", "score": "1"},
        {"response_id": "r0", "customer_id": "A", "responded_at": "2023-12-31", "score": "1"},
    ]
    _, marts = build(orders, nps=nps, as_of=date(2024, 2, 20))
    rows = by_period(marts["crm__nps"])
    jan = rows[date(2024, 1, 1)]
    assert (jan["responses"], jan["promoters"], jan["passives"], jan["detractors"]) == (6, 2, 2, 2)
    assert jan["nps"] == 0.0
    feb = rows[date(2024, 2, 1)]
    assert (feb["responses"], feb["promoters"], feb["detractors"], feb["nps"]) == (2, 1, 1, 0.0)
    assert set(rows) == {date(2024, 1, 1), date(2024, 2, 1)}  # 2023-12 and 2024-03 outside
    a = {r["customer_id"]: r for r in marts["crm__customers"]}["A"]
    assert a["latest_nps_score"] == 10
    assert a["latest_nps_responded_at"] == datetime(2024, 2, 10, 9, 0, 0)
    kpi = by_period(marts["crm__kpis"])[date(2024, 1, 1)]
    assert kpi["nps"] == 0.0


def test_nps_scale():
    nps = [{"response_id": str(i), "customer_id": "A", "responded_at": "2024-01-06",
            "score": s} for i, s in enumerate([9, 10, 10, 3])]
    _, marts = build([order("1", "A", "2024-01-05")], nps=nps, as_of=date(2024, 1, 31))
    assert marts["crm__nps"][0]["nps"] == pytest.approx(50.0)
    _, marts = build([order("1", "A", "2024-01-05")], nps=nps)  # as-of = 2024-01-05
    assert marts["crm__nps"][0]["responses"] == 0 and marts["crm__nps"][0]["nps"] is None


# --------------------------------------------------------------------------------------
# CLV and formula CLV
# --------------------------------------------------------------------------------------

def test_clv_acquisition_cost():
    customers = [
        {"customer_id": "p1", "acquisition_channel": " Paid_Search "},
        {"customer_id": "p2", "acquisition_channel": "paid_search"},
        {"customer_id": "p3", "acquisition_channel": "paid_search"},   # Feb cohort, no Feb spend
        {"customer_id": "o1", "acquisition_channel": "organic"},       # no spend at all
        {"customer_id": "n1", "acquisition_channel": None},
    ]
    orders = [order("1", "p1", "2024-01-03", "100"), order("2", "p1", "2024-02-03", "20"),
              order("3", "p2", "2024-01-20", "30"), order("4", "p3", "2024-02-01", "50"),
              order("5", "o1", "2024-01-04", "10"), order("6", "n1", "2024-01-05", "10"),
              order("7", "guest", "2024-01-06", "10")]
    spend = [{"spent_on": "2024-01-01", "channel": "PAID_SEARCH", "amount": "100"},
             {"spent_on": "2024-01-31T23:00:00-02:00", "channel": "paid_search",
              "amount": "999"},  # 2024-02-01 UTC: February spend of a channel not acquiring
             {"spent_on": "2024-01-15", "channel": "paid_search ", "amount": "$50.00"},
             {"spent_on": "2023-12-31", "channel": "paid_search", "amount": "1000"}]
    _, marts = build(orders, customers, spend=spend, as_of=date(2024, 2, 10))
    clv = {r["customer_id"]: r for r in marts["crm__clv"]}
    assert set(clv) == {"p1", "p2", "p3", "o1", "n1", "guest"}
    assert clv["p1"]["historical_clv"] == Decimal("120")
    assert clv["p1"]["acquisition_cost"] == Decimal("75")
    assert clv["p1"]["net_clv"] == Decimal("45")
    assert clv["p2"]["acquisition_cost"] == Decimal("75")
    assert clv["p2"]["net_clv"] == Decimal("-45")
    # p3: February cohort; the only February spend row (999) is the channel's -> 999 / 1
    assert clv["p3"]["acquisition_cost"] == Decimal("999")
    for cid in ["o1", "n1", "guest"]:
        assert clv[cid]["acquisition_cost"] is None and clv[cid]["net_clv"] is None
    assert clv["p1"]["cohort_period"] == date(2024, 1, 1)


def test_formula_clv_hand_worked():
    # four customers acquired 2024-01-01; P and Q order again in March; R and S churn 03-31.
    orders = [order(f"{c}0", c, "2024-01-01") for c in "PQRS"]
    orders += [order("P1", "P", "2024-03-10", "30"), order("Q1", "Q", "2024-03-15", "10")]
    _, marts = build(orders, as_of=date(2024, 4, 30))
    march = by_period(marts["crm__kpis"])[date(2024, 3, 1)]
    assert (march["customers_at_start"], march["customers_at_end"],
            march["churned_customers"]) == (4, 2, 2)
    assert march["churn_rate"] == 0.5
    assert (march["orders"], march["revenue"], march["aov"]) == (2, Decimal(40), Decimal(20))
    # 20 x (2 / ((4 + 2) / 2)) x (1 / 0.5) = 80 / 3
    assert march["formula_clv"] == pytest.approx(Decimal(80) / 3)
    assert march["repeat_customer_rate"] == 0.0 and march["purchase_frequency"] == 1.0
    jan = by_period(marts["crm__kpis"])[date(2024, 1, 1)]
    assert jan["formula_clv"] is None  # S = 0: churn_rate null
    feb = by_period(marts["crm__kpis"])[date(2024, 2, 1)]
    assert feb["formula_clv"] is None  # churn_rate 0 (and no orders)
    assert list(march) == ref.MART_COLUMNS["crm__kpis"]


# --------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------

def test_period_boundaries():
    d = date(2024, 8, 15)  # a Thursday
    assert ref.period_start(d, "day") == d
    assert ref.period_start(d, "week") == date(2024, 8, 12)
    assert ref.period_start(date(2024, 8, 12), "week") == date(2024, 8, 12)
    assert ref.period_start(date(2024, 8, 18), "week") == date(2024, 8, 12)  # Sunday
    assert ref.period_start(d, "month") == date(2024, 8, 1)
    assert ref.period_start(d, "quarter") == date(2024, 7, 1)
    assert ref.period_start(d, "year") == date(2024, 1, 1)
    assert ref.period_end(date(2024, 2, 1), "month") == date(2024, 2, 29)
    assert ref.period_end(date(2024, 10, 1), "quarter") == date(2024, 12, 31)
    assert ref.period_end(date(2024, 8, 12), "week") == date(2024, 8, 18)
    assert ref.period_spine(date(2024, 11, 20), date(2025, 2, 1), "month") == [
        date(2024, 11, 1), date(2024, 12, 1), date(2025, 1, 1), date(2025, 2, 1)]


def test_bad_period_is_an_error_naming_allowed_values():
    cleaned = ref.clean({"orders": []}, today=TODAY, counted_statuses=COUNTED_STATUSES,
                        ignored_statuses=IGNORED_STATUSES)
    with pytest.raises(ValueError, match="day, week, month, quarter, year"):
        ref.compute_marts(cleaned, period="fortnight")


def test_no_counted_orders_gives_empty_period_marts():
    cleaned, marts = build([order("1", "A", "2024-01-01", status="pending")])
    assert marts["crm__retention"] == [] and marts["crm__kpis"] == []
    assert [r["customer_id"] for r in marts["crm__customers"]] == ["A"]


# --------------------------------------------------------------------------------------
# Cleaning: accepted shapes
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("2024-03-05", datetime(2024, 3, 5)),
    (" 2024-03-05 10:11 ", datetime(2024, 3, 5, 10, 11)),
    ("2024-03-05 10:11:12", datetime(2024, 3, 5, 10, 11, 12)),
    ("2024-03-05T10:11:12Z", datetime(2024, 3, 5, 10, 11, 12)),
    ("2024-03-05T10:11:12+02:00", datetime(2024, 3, 5, 8, 11, 12)),
    ("2024-03-05T10:11:12+0200", datetime(2024, 3, 5, 8, 11, 12)),
    ("2024-03-05T10:11:12.5-0130", datetime(2024, 3, 5, 11, 41, 12, 500000)),
    ("2024-03-05 10:11:12.123456", datetime(2024, 3, 5, 10, 11, 12, 123456)),
    ("2025-01-31T23:30:00-05:00", datetime(2025, 2, 1, 4, 30)),
    ("2024-03-05T00:30:00+14:00", datetime(2024, 3, 4, 10, 30)),
    (datetime(2024, 3, 5, 10, 11, 12), datetime(2024, 3, 5, 10, 11, 12)),
    (datetime(2024, 3, 5, 10, 11, 12, tzinfo=timezone(timedelta(hours=2))),
     datetime(2024, 3, 5, 8, 11, 12)),
    (date(2024, 3, 5), datetime(2024, 3, 5)),
], ids=typed_id)
def test_accepted_timestamps(text, expected):
    assert ref.parse_timestamp(text) == expected


@pytest.mark.parametrize("text", [
    "2024-02-30", "2023-02-29", "2024-13-01", "2024-3-5", "05/03/2024", "2024-03-05 24:00",
    "2024-03-05 10:60", "2024-03-05 10:11:60", "2024-03-05T10:11:12+15:00",
    "2024-03-05T10:11:12+14:30", "2024-03-05T10:11:12+02:60", "2024-03-05Z",
    "2024-03-05T10", "2024-03-05T10:11:12.1234567", "yesterday", "", "   ", None,
    "2024-03-05T10:11:12 +02:00", "20240305",
])
def test_rejected_timestamps(text):
    assert ref.parse_timestamp(text) is None


@pytest.mark.parametrize("text, expected", [
    ("12.50", Decimal("12.50")), (" 12.5 ", Decimal("12.5")), ("$1,234.50", Decimal("1234.50")),
    ("€ 1,234.50", Decimal("1234.50")), ("USD 5", Decimal("5")), ("5.25 eur", Decimal("5.25")), ("£7", Decimal("7")), ("1,000,000", Decimal("1000000")),
    ("-5", Decimal("-5")), ("0", Decimal("0")),
    (12.5, Decimal("12.5")), (7, Decimal(7)), (Decimal("3.25"), Decimal("3.25")),
], ids=typed_id)
def test_accepted_amounts(text, expected):
    assert ref.parse_amount(text) == expected


@pytest.mark.parametrize("text", ["12,50", "1,23", "1,2345.00", "12.", ".5", "abc", "", None,
                                  "1e3", "12.5.1", "--5", "€ 1 234.50", "12 50", "1$2$3", "$5 USD", "1,23,456",
                                  "1" * 33, "NaN", "inf", float("nan"), float("inf"), 1e35], ids=typed_id)
def test_rejected_amounts(text):
    assert ref.parse_amount(text) is None


@pytest.mark.parametrize("value, expected", [
    ("9", 9), (9, 9), (" 10 ", 10), ("0", 0), (Decimal("7"), 7), (8.0, 8),
    ("9.5", None), ("11", None), ("-1", None), ("nine", None), (None, None), ("", None),
    (9.5, None), (11, None),
], ids=typed_id)
def test_scores(value, expected):
    assert ref.parse_score(value) == expected


# --------------------------------------------------------------------------------------
# Cleaning: one raw row per rejection reason, and the parsed values of good rows
# --------------------------------------------------------------------------------------

def test_order_cleaning_rules():
    today = date(2025, 2, 1)
    raw = [
        order("  ", "c", "2024-01-01"),                                          # missing_order_id
        order("dup", "c", "2024-01-01", updated_at="2024-01-02"),
        order("dup", "c", "2024-01-01", updated_at="2024-01-01T23:00:00-02:00"),  # 01-02 01:00 UTC
        order("dup", "c", "2024-01-01", updated_at=None),
        order("nocust", "  ", "2024-01-01"),                                     # missing_customer_id
        order("badts", "c", "2024-02-30"),                                       # invalid_timestamp
        order("future", "c", "2025-02-02T00:00:00"),                             # future_timestamp
        order("unknown", "c", "2024-01-01", status="weird"),                     # unknown_status
        order("nostatus", "c", "2024-01-01", status=None),                       # unknown_status
        order("comma", "c", "2024-01-01", "12,50"),                              # invalid_amount
        order("noamount", "c", "2024-01-01", ""),                                # invalid_amount
        order("neg", "c", "2024-01-01", "-1.00"),                                # negative_amount
        order("badref", "c", "2024-01-01", "10", refunded_amount="ten"),
        order("negref", "c", "2024-01-01", "10", refunded_amount="-1"),
        # good rows
        order("good1", "c", "2024-03-05T10:11:12+02:00", "$1,234.50", " Completed "),
        order("good2", "guest", "2025-01-31T23:30:00-05:00", " 12.5 ", "CANCELLED",
              refunded_amount="2.5"),
        order("good3", "c", datetime(2024, 5, 1, 12, 0), Decimal("20.00"), "paid",
              refunded_amount=Decimal("25")),
        order(" good4 ", " c ", "2024-05-02", 5, "shipped", refunded_amount=""),
    ]
    cleaned = ref.clean({"orders": raw, "customers": [{"customer_id": "c"}]}, today=today,
                        counted_statuses=COUNTED_STATUSES, ignored_statuses=IGNORED_STATUSES)
    rejected = [(r.raw_key, r.rejection_reason) for r in cleaned.rejected_for("orders")]
    assert sorted(rejected, key=str) == sorted([
        ("  ", "missing_order_id"),
        ("dup", "duplicate_order_id"), ("dup", "superseded_version"),
        ("nocust", "missing_customer_id"),
        ("badts", "invalid_timestamp"),
        ("future", "future_timestamp"),
        ("unknown", "unknown_status"), ("nostatus", "unknown_status"),
        ("comma", "invalid_amount"), ("noamount", "invalid_amount"),
        ("neg", "negative_amount"),
        ("badref", "invalid_refunded_amount"), ("negref", "invalid_refunded_amount"),
    ], key=str)
    assert len(cleaned.orders) + len(cleaned.rejected_for("orders")) == len(raw)
    staged = {o["order_id"]: o for o in cleaned.orders}
    assert set(staged) == {"dup", "good1", "good2", "good3", "good4"}
    # latest updated_at is compared in UTC, not as text
    assert staged["dup"]["updated_at"] == datetime(2024, 1, 2, 1, 0)
    g1 = staged["good1"]
    assert g1["amount"] == Decimal("1234.50")
    assert g1["ordered_at"] == datetime(2024, 3, 5, 8, 11, 12)
    assert (g1["status"], g1["status_class"], g1["refunded_amount"], g1["net_revenue"],
            g1["has_customer_record"]) == ("completed", "counted", None, Decimal("1234.50"), True)
    g2 = staged["good2"]
    assert g2["ordered_at"] == datetime(2025, 2, 1, 4, 30) and g2["order_date"] == date(2025, 2, 1)
    assert (g2["status"], g2["status_class"], g2["amount"], g2["net_revenue"],
            g2["has_customer_record"]) == ("cancelled", "ignored", Decimal("12.5"),
                                           Decimal("10.0"), False)
    g3 = staged["good3"]
    assert g3["ordered_at"] == datetime(2024, 5, 1, 12, 0) and g3["net_revenue"] == 0
    g4 = staged["good4"]
    assert (g4["customer_id"], g4["amount"], g4["refunded_amount"]) == ("c", Decimal(5), None)
    assert cleaned.rejected_rows[0]["raw_values"].startswith("order_id=  ; customer_id=c; ")


def test_duplicate_order_whose_latest_version_is_bad():
    raw = [order("o1", "c", "2024-01-01", "10", updated_at="2024-01-01"),
           order("o1", "c", "2024-01-01", "-10", updated_at="2024-01-05"),
           order("o2", "c", "2024-01-01", "10", updated_at="not a time"),
           order("o2", "c", "2024-01-02", "20", updated_at=None),  # later ordered_at string
           order("o3", "c", "2024-01-01", "10", status="pending"),
           order("o3", "c", "2024-01-01", "10", status="completed")]  # ties: larger text wins
    cleaned = ref.clean({"orders": raw}, today=TODAY, counted_statuses=COUNTED_STATUSES,
                        ignored_statuses=IGNORED_STATUSES)
    reasons = sorted((r.raw_key, r.rejection_reason) for r in cleaned.rejected)
    assert reasons == [("o1", "negative_amount"), ("o1", "superseded_version"),
                       ("o2", "duplicate_order_id"), ("o3", "duplicate_order_id")]
    staged = {o["order_id"]: o for o in cleaned.orders}
    assert staged["o2"]["amount"] == Decimal("20")
    assert staged["o3"]["status"] == "pending"


def test_customer_cleaning_rules():
    raw = [
        {"customer_id": None, "email": "x"},                                      # missing
        {"customer_id": "d", "email": "old", "updated_at": "2024-01-01"},
        {"customer_id": "d", "email": "new", "updated_at": "2024-02-01"},         # survives
        {"customer_id": "badts", "created_at": "2024-02-30"},
        {"customer_id": "future", "created_at": "2030-01-01"},
        {"customer_id": " ok ", "created_at": "", "acquisition_channel": " Ads ",
         "first_name": "  "},
        {"customer_id": 42, "created_at": "2024-03-05T10:11:12+02:00"},
    ]
    cleaned = ref.clean({"customers": raw}, today=TODAY, counted_statuses=COUNTED_STATUSES,
                        ignored_statuses=IGNORED_STATUSES)
    assert sorted(rejection_reasons(cleaned, "customers").items(), key=str) == sorted([
        (None, "missing_customer_id"), ("d", "superseded_version"),
        ("badts", "invalid_timestamp"), ("future", "future_timestamp")], key=str)
    staged = {c["customer_id"]: c for c in cleaned.customers}
    assert set(staged) == {"d", "ok", "42"}
    assert staged["d"]["email"] == "new"
    assert staged["ok"]["created_at"] is None
    assert staged["ok"]["acquisition_channel"] == "ads" and staged["ok"]["first_name"] is None
    assert staged["42"]["created_at"] == datetime(2024, 3, 5, 8, 11, 12)


def test_nps_cleaning_rules():
    good = {"customer_id": "c", "responded_at": "2024-01-01", "score": "9"}
    raw = [
        {**good, "response_id": ""},                                               # missing
        {**good, "response_id": "d", "responded_at": "2024-01-01", "score": "3"},
        {**good, "response_id": "d", "responded_at": "2024-01-02", "score": "4"},  # survives
        {**good, "response_id": "nocust", "customer_id": None},
        {**good, "response_id": "badts", "responded_at": "2024/01/01"},
        {**good, "response_id": "future", "responded_at": "2030-01-01"},
        {**good, "response_id": "s1", "score": "9.5"},
        {**good, "response_id": "s2", "score": "11"},
        {**good, "response_id": "s3", "score": "-1"},
        {**good, "response_id": "s4", "score": "nine"},
        {**good, "response_id": "s5", "score": None},
        {**good, "response_id": "ok1", "score": "9"},
        {**good, "response_id": "ok2", "score": 9},
    ]
    cleaned = ref.clean({"nps_responses": raw}, today=TODAY, counted_statuses=COUNTED_STATUSES,
                        ignored_statuses=IGNORED_STATUSES)
    assert sorted(rejection_reasons(cleaned, "nps_responses").items()) == sorted({
        "": "missing_response_id", "d": "duplicate_response_id",
        "nocust": "missing_customer_id", "badts": "invalid_timestamp",
        "future": "future_timestamp", "s1": "invalid_score", "s2": "invalid_score",
        "s3": "invalid_score", "s4": "invalid_score", "s5": "invalid_score"}.items())
    staged = {r["response_id"]: r for r in cleaned.nps_responses}
    assert {k: v["score"] for k, v in staged.items()} == {"d": 4, "ok1": 9, "ok2": 9}


def test_marketing_spend_cleaning_rules():
    raw = [
        {"spent_on": "2024-02-30", "channel": "ads", "amount": "1"},
        {"spent_on": "2030-01-01", "channel": "ads", "amount": "1"},
        {"spent_on": "2024-01-01", "channel": " ", "amount": "1"},
        {"spent_on": "2024-01-01", "channel": "ads", "amount": "12,50"},
        {"spent_on": "2024-01-01", "channel": "ads", "amount": "-3"},
        {"spent_on": "2024-01-31T22:00:00-05:00", "channel": "ads", "amount": "$1,000"},
        {"spent_on": date(2024, 1, 2), "channel": "ads", "amount": 5},
        {"spent_on": date(2024, 1, 2), "channel": "ads", "amount": 5},  # same day: two spends
    ]
    cleaned = ref.clean({"marketing_spend": raw}, today=TODAY, counted_statuses=COUNTED_STATUSES,
                        ignored_statuses=IGNORED_STATUSES)
    assert [(r.raw_key, r.rejection_reason) for r in cleaned.rejected] == [
        ("2024-02-30|ads", "invalid_timestamp"), ("2030-01-01|ads", "future_timestamp"),
        ("2024-01-01| ", "missing_channel"), ("2024-01-01|ads", "invalid_amount"),
        ("2024-01-01|ads", "negative_amount")]
    assert [(s["spent_on"], s["channel"], s["amount"]) for s in cleaned.marketing_spend] == [
        (date(2024, 2, 1), "ads", Decimal(1000)), (date(2024, 1, 2), "ads", Decimal(5)),
        (date(2024, 1, 2), "ads", Decimal(5))]


@pytest.mark.parametrize("seed", [1, 2])
def test_nothing_is_lost(seed):
    rng = random.Random(seed)
    shapes = ["2024-01-05", "2024-02-30", "bad", "", None, "2030-01-01", "2024-03-05T10:11:12Z"]
    amounts = ["10", "$1,234.50", "12,50", "-1", "", None, 7]
    raw = {
        "orders": [order(rng.choice(["1", "2", "3", "", None, " 4"]), rng.choice(["a", "", None]),
                         rng.choice(shapes), rng.choice(amounts),
                         rng.choice(["completed", "cancelled", "weird", None]),
                         updated_at=rng.choice(shapes))
                   for _ in range(60)],
        "customers": [{"customer_id": rng.choice(["a", "b", "", None]),
                       "created_at": rng.choice(shapes), "updated_at": rng.choice(shapes)}
                      for _ in range(20)],
        "nps_responses": [{"response_id": rng.choice(["1", "2", None]),
                           "customer_id": rng.choice(["a", None]),
                           "responded_at": rng.choice(shapes),
                           "score": rng.choice(["9", "11", None, 3])} for _ in range(20)],
        "marketing_spend": [{"spent_on": rng.choice(shapes), "channel": rng.choice(["x", ""]),
                             "amount": rng.choice(amounts)} for _ in range(20)],
        "exchange_rates": [{"rate_date": rng.choice(shapes), "currency": rng.choice(["eur", " EUR", "", None]),
                            "rate": rng.choice(amounts + ["0"])} for _ in range(20)],
    }
    cleaned = ref.clean(raw, today=TODAY, counted_statuses=COUNTED_STATUSES, ignored_statuses=IGNORED_STATUSES,
                        reporting_currency="USD")
    for source in ref.SOURCES:
        assert len(cleaned.staged(source)) + len(cleaned.rejected_for(source)) == \
            len(raw[source]), source
    ids = [o["order_id"] for o in cleaned.orders]
    assert len(ids) == len(set(ids))
    marts = ref.compute_marts(cleaned)
    assert len(marts["crm__rejected_rows"]) == len(cleaned.rejected)


# --------------------------------------------------------------------------------------
# Segments: SPEC section 3's worked example split by channel, by hand
# --------------------------------------------------------------------------------------

def test_segments_split_the_worked_example_by_hand():
    # A and B came through " Paid_Search" (staged trimmed and lower-cased); C is a guest.
    customers = [{"customer_id": "A", "acquisition_channel": " Paid_Search"},
                 {"customer_id": "B", "acquisition_channel": "paid_search"}]
    cleaned, _ = build(WORKED_ORDERS, customers, period="month", as_of=date(2024, 6, 1))
    marts = ref.compute_segment_marts(cleaned, ["acquisition_channel"], period="month", as_of=date(2024, 6, 1))
    rows = {(r["segment_value"], r["period_start"]): r for r in marts["crm__retention_by_segment"]}
    expected = {
        # A (spell Jan 10 - Feb 15, churns May 15) and B (Jan 20, churns Apr 19; back Jun 1).
        "paid_search": [(0, 2, 0, 0, 2), (2, 0, 0, 0, 2), (2, 0, 0, 0, 2), (2, 0, 0, 1, 1), (1, 0, 0, 1, 0),
                        (0, 0, 1, 0, 1)],
        # C: new in March, still active on the as-of date.
        "unknown": [(0, 0, 0, 0, 0), (0, 0, 0, 0, 0), (0, 1, 0, 0, 1), (1, 0, 0, 0, 1), (1, 0, 0, 0, 1),
                    (1, 0, 0, 0, 1)],
    }
    assert {value for value, _ in rows} == set(expected)
    for value, counts in expected.items():
        for month, (s, n, r, c, e) in enumerate(counts, start=1):
            row = rows[(value, date(2024, month, 1))]
            assert row["segment_name"] == "acquisition_channel"
            assert (row["customers_at_start"], row["new_customers"], row["reactivated_customers"],
                    row["churned_customers"], row["customers_at_end"]) == (s, n, r, c, e), (value, month)
    cohorts = {(r["segment_value"], r["cohort_period"], r["periods_since_acquisition"]): r
               for r in marts["crm__cohort_retention_by_segment"]}
    # paid_search: one cohort (January, size 2); unknown: one cohort (March, size 1).
    assert {(v, c) for v, c, _ in cohorts} == {("paid_search", date(2024, 1, 1)), ("unknown", date(2024, 3, 1))}
    assert cohorts[("paid_search", date(2024, 1, 1), 1)]["active_customers"] == 1  # A in February
    assert cohorts[("paid_search", date(2024, 1, 1), 5)]["active_customers"] == 1  # B in June
    assert cohorts[("unknown", date(2024, 3, 1), 0)]["cohort_size"] == 1
    kpis = {(r["segment_value"], r["period_start"]): r for r in marts["crm__kpis_by_segment"]}
    assert kpis[("paid_search", date(2024, 1, 1))]["orders"] == 2
    assert kpis[("paid_search", date(2024, 1, 1))]["revenue"] == Decimal("20.00")
    assert kpis[("unknown", date(2024, 1, 1))]["aov"] is None
