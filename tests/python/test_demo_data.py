"""The demo seeds: reproducible from scripts/generate_demo_data.py, big enough, and dirty enough.

These tests read the committed CSVs with plain Python (no dbt), so a change to the generator that
drops a kind of dirt or breaks reproducibility fails here before it reaches a demo build.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from raw_schema import COUNTED_STATUSES, IGNORED_STATUSES, RAW_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "generate_demo_data.py"
DEMO = ROOT / "seeds" / "demo"
END = date(2026, 6, 30)

# The demo's NPS export has no updated_at, an optional contract column (generate_demo_data.py).
COLUMNS = {
    f"raw_{source}": [column for column in columns if not (source == "nps_responses" and column == "updated_at")]
    for source, columns in RAW_COLUMNS.items()
}
CHANNELS = ["organic", "paid_search", "social", "email", "referral"]

# The accepted shapes of docs/definitions.md, restated independently of the SQL.
TIMESTAMP_SHAPE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?([zZ]|[+-]\d{2}:?\d{2})?)?"
)
AMOUNT_SHAPE = re.compile(r"-?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?")
OFFSET_SHAPE = re.compile(r".*T\d{2}:\d{2}:\d{2}[+-]\d{2}:?\d{2}")


def parse_timestamp(text: str):
    """(utc datetime, local date) of an accepted timestamp, or None."""
    match = TIMESTAMP_SHAPE.fullmatch(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        local = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            int((fraction or "0").ljust(6, "0")),
        )
    except ValueError:
        return None
    minutes = 0
    if offset and offset.upper() != "Z":
        digits = offset[1:].replace(":", "")
        minutes = (int(digits[:2]) * 60 + int(digits[2:])) * (1 if offset[0] == "+" else -1)
    return (local - timedelta(minutes=minutes)).replace(tzinfo=timezone.utc), local.date()


def utc(text: str):
    parsed = parse_timestamp(text)
    return parsed[0] if parsed else None


def parse_amount(text: str):
    cleaned = re.sub(r"[$€£ ]", "", text.strip())
    if not AMOUNT_SHAPE.fullmatch(cleaned):
        return None
    return float(cleaned.replace(",", ""))


def read(name: str) -> list[dict]:
    with (DEMO / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def orders():
    return read("raw_orders")


@pytest.fixture(scope="module")
def customers():
    return read("raw_customers")


@pytest.fixture(scope="module")
def nps():
    return read("raw_nps_responses")


@pytest.fixture(scope="module")
def spend():
    return read("raw_marketing_spend")


@pytest.fixture(scope="module")
def counted_days(orders):
    """Counted order days per customer, after a simplified version of staging's cleaning."""
    latest = {}
    for row in orders:
        order_id = row["order_id"].strip()
        if not order_id:
            continue
        key = (utc(row["updated_at"]) or datetime.min.replace(tzinfo=timezone.utc), row["ordered_at"])
        if order_id not in latest or key > latest[order_id][0]:
            latest[order_id] = (key, row)
    days = defaultdict(list)
    for _, row in latest.values():
        at = utc(row["ordered_at"])
        amount = parse_amount(row["amount"])
        if (
            row["customer_id"].strip() and at and at.date() <= END and row["status"].strip().lower() in COUNTED_STATUSES
            and amount is not None and amount >= 0
        ):
            days[row["customer_id"].strip()].append(at.date())
    return {customer: sorted(d) for customer, d in days.items()}


# ---------------------------------------------------------------- reproducibility and shape


def test_generator_reproduces_the_committed_csvs(tmp_path):
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True, cwd=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{name}.csv" for name in COLUMNS)
    for name in COLUMNS:
        assert (tmp_path / f"{name}.csv").read_bytes() == (DEMO / f"{name}.csv").read_bytes(), name


@pytest.mark.parametrize("name", list(COLUMNS))
def test_headers_line_endings_and_field_counts(name):
    data = (DEMO / f"{name}.csv").read_bytes()
    assert b"\r" not in data
    assert data.endswith(b"\n")
    with (DEMO / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == COLUMNS[name]
    assert all(len(row) == len(COLUMNS[name]) for row in rows)


def test_sizes(orders, customers, counted_days):
    assert len({r["customer_id"] for r in customers if r["customer_id"].strip()}) >= 2000
    assert len(orders) >= 15000
    days = sorted(day for d in counted_days.values() for day in d)
    assert days[0] <= date(2024, 1, 31)
    assert days[-1] == END
    assert (days[-1] - days[0]).days >= 730
    assert sum((DEMO / f"{name}.csv").stat().st_size for name in COLUMNS) < 5_000_000


def test_no_valid_order_after_the_end_of_the_data(orders):
    for row in orders:
        at = utc(row["ordered_at"])
        assert at is None or at.date() <= END or at.year == 2099, row


def test_ids_look_like_a_real_export(orders, customers, nps):
    order_ids = [r["order_id"] for r in orders if r["order_id"]]
    assert all(re.fullmatch(r"O\d{7}", i) for i in order_ids)
    # Numbered without gaps, so every id is unique apart from the intended duplicates.
    assert sorted({int(i[1:]) for i in order_ids}) == list(range(1, len(set(order_ids)) + 1))
    # Zero-padded, so string order is numeric order.
    assert all(re.fullmatch(r"C\d{6}", r["customer_id"]) for r in customers if r["customer_id"])
    assert all(re.fullmatch(r"C\d{6}", r["customer_id"].strip()) for r in orders if r["customer_id"].strip())
    assert all(re.fullmatch(r"R\d{5}", r["response_id"]) for r in nps)
    assert all(re.fullmatch(r"[A-Z]{2}", r["country"]) for r in customers if r["country"])


# ---------------------------------------------------------------- the shop's behaviour


def test_customer_behaviour(counted_days):
    buyers = len(counted_days)
    one_off = sum(1 for d in counted_days.values() if len(set(d)) == 1)
    loyal = sum(1 for d in counted_days.values() if len(d) >= 10)
    lapsed_and_back = sum(
        1 for d in counted_days.values() if any((b - a).days > 90 for a, b in zip(d, d[1:]))
    )
    churned = sum(1 for d in counted_days.values() if len(d) >= 2 and d[-1] < END - timedelta(days=180))
    assert one_off / buyers >= 0.3
    assert loyal >= 200
    assert lapsed_and_back >= 200
    assert churned >= 100


def test_seasonality_and_growth(counted_days):
    by_month = Counter(day.strftime("%Y-%m") for d in counted_days.values() for day in d)
    assert by_month["2025-11"] + by_month["2025-12"] > 1.5 * (by_month["2025-09"] + by_month["2025-10"])
    assert by_month["2025-07"] < by_month["2025-06"]
    assert by_month["2024-12"] > 1.5 * by_month["2024-10"]
    firsts = Counter(d[0].year for d in counted_days.values())
    assert firsts[2025] > 1.2 * firsts[2024]
    h1 = Counter(d[0].year for d in counted_days.values() if d[0].month <= 6)
    assert h1[2026] > h1[2025]


def test_amounts_are_typical_with_a_long_tail(orders):
    amounts = sorted(a for a in (parse_amount(r["amount"]) for r in orders) if a is not None and a > 0)
    median = amounts[len(amounts) // 2]
    assert 20 <= median <= 150
    assert sum(1 for a in amounts if 10 <= a <= 400) / len(amounts) >= 0.8
    assert sum(1 for a in amounts if a >= 1000) >= 20


def test_updated_at_present_and_not_before_ordered_at(orders):
    assert sum(1 for r in orders if r["updated_at"]) / len(orders) >= 0.85
    for row in orders:
        ordered, updated = utc(row["ordered_at"]), utc(row["updated_at"])
        if ordered and updated and ordered.year != 2099:
            assert updated >= ordered, row


def test_nps_responses_follow_an_order_of_the_customer(orders, nps):
    order_times = defaultdict(list)
    for row in orders:
        at = utc(row["ordered_at"])
        if at:
            order_times[row["customer_id"].strip()].append(at)
    checked = 0
    for row in nps:
        responded = utc(row["responded_at"])
        if row["customer_id"] and responded and responded.year != 2099:
            assert any(at <= responded for at in order_times[row["customer_id"]]), row
            checked += 1
    assert 2500 <= checked <= 3500


def test_nps_scores_skew_to_promoters(nps):
    scores = [int(r["score"]) for r in nps if re.fullmatch(r"\d{1,2}", r["score"]) and int(r["score"]) <= 10]
    promoters = sum(1 for s in scores if s >= 9) / len(scores)
    detractors = sum(1 for s in scores if s <= 6) / len(scores)
    assert 0.35 <= promoters <= 0.7
    assert detractors < promoters


def test_marketing_spend_covers_the_paid_channels_and_the_whole_span(spend):
    channels = Counter(r["channel"].strip().lower() for r in spend if r["channel"].strip())
    assert sorted(channels) == sorted(c for c in CHANNELS if c != "organic")
    days = sorted(d for d in (parse_timestamp(r["spent_on"]) for r in spend) if d)
    assert days[0][1] == date(2024, 1, 1)
    assert days[-1][1] == END
    assert channels["paid_search"] >= 900  # daily


# ---------------------------------------------------------------- duplicates


def duplicate_groups(rows, key):
    groups = defaultdict(list)
    for row in rows:
        if row[key].strip():
            groups[row[key].strip()].append(row)
    return {k: g for k, g in groups.items() if len(g) > 1}


@pytest.mark.parametrize(
    "table, key, version, share",
    [
        ("raw_orders", "order_id", "updated_at", (0.005, 0.02)),
        ("raw_customers", "customer_id", "updated_at", (0.005, 0.02)),
        ("raw_nps_responses", "response_id", "responded_at", (0.001, 0.01)),
    ],
    ids=["orders", "customers", "nps_responses"],
)
def test_duplicates_are_resolvable(table, key, version, share):
    rows = read(table)
    groups = duplicate_groups(rows, key)
    distinct = len({r[key].strip() for r in rows if r[key].strip()})
    assert share[0] <= len(groups) / distinct <= share[1]
    identical = distinct_versions = 0
    for group in groups.values():
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                same_version = a[version] == b[version] or (
                    utc(a[version]) is not None and utc(a[version]) == utc(b[version])
                )
                # Never two different rows for the same version: the survivor must be clear.
                assert not same_version or a == b, (a, b)
        if all(row == group[0] for row in group):
            identical += 1
        else:
            distinct_versions += 1
    assert identical >= 1
    assert distinct_versions >= 1


def test_order_duplicates_carry_corrections(orders):
    groups = duplicate_groups(orders, "order_id").values()
    assert any(len(g) == 3 for g in groups)
    latest = [(g[0], max(g, key=lambda r: utc(r["updated_at"]))) for g in groups]
    assert any(a["status"] != b["status"] for a, b in latest)
    assert any(a["amount"] != b["amount"] for a, b in latest)
    assert any(a["refunded_amount"] != b["refunded_amount"] for a, b in latest)


# ---------------------------------------------------------------- each kind of dirt


def refunds(rows):
    for row in rows:
        amount, refund = parse_amount(row["amount"]), parse_amount(row["refunded_amount"] or "x")
        if amount is not None and refund is not None:
            yield amount, refund


def is_nonexistent_date(text):
    return bool(TIMESTAMP_SHAPE.fullmatch(text)) and parse_timestamp(text) is None


def is_month_end_evening(text):
    parsed = parse_timestamp(text) if OFFSET_SHAPE.fullmatch(text) else None
    return bool(parsed) and parsed[0].date().day == 1 and parsed[1] == parsed[0].date() - timedelta(days=1)


def crosses_midnight(text):
    parsed = parse_timestamp(text) if OFFSET_SHAPE.fullmatch(text) else None
    return bool(parsed) and parsed[0].date() != parsed[1]


def has_status(status):
    return lambda o, c, n, s: any(r["status"].strip().lower() == status for r in o)


def orders_where(predicate):
    return lambda o, c, n, s: any(predicate(r) for r in o)


DIRT = {
    # orders: statuses
    "status padded and title-cased": orders_where(lambda r: re.fullmatch(r" [A-Z][a-z]+ ", r["status"])),
    "status upper-case": orders_where(
        lambda r: r["status"].strip().lower() in COUNTED_STATUSES and r["status"].isupper()),
    "status with one-sided whitespace": orders_where(
        lambda r: r["status"] != r["status"].strip() and r["status"].strip() == r["status"].strip().lower()
    ),
    **{f"status {s}": has_status(s) for s in COUNTED_STATUSES + IGNORED_STATUSES},
    "status on_hold": has_status("on_hold"),
    "status lost_in_space": has_status("lost_in_space"),
    "status empty": orders_where(lambda r: r["status"] == ""),
    # orders: amounts
    "amount 12.50": orders_where(lambda r: re.fullmatch(r"\d+\.\d{2}", r["amount"])),
    "amount ' 12.5 '": orders_where(lambda r: re.fullmatch(r" \d+(\.\d+)? ", r["amount"])),
    "amount $1,234.50": orders_where(lambda r: re.fullmatch(r"\$\d{1,3}(,\d{3})+\.\d{2}", r["amount"])),
    "amount €45.00": orders_where(lambda r: re.fullmatch(r"€\d+\.\d{2}", r["amount"])),
    "amount £": orders_where(lambda r: r["amount"].startswith("£")),
    "amount 1234.5": orders_where(lambda r: re.fullmatch(r"\d{4,}\.\d", r["amount"])),
    "amount 0.00": orders_where(lambda r: r["amount"] == "0.00" and r["status"].strip().lower() in COUNTED_STATUSES),
    "amount empty": orders_where(lambda r: r["amount"] == ""),
    "amount N/A": orders_where(lambda r: r["amount"] == "N/A"),
    "amount twelve": orders_where(lambda r: r["amount"] == "twelve"),
    "amount 12,50": orders_where(lambda r: re.fullmatch(r"\d+,\d{2}", r["amount"])),
    "amount negative": orders_where(lambda r: re.fullmatch(r"-\d+\.\d{2}", r["amount"])),
    # orders: refunds
    "refund mostly empty": lambda o, c, n, s: sum(1 for r in o if not r["refunded_amount"]) / len(o) >= 0.85,
    "refund partial": lambda o, c, n, s: any(0 < f < a for a, f in refunds(o)),
    "refund full": lambda o, c, n, s: any(0 < f == a for a, f in refunds(o)),
    "refund above amount": lambda o, c, n, s: any(f > a > 0 for a, f in refunds(o)),
    "refund not a number": orders_where(lambda r: r["refunded_amount"] and parse_amount(r["refunded_amount"]) is None),
    "refund negative": orders_where(lambda r: r["refunded_amount"].startswith("-")),
    # orders: currency
    "currency mostly USD": lambda o, c, n, s: sum(1 for r in o if r["currency"] == "USD") / len(o) >= 0.9,
    "currency EUR": orders_where(lambda r: r["currency"] == "EUR"),
    "currency GBP": orders_where(lambda r: r["currency"] == "GBP"),
    # orders: timestamps
    "ordered_at 2024-03-05": orders_where(lambda r: re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["ordered_at"])),
    "ordered_at 2024-03-05 10:11:12": orders_where(lambda r: re.fullmatch(r"\S{10} \d{2}:\d{2}:\d{2}", r["ordered_at"])),
    "ordered_at 2024-03-05 10:11": orders_where(lambda r: re.fullmatch(r"\S{10} \d{2}:\d{2}", r["ordered_at"])),
    "ordered_at ...Z": orders_where(lambda r: re.fullmatch(r"\S{10}T\d{2}:\d{2}:\d{2}Z", r["ordered_at"])),
    "ordered_at ...+02:00": orders_where(lambda r: re.fullmatch(r"\S{10}T\S{8}\+\d{2}:\d{2}", r["ordered_at"])),
    "ordered_at ...-05:00": orders_where(lambda r: re.fullmatch(r"\S{10}T\S{8}-\d{2}:\d{2}", r["ordered_at"])),
    "ordered_at ...-0500": orders_where(lambda r: re.fullmatch(r"\S{10}T\S{8}-\d{4}", r["ordered_at"])),
    "ordered_at ...+0100": orders_where(lambda r: re.fullmatch(r"\S{10}T\S{8}\+\d{4}", r["ordered_at"])),
    "ordered_at ....123456": orders_where(lambda r: re.fullmatch(r"\S{10}T\S{8}\.\d{6}", r["ordered_at"])),
    "ordered_at 2025-01-31T23:30:00-05:00": orders_where(lambda r: r["ordered_at"] == "2025-01-31T23:30:00-05:00"),
    "ordered_at offset crosses midnight": orders_where(lambda r: crosses_midnight(r["ordered_at"])),
    "ordered_at month-end evening is next month in UTC": orders_where(lambda r: is_month_end_evening(r["ordered_at"])),
    "ordered_at local next month, UTC last month": orders_where(
        lambda r: crosses_midnight(r["ordered_at"]) and parse_timestamp(r["ordered_at"])[1].day == 1
        and parse_timestamp(r["ordered_at"])[0].date().day != 1
    ),
    "ordered_at 03/05/2024": orders_where(lambda r: re.fullmatch(r"\d{2}/\d{2}/\d{4}", r["ordered_at"])),
    "ordered_at 2024-13-45": orders_where(lambda r: re.fullmatch(r"\d{4}-13-\d{2}", r["ordered_at"])),
    "ordered_at 2024-02-30 10:00:00": orders_where(lambda r: is_nonexistent_date(r["ordered_at"])),
    "ordered_at yesterday": orders_where(lambda r: r["ordered_at"] == "yesterday"),
    "ordered_at empty": orders_where(lambda r: r["ordered_at"] == ""),
    "ordered_at in 2099": orders_where(lambda r: r["ordered_at"].startswith("2099-")),
    "updated_at empty": orders_where(lambda r: r["updated_at"] == ""),
    # orders: identifiers
    "order_id empty": orders_where(lambda r: r["order_id"] == ""),
    "customer_id empty": orders_where(lambda r: r["customer_id"] == ""),
    "customer_id blank": orders_where(lambda r: r["customer_id"] and not r["customer_id"].strip()),
    "customer_id padded": orders_where(lambda r: r["customer_id"].strip() and r["customer_id"] != r["customer_id"].strip()),
    "guest customers (~3%)": lambda o, c, n, s: 0.015 <= (
        len({r["customer_id"].strip() for r in o if r["customer_id"].strip()} - {r["customer_id"] for r in c})
        / len({r["customer_id"].strip() for r in o if r["customer_id"].strip()} | {r["customer_id"] for r in c if r["customer_id"]})
    ) <= 0.05,
    # customers
    "customers who never order": lambda o, c, n, s: len(
        {r["customer_id"] for r in c if r["customer_id"]} - {r["customer_id"].strip() for r in o}
    ) >= 50,
    "customer_id empty in customers": lambda o, c, n, s: any(r["customer_id"] == "" for r in c),
    **{
        f"acquisition_channel {ch}": (lambda ch: lambda o, c, n, s: any(r["acquisition_channel"] == ch for r in c))(ch)
        for ch in CHANNELS
    },
    "acquisition_channel messy case or whitespace": lambda o, c, n, s: any(
        r["acquisition_channel"].strip().lower() in CHANNELS and r["acquisition_channel"] not in CHANNELS for r in c
    ),
    "created_at in several shapes": lambda o, c, n, s: len({
        re.sub(r"\d", "9", r["created_at"]) for r in c if parse_timestamp(r["created_at"])
    }) >= 4,
    "created_at bad": lambda o, c, n, s: sum(
        1 for r in c if r["created_at"] and parse_timestamp(r["created_at"]) is None
    ) >= 3,
    "created_at in 2099": lambda o, c, n, s: any(r["created_at"].startswith("2099") for r in c),
    "customer updated_at empty": lambda o, c, n, s: any(r["updated_at"] == "" for r in c),
    # nps
    **{
        f"score {bad!r}": (lambda bad: lambda o, c, n, s: any(r["score"] == bad for r in n))(bad)
        for bad in ["11", "-1", "9.5", "ten", ""]
    },
    "nps customer_id empty": lambda o, c, n, s: any(r["customer_id"] == "" for r in n),
    "comment often empty": lambda o, c, n, s: 0.4 <= sum(1 for r in n if not r["comment"]) / len(n) <= 0.9,
    "comment with a comma": lambda o, c, n, s: any("," in r["comment"] for r in n),
    "comment with a quote": lambda o, c, n, s: any('"' in r["comment"] for r in n),
    "comment quoted in the file": lambda o, c, n, s: '""' in (DEMO / "raw_nps_responses.csv").read_text(encoding="utf-8"),
    # marketing spend
    "spend channel empty": lambda o, c, n, s: any(r["channel"] == "" for r in s),
    "spend amount abc": lambda o, c, n, s: any(r["amount"] == "abc" for r in s),
    "spend amount negative": lambda o, c, n, s: any(r["amount"].startswith("-") for r in s),
    "spend bad date": lambda o, c, n, s: any(parse_timestamp(r["spent_on"]) is None for r in s),
    "spend amount 1234.56": lambda o, c, n, s: any(re.fullmatch(r"\d{4}\.\d{2}", r["amount"]) for r in s),
}


@pytest.mark.parametrize("kind", list(DIRT))
def test_dirt_is_present(kind, orders, customers, nps, spend):
    assert DIRT[kind](orders, customers, nps, spend), kind
