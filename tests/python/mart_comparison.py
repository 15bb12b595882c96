"""Compare built marts with the independent reference, row by row and column by column."""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import reference as ref
from raw_schema import COUNTED_STATUSES, IGNORED_STATUSES

ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = ROOT / "seeds" / "demo"

# The columns that identify a row of each mart.
MART_KEYS = {
    "crm__retention": ["period_start"],
    "crm__cohort_retention": ["cohort_period", "periods_since_acquisition"],
    "crm__churn": ["customer_id", "churned_on"],
    "crm__repeat_rate": ["period_start"],
    "crm__aov": ["period_start"],
    "crm__revenue_retention": ["period_start"],
    "crm__nps": ["period_start"],
    "crm__clv": ["customer_id"],
    "crm__customers": ["customer_id"],
    "crm__kpis": ["period_start"],
    "crm__at_risk_customers": ["customer_id"],
    "crm__retention_by_segment": ["period_start", "segment_name", "segment_value"],
    "crm__cohort_retention_by_segment": ["segment_name", "segment_value", "cohort_period",
                                         "periods_since_acquisition"],
    "crm__kpis_by_segment": ["period_start", "segment_name", "segment_value"],
    "crm__order_gaps": ["gap_days"],
}
# The segments the demo builds are compared with (crm_segments).
DEMO_SEGMENTS = ["acquisition_channel", "country"]
TOLERANCE = 1e-9


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def read_demo_raw() -> dict[str, list[dict]]:
    """The demo seeds as raw rows; an empty CSV field is null, as `dbt seed` loads it."""
    raw = {}
    for name in ref.SOURCES:
        with open(DEMO_DIR / f"raw_{name}.csv", newline="", encoding="utf-8") as handle:
            raw[name] = [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(handle)]
    return raw


def expected_marts(raw: dict, *, period: str, as_of: date | None = None, window: int = 90,
                   at_risk: int = 60, segments: list[str] | None = None) -> dict[str, list[dict]]:
    cleaned = ref.clean(raw, today=today_utc(), counted_statuses=COUNTED_STATUSES, ignored_statuses=IGNORED_STATUSES,
                        reporting_currency="USD")
    marts = ref.compute_marts(cleaned, period=period, as_of=as_of, churn_window_days=window, at_risk_days=at_risk)
    if segments:
        marts.update(ref.compute_segment_marts(cleaned, segments, period=period, as_of=as_of,
                                               churn_window_days=window, at_risk_days=at_risk))
    marts["crm__at_risk_customers"] = at_risk_rows(marts["crm__customers"], window)
    marts["crm__order_gaps"] = order_gap_rows(cleaned, as_of, window)
    marts["_cleaned"] = cleaned
    return marts


def order_gap_rows(cleaned, as_of: date | None, window: int) -> list[dict]:
    """The gaps in days between each customer's consecutive counted order days, counted by length."""
    days_by_customer: dict[str, set] = {}
    for order in ref.metric_orders(cleaned, ref.as_of_date(cleaned, as_of)):
        days_by_customer.setdefault(order["customer_id"], set()).add(order["order_date"])
    counts: dict[int, int] = {}
    for days in days_by_customer.values():
        ordered = sorted(days)
        for earlier, later in zip(ordered, ordered[1:]):
            gap = (later - earlier).days
            counts[gap] = counts.get(gap, 0) + 1
    total = sum(counts.values())
    rows, running = [], 0
    for gap in sorted(counts):
        running += counts[gap]
        rows.append({"gap_days": gap, "gaps": counts[gap], "cumulative_gaps": running,
                     "cumulative_share": running / total, "is_reactivation": gap >= window})
    return rows


def at_risk_rows(customers: list[dict], window: int) -> list[dict]:
    """Win-back targets: at-risk customers ranked by net revenue, highest first, then customer_id."""
    at_risk = [c for c in customers if c["lifecycle_status"] == "at_risk"]
    at_risk.sort(key=lambda c: c["customer_id"])
    at_risk.sort(key=lambda c: c["net_revenue"], reverse=True)
    return [
        {
            "value_at_stake_rank": rank,
            "customer_id": c["customer_id"],
            "days_since_last_order": c["days_since_last_order"],
            "days_until_churn": window - c["days_since_last_order"],
            "orders": c["orders"],
            "value_at_stake": c["net_revenue"],
            "rfm_segment": c["rfm_segment"],
        }
        for rank, c in enumerate(at_risk, start=1)
    ]


def values_equal(actual, expected) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return bool(actual) == bool(expected) and isinstance(actual, bool) == isinstance(expected, bool)
    if isinstance(expected, (int, float, Decimal)) and isinstance(actual, (int, float, Decimal)):
        if isinstance(expected, int) and isinstance(actual, int):
            return actual == expected
        return abs(float(actual) - float(expected)) <= TOLERANCE * max(1.0, abs(float(expected)))
    if isinstance(expected, datetime) and isinstance(actual, datetime):
        return actual.replace(tzinfo=None) == expected.replace(tzinfo=None)
    return actual == expected


def compare_rows(name: str, actual: list[dict], expected: list[dict], *, columns: list[str] | None = None,
                 keys: list[str] | None = None) -> list[str]:
    """Differences as readable lines: missing or extra keys, then column values."""
    keys = keys or MART_KEYS[name]
    columns = columns or list(expected[0].keys() if expected else (actual[0].keys() if actual else []))
    by_key_actual = {tuple(r[k] for k in keys): r for r in actual}
    by_key_expected = {tuple(r[k] for k in keys): r for r in expected}
    problems = []
    if len(by_key_actual) != len(actual):
        problems.append(f"{name}: duplicate keys in the built mart")
    for key in sorted(set(by_key_expected) - set(by_key_actual), key=str)[:5]:
        problems.append(f"{name}: row {key} expected but missing")
    for key in sorted(set(by_key_actual) - set(by_key_expected), key=str)[:5]:
        problems.append(f"{name}: row {key} built but not expected")
    for key in sorted(set(by_key_actual) & set(by_key_expected), key=str):
        for column in columns:
            a, e = by_key_actual[key].get(column), by_key_expected[key].get(column)
            if not values_equal(a, e):
                problems.append(f"{name}: row {key} column {column}: built {a!r}, expected {e!r}")
    return problems


def compare_build(build, expected: dict[str, list[dict]], marts: list[str] | None = None) -> list[str]:
    problems = []
    for name in marts or MART_KEYS:
        if name not in expected:
            continue
        columns = list(expected[name][0].keys()) if expected[name] else None
        problems += compare_rows(name, build.table(name), expected[name], columns=columns)
    return problems


def small_dataset(seed: int, *, customers: int = 160, days: int = 800, start: date = date(2023, 1, 2)) -> dict:
    """A small shop with repeat buyers, lapses and returns, refunds and a little dirt."""
    rng = random.Random(seed)
    raw = {"orders": [], "customers": [], "nps_responses": [], "marketing_spend": []}
    channels = ["organic", "paid_search", "social", "Email "]
    order_number = 0
    for c in range(customers):
        customer_id = f"C{c:04d}"
        if rng.random() > 0.05:  # a few guests without a customer row
            raw["customers"].append({
                "customer_id": customer_id,
                "email": f"c{c}@example.com",
                "acquisition_channel": rng.choice(channels),
                "country": rng.choice(["US", "DE", "FR"]),
                "created_at": (start + timedelta(days=rng.randrange(days))).isoformat(),
            })
        day = rng.randrange(days)
        for _ in range(rng.choice([1, 1, 1, 2, 3, 5, 8])):
            if day >= days:
                break
            order_number += 1
            when = datetime(2000, 1, 1) + timedelta(seconds=rng.randrange(86400))
            stamp = f"{(start + timedelta(days=day)).isoformat()}T{when:%H:%M:%S}"
            stamp += rng.choice(["", "Z", "+02:00", "-05:00"])
            amount = Decimal(rng.randrange(500, 30000)) / 100
            refunded = rng.choice([None] * 8 + [str(amount / 2), str(amount), "0"])
            raw["orders"].append({
                "order_id": f"O{order_number:06d}",
                "customer_id": customer_id,
                "ordered_at": stamp,
                "status": rng.choice(["completed", " Shipped", "PAID", "delivered", "placed", "cancelled", "test"]),
                "amount": rng.choice([str(amount), f"${amount:,.2f}", f" {amount} "]),
                "refunded_amount": refunded,
                "currency": "USD",
                "updated_at": stamp,
            })
            if rng.random() < 0.3:
                raw["nps_responses"].append({
                    "response_id": f"R{order_number:06d}",
                    "customer_id": customer_id,
                    "responded_at": (start + timedelta(days=day + 3)).isoformat(),
                    "score": str(rng.choice(list(range(11)) + ["11", "x"])),
                })
            day += rng.choice([1, 10, 30, 60, 89, 90, 91, 120, 200])
    for d in range(0, days, 7):
        for channel in ["paid_search", "social", "email"]:
            raw["marketing_spend"].append({
                "spent_on": (start + timedelta(days=d)).isoformat(),
                "channel": channel,
                "amount": f"{rng.randrange(1000, 90000) / 100:.2f}",
            })
    # dirt: one row of each kind, so staging's rejections flow through the marts' inputs
    raw["orders"] += [
        {"order_id": "O000001", "customer_id": "C0000", "ordered_at": "2023-01-02", "status": "completed",
         "amount": "1", "updated_at": "2000-01-01"},
        {"order_id": None, "customer_id": "C0001", "ordered_at": "2023-02-02", "status": "paid", "amount": "5"},
        {"order_id": "X1", "customer_id": "C0001", "ordered_at": "2023-13-02", "status": "paid", "amount": "5"},
        {"order_id": "X2", "customer_id": "C0001", "ordered_at": "2023-02-02", "status": "lost", "amount": "5"},
        {"order_id": "X3", "customer_id": "C0001", "ordered_at": "2023-02-02", "status": "paid", "amount": "-5"},
        {"order_id": "X4", "customer_id": "C0001", "ordered_at": "2099-02-02", "status": "paid", "amount": "5"},
    ]
    return raw
