#!/usr/bin/env python3
"""Generate the demo raw data: seeds/demo/raw_{orders,customers,nps_responses,marketing_spend,exchange_rates}.csv.

The demo is a simulated online shop (January 2024 to June 2026) exported the way real systems
export: mostly clean rows plus every kind of dirt staging must handle (see docs/definitions.md).

Only the standard library is used, and of `random` only `Random.random()` (the one method whose
sequence Python promises to keep for a given seed) together with plain arithmetic, so the CSVs
are byte-for-byte reproducible across Python versions and platforms. Never iterate over a set or
read the wall clock here, for the same reason.

Usage: python scripts/generate_demo_data.py [--out DIR]   (default: seeds/demo)
"""

from __future__ import annotations

import argparse
import csv
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from raw_schema import COUNTED_STATUSES, RAW_COLUMNS

SEED = 20240101
UTC = timezone.utc
START = date(2024, 1, 1)
END = date(2026, 6, 30)
SPAN_DAYS = (END - START).days
# The moment of the export: every updated_at is before it, every valid order before END ends.
EXPORTED_AT = datetime(2026, 7, 1, 6, 0, 0, tzinfo=UTC)
LAST_ORDER_AT = datetime(END.year, END.month, END.day, 23, 59, 59, tzinfo=UTC)

CUSTOMERS_TOTAL = 2480  # registered and guest customers together
GUEST_SHARE = 0.03
LOYAL_GAP = (2, 16)
LAPSER_GAP = (4, 26)

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "seeds" / "demo"

# The header of each seed file: the raw columns of its source (scripts/raw_schema.py).
# The demo's survey tool exports no updated_at for NPS responses (an optional column of the
# contract), so that seed has every contract column but that one.
DEMO_OMITTED_COLUMNS = {"nps_responses": {"updated_at"}}
COLUMNS = {
    f"raw_{source}": [column for column in columns if column not in DEMO_OMITTED_COLUMNS.get(source, set())]
    for source, columns in RAW_COLUMNS.items()
}

# Shop seasonality: a summer dip and the November/December peak.
MONTH_FACTOR = {1: 0.85, 2: 0.8, 3: 0.9, 4: 0.95, 5: 0.95, 6: 0.85, 7: 0.7, 8: 0.75, 9: 0.95, 10: 1.0, 11: 1.45, 12: 1.6}
MAX_MONTH_FACTOR = 1.6
BLACK_FRIDAYS = {2024: date(2024, 11, 29), 2025: date(2025, 11, 28)}

# Mostly US shoppers, so UTC hours peak in the American evening.
UTC_HOUR_WEIGHTS = [6, 5, 4, 3, 2, 1.5, 1, 1, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 5.5, 5, 5, 5.5, 6, 6]

COUNTRIES = [
    ("US", 62), ("CA", 8), ("GB", 8), ("DE", 5), ("FR", 4), ("AU", 4), ("NL", 3), ("ES", 2), ("IT", 2),
    ("SE", 1), ("IE", 1),
]
EURO_COUNTRIES = ("DE", "FR", "NL", "ES", "IT", "IE")

FIRST_NAMES = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Sandra", "Mark", "Ashley", "Steven", "Emily",
    "Andrew", "Michelle", "Joshua", "Amanda", "Kevin", "Melissa", "Brian", "Stephanie", "Luis", "Sofia",
    "Carlos", "Lucia", "Wei", "Mei", "Hiroshi", "Yuki", "Arjun", "Priya", "Omar", "Fatima",
    "Lukas", "Anna", "Jonas", "Emma", "Pierre", "Chloe", "Liam", "Olivia", "Noah", "Ava",
    "Oliver", "Isla", "Jack", "Grace", "Mateo", "Valentina", "Erik", "Astrid", "Sean", "Aoife",
]
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Chen", "Wang", "Tanaka", "Sato", "Patel", "Sharma", "Khan", "Ali", "Muller", "Schmidt",
    "Schneider", "Fischer", "Dubois", "Moreau", "Murphy", "Kelly", "O'Brien", "Walsh", "Jansen", "de Vries",
    "Rossi", "Bianchi", "Johansson", "Andersson", "Fernandez", "Ruiz", "Campbell", "Stewart", "Evans", "Hughes",
]
EMAIL_DOMAINS = ["example.com", "example.net", "example.org", "mail.example.com", "inbox.example.net"]

CHANNELS = ["organic", "paid_search", "social", "email", "referral"]
PAID_CHANNELS = ["paid_search", "social", "email", "referral"]

# An order's status weights by how long before the export it was placed: recent orders are still
# moving through fulfilment.
SETTLED_STATUS_WEIGHTS = [
    ("completed", 40), ("delivered", 22), ("shipped", 10), ("paid", 6), ("placed", 3), ("cancelled", 3),
    ("canceled", 1.2), ("returned", 1.5), ("refunded", 1.2), ("pending", 0.6), ("draft", 0.4),
]
RECENT_STATUS_WEIGHTS = [
    ("placed", 20), ("paid", 20), ("shipped", 25), ("pending", 6), ("completed", 15), ("delivered", 10),
    ("cancelled", 2), ("draft", 1),
]

# Order totals in dollars: most between 10 and 400, with a long tail of large baskets.
AMOUNT_BANDS = [
    (5, 10, 4), (10, 25, 16), (25, 50, 24), (50, 100, 24), (100, 200, 17), (200, 400, 9), (400, 800, 3.5),
    (800, 1500, 1.6), (1500, 4000, 0.5),
]

NPS_COMMENTS = {
    "promoter": [
        "Great quality, fast shipping", "Love it!", "Best shop I know", "Always reliable",
        "Fast delivery and friendly support", "Exactly as described", "Will order again",
        'The "gift wrap" option is lovely', "Très bien, merci", "Five stars, no notes",
        "Great prices, great service", "My go-to store",
    ],
    "passive": [
        "Good but a bit pricey", "Delivery took a while", "OK", "Fine, nothing special",
        "Packaging could be better, but fine.", "Decent selection",
        'Website says "in stock" too often when it is not', "Would like more sizes",
    ],
    "detractor": [
        "Item arrived damaged", "Late delivery, no updates", "Refund took 3 weeks",
        'The "express" option was not express', "Wrong size sent, twice", "Support never answered",
        "Too expensive, found it cheaper elsewhere", "Cancelled my order without telling me",
    ],
}


class Dice:
    """Random draws built only on Random.random(), whose sequence is stable across versions."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def u(self) -> float:
        return self._random.random()

    def chance(self, p: float) -> bool:
        return self.u() < p

    def int(self, lo: int, hi: int) -> int:
        return lo + min(int(self.u() * (hi - lo + 1)), hi - lo)

    def pick(self, seq):
        return seq[self.int(0, len(seq) - 1)]

    def weighted(self, pairs):
        total = 0.0
        for _, weight in pairs:
            total += weight
        x = self.u() * total
        for value, weight in pairs:
            x -= weight
            if x < 0:
                return value
        return pairs[-1][0]

    def tri(self, lo: float, hi: float) -> float:
        """Triangular on [lo, hi]: gaps cluster around the middle instead of spreading flat."""
        return lo + (hi - lo) * (self.u() + self.u()) / 2

    def shuffle(self, items: list) -> list:
        for i in range(len(items) - 1, 0, -1):
            j = self.int(0, i)
            items[i], items[j] = items[j], items[i]
        return items

    def take(self, pool: list, n: int, where=lambda _: True) -> list:
        """Remove and return n items of pool that satisfy where (pool is pre-shuffled)."""
        taken = []
        i = 0
        while len(taken) < n and i < len(pool):
            if where(pool[i]):
                taken.append(pool.pop(i))
            else:
                i += 1
        if len(taken) < n:
            raise RuntimeError(f"not enough candidates: wanted {n}, found {len(taken)}")
        return taken


# ---------------------------------------------------------------- formatting


def utc_offset_minutes(country: str, when: datetime) -> int:
    """Rough local offset of a shopper, with summer time, so offsets look like real clients'."""
    summer = 4 <= when.month <= 10
    if country in ("US", "CA"):
        zone = {"US": [-5, -5, -6, -7, -8], "CA": [-5, -5, -6, -8, -4]}[country][when.toordinal() % 5]
        return (zone + (1 if summer else 0)) * 60
    if country in ("GB", "IE"):
        return 60 if summer else 0
    if country == "AU":
        return (10 if summer else 11) * 60
    return (2 if summer else 1) * 60


def fmt_offset(minutes: int, colon: bool) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}" if colon else f"{sign}{hours:02d}{mins:02d}"


def render_timestamp(when: datetime, shape: str, offset_minutes: int = 0) -> str:
    """when is a UTC instant; shapes without an offset are written in UTC."""
    if shape == "date":
        return f"{when:%Y-%m-%d}"
    if shape == "space":
        return f"{when:%Y-%m-%d %H:%M:%S}"
    if shape == "minutes":
        return f"{when:%Y-%m-%d %H:%M}"
    if shape == "z":
        return f"{when:%Y-%m-%dT%H:%M:%S}Z"
    if shape == "micro":
        return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond:06d}"
    if shape in ("offset", "offset_compact"):
        local = when + timedelta(minutes=offset_minutes)
        return f"{local:%Y-%m-%dT%H:%M:%S}" + fmt_offset(offset_minutes, colon=shape == "offset")
    raise ValueError(shape)


def fmt_cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def fmt_cents_minimal(cents: int) -> str:
    """1234.50 -> '1234.5', 12.00 -> '12': how spreadsheets re-save numbers."""
    text = fmt_cents(cents)
    return text.rstrip("0").rstrip(".")


def fmt_cents_grouped(cents: int) -> str:
    whole, frac = divmod(cents, 100)
    return f"{whole:,}.{frac:02d}"


def future_typo(when: datetime) -> datetime:
    """The same moment typed with a year of 2099."""
    day = 28 if (when.month, when.day) == (2, 29) else when.day
    return when.replace(year=2099, day=day)


# ---------------------------------------------------------------- simulation


@dataclass(eq=False)
class Customer:
    number: int
    signup: datetime
    kind: str = ""
    is_guest: bool = False
    country: str = "US"
    channel: str = "organic"
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    spend: float = 1.0
    channel_text: str = ""
    orders: list = field(default_factory=list)

    @property
    def customer_id(self) -> str:
        return f"C{self.number:06d}"


@dataclass(eq=False)
class Order:
    at: datetime
    customer: Customer
    origin: str  # regular | holiday | test | failed_attempt
    status: str = ""
    cents: int = 0
    refund_cents: int | None = None
    currency: str = "USD"
    shape: str = "space"
    updated_at: datetime | None = None
    updated_shape: str = "space"
    forced_offset: int | None = None
    amount_text: str = ""
    dirt: str | None = None
    # Rendered raw versions of the row (more than one for duplicated order ids).
    rows: list = field(default_factory=list)
    order_id: str = ""


def season(day: date) -> float:
    return MONTH_FACTOR[day.month]


def growth(day: date) -> float:
    return 0.7 + 1.3 * (day - START).days / SPAN_DAYS


def draw_time(dice: Dice, day: date) -> datetime:
    hour = dice.weighted(list(enumerate(UTC_HOUR_WEIGHTS)))
    return datetime(day.year, day.month, day.day, hour, dice.int(0, 59), dice.int(0, 59), dice.int(0, 999999), tzinfo=UTC)


def draw_signups(dice: Dice) -> list[datetime]:
    """Signup moments with acquisition growing over time and following the seasons."""
    bound = growth(END) * MAX_MONTH_FACTOR
    moments = []
    while len(moments) < CUSTOMERS_TOTAL:
        day = START + timedelta(days=dice.int(0, SPAN_DAYS))
        # Black Friday week brings its own burst of new shoppers.
        boost = 1.8 if day.month == 11 and 0 <= (day - BLACK_FRIDAYS.get(day.year, day)).days <= 3 else 1.0
        if dice.u() * bound * 1.8 < growth(day) * season(day) * boost:
            moments.append(draw_time(dice, day))
    return sorted(moments)


def make_customers(dice: Dice) -> list[Customer]:
    signups = draw_signups(dice)
    customers = []
    used_emails = set()
    for number, signup in enumerate(signups, start=1):
        customer = Customer(number=number, signup=signup)
        customer.is_guest = number > 1 and dice.chance(GUEST_SHARE)
        customer.country = dice.weighted(COUNTRIES)
        t = (signup.date() - START).days / SPAN_DAYS
        # Paid channels gain share as the shop scales its marketing.
        customer.channel = dice.weighted([
            ("organic", 40 - 10 * t), ("paid_search", 20 + 10 * t), ("social", 14 + 8 * t), ("email", 10),
            ("referral", 12),
        ])
        holiday = signup.month in (11, 12)
        paid = customer.channel in ("paid_search", "social")
        if customer.is_guest:
            customer.kind = dice.weighted([("one_off", 75), ("occasional", 25)])
        else:
            customer.kind = dice.weighted([
                ("one_off", 30 + (15 if holiday else 0) + (8 if paid else 0)), ("occasional", 20), ("loyal", 26),
                ("lapser", 18), ("never", 8),
            ])
        customer.spend = 0.6 + 0.9 * dice.tri(0, 1)
        customer.first_name = dice.pick(FIRST_NAMES)
        customer.last_name = dice.pick(LAST_NAMES)
        first = customer.first_name.lower()
        last = customer.last_name.lower().replace("'", "").replace(" ", "")
        local = dice.weighted([
            (f"{first}.{last}", 5), (f"{first[0]}{last}", 3), (f"{first}{last}{dice.int(1, 99)}", 2),
            (f"{first}_{last}", 1),
        ])
        email = f"{local}@{dice.pick(EMAIL_DOMAINS)}"
        if email in used_emails:
            email = f"{local}{number}@{dice.pick(EMAIL_DOMAINS)}"
        used_emails.add(email)
        customer.email = email
        customers.append(customer)
    # The shop's own QA account places test orders all along.
    staff = customers[0]
    staff.kind, staff.country, staff.channel = "staff", "US", "organic"
    staff.first_name, staff.last_name, staff.email = "QA", "Team", "qa.team@shop.example.com"
    return customers


def gaps(dice: Dice, lo: float, hi: float):
    """A source of gaps (in days) between two orders of a customer."""
    return lambda: dice.tri(lo, hi)


def next_day(dice: Dice, last: date, draw_gap, retry_gap=None) -> date:
    """The next order day after a gap; a purchase that falls in a slow month is often skipped,
    which is what gives the calendar its summer dip and winter peak."""
    day = last + timedelta(days=max(1, int(draw_gap())))
    while not dice.chance(season(day) / MAX_MONTH_FACTOR):
        day += timedelta(days=max(1, int((retry_gap or draw_gap)())))
    return day


def schedule_orders(dice: Dice, customer: Customer) -> list[date]:
    """Order days of one customer, by behaviour: one-off, occasional, loyal, lapsing."""
    if customer.kind in ("never", "staff"):
        return []
    first = customer.signup.date() + timedelta(days=dice.weighted([
        (0, 65), (dice.int(1, 14), 25), (dice.int(15, 60), 10),
    ]))
    days = [first]
    if customer.kind == "one_off":
        return days
    if customer.kind == "occasional":
        for _ in range(dice.weighted([(1, 30), (2, 30), (3, 20), (4, 12), (5, 8)])):
            days.append(next_day(dice, days[-1], gaps(dice, 15, 100)))
    elif customer.kind == "loyal":
        stop = END if dice.chance(0.7) else first + timedelta(days=int(dice.tri(150, 700)))
        regular = gaps(dice, *LOYAL_GAP)
        while days[-1] <= stop:
            if dice.chance(0.04):
                days.append(next_day(dice, days[-1], gaps(dice, 95, 200), regular))
            else:
                days.append(next_day(dice, days[-1], regular))
        days.pop()
    elif customer.kind == "lapser":
        active = gaps(dice, *LAPSER_GAP)
        while days[-1] <= END:
            for _ in range(dice.int(2, 8)):
                days.append(next_day(dice, days[-1], active))
            if dice.chance(0.25):
                break
            # The lapse: longer than the 90-day churn window, then a comeback.
            days.append(next_day(dice, days[-1], gaps(dice, 100, 300), active))
    return [day for day in days if day <= END]


def add_holiday_orders(dice: Dice, customer: Customer, days: list[date]) -> list[date]:
    """Existing shoppers come back for Black Friday and Christmas."""
    extra = []
    for year, black_friday in BLACK_FRIDAYS.items():
        recent = [d for d in days if date(year, 6, 1) <= d < date(year, 11, 15)]
        if not recent or days[0] >= date(year, 11, 15):
            continue
        if dice.chance(0.5 if customer.kind == "loyal" else 0.3):
            offset = dice.weighted([(dice.int(-3, 0), 2), (dice.int(0, 3), 5), (dice.int(4, 25), 4)])
            extra.append(black_friday + timedelta(days=offset))
    return extra


def make_orders(dice: Dice, customers: list[Customer]) -> list[Order]:
    orders = []
    for customer in customers:
        if customer.kind == "staff":
            day = START + timedelta(days=dice.int(5, 30))
            while day <= END:
                orders.append(Order(at=draw_time(dice, day), customer=customer, origin="test"))
                day += timedelta(days=dice.int(20, 80))
            continue
        days = schedule_orders(dice, customer)
        holiday = add_holiday_orders(dice, customer, days)
        for day in days:
            at = draw_time(dice, day)
            if day == customer.signup.date():
                # Checkout right after creating the account.
                at = customer.signup + timedelta(minutes=dice.int(2, 90))
            orders.append(Order(at=min(at, LAST_ORDER_AT), customer=customer, origin="regular"))
        for day in holiday:
            orders.append(Order(at=draw_time(dice, day), customer=customer, origin="holiday"))
    return orders


# ---------------------------------------------------------------- orders: values and dirt


def draw_status(dice: Dice, order: Order) -> str:
    if order.origin == "test":
        return "test"
    if order.origin == "failed_attempt":
        return "failed"
    age = (EXPORTED_AT - order.at).days
    return dice.weighted(RECENT_STATUS_WEIGHTS if age < 14 else SETTLED_STATUS_WEIGHTS)


def draw_cents(dice: Dice, customer: Customer, holiday: bool) -> int:
    lo, hi = dice.weighted([((lo, hi), w) for lo, hi, w in AMOUNT_BANDS])
    dollars = (lo + (hi - lo) * dice.u()) * customer.spend * (1.15 if holiday else 1.0)
    cents = int(dollars * 100)
    ending = dice.weighted([(99, 3), (0, 2), (None, 5)])
    if ending is not None:
        cents = cents - cents % 100 + ending
    return max(cents, 100)


def draw_refund(dice: Dice, order: Order) -> int | None:
    if order.status in ("returned", "refunded"):
        return order.cents if dice.chance(0.85) else int(order.cents * dice.tri(0.2, 0.8))
    if order.status in ("cancelled", "canceled"):
        # Cancelled after payment: the money went back.
        return order.cents if dice.chance(0.2) else None
    if order.status in ("completed", "delivered", "shipped"):
        roll = dice.u()
        if roll < 0.03:
            return int(order.cents * dice.tri(0.1, 0.6))
        if roll < 0.04:
            return order.cents  # refunded in full, status never updated
        if roll < 0.05:
            return 0  # the shop system writes 0.00 once a refund request has been declined
    return None


def draw_updated_at(dice: Dice, order: Order) -> datetime:
    hours = {
        "completed": dice.tri(1, 72), "delivered": dice.tri(48, 240), "shipped": dice.tri(12, 96),
        "returned": dice.tri(240, 900), "refunded": dice.tri(120, 700),
    }.get(order.status, dice.tri(0.05, 6))
    moment = order.at + timedelta(seconds=60 + int(hours * 3600))
    return min(moment, EXPORTED_AT - timedelta(minutes=dice.int(1, 300)))


def messy_status(dice: Dice, status: str) -> str:
    return dice.pick([
        f" {status.title()} ", status.upper(), status.title(), f"{status} ", f" {status}", f"{status.upper()} ",
    ])


def render_amount(dice: Dice, order: Order) -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}[order.currency]
    symbol_share = 0.5 if order.currency != "USD" or order.cents >= 100000 else 0.04
    roll = dice.u()
    if roll < symbol_share:
        return f"{symbol}{fmt_cents_grouped(order.cents)}"
    roll = dice.u()
    if roll < 0.05:
        return f" {fmt_cents_minimal(order.cents)} "
    if roll < 0.11:
        return fmt_cents_minimal(order.cents)
    return fmt_cents(order.cents)


def draw_shape(dice: Dice) -> str:
    return dice.weighted([
        ("space", 38), ("z", 22), ("offset", 14), ("offset_compact", 6), ("micro", 10), ("date", 6), ("minutes", 4),
    ])


def order_row(order: Order, **changes) -> list[str]:
    at = order.at
    offset = order.forced_offset if order.forced_offset is not None else utc_offset_minutes(order.customer.country, at)
    values = {
        "order_id": order.order_id,
        "customer_id": order.customer.customer_id,
        "ordered_at": render_timestamp(at, order.shape, offset),
        "status": order.status,
        "amount": order.amount_text,
        "refunded_amount": "" if order.refund_cents is None else fmt_cents(order.refund_cents),
        "currency": order.currency,
        "updated_at": "" if order.updated_at is None else render_timestamp(order.updated_at, order.updated_shape),
    }
    values.update(changes)
    return [values[c] for c in COLUMNS["raw_orders"]]


def fill_order_values(dice: Dice, orders: list[Order]) -> list[Order]:
    # A payment that failed and was retried minutes later is two orders.
    retries = []
    for order in orders:
        if order.origin == "regular" and dice.chance(0.015):
            attempt_at = order.at - timedelta(minutes=dice.int(2, 15))
            retries.append(Order(at=attempt_at, customer=order.customer, origin="failed_attempt"))
    orders = sorted(orders + retries, key=lambda o: (o.at, o.customer.number, o.origin))
    retry_cents = {}
    for order in orders:
        order.status = draw_status(dice, order)
        # The storefront charges in dollars; only the local-currency checkout pilot shows up here.
        if order.customer.country == "GB" and dice.chance(0.2):
            order.currency = "GBP"
        elif order.customer.country in EURO_COUNTRIES and dice.chance(0.15):
            order.currency = "EUR"
        if order.origin == "test":
            order.cents = dice.pick([0, 100, 1])
        else:
            key = (order.customer.number, order.at.date())
            order.cents = retry_cents.get(key) or draw_cents(dice, order.customer, order.origin == "holiday")
            if order.origin == "failed_attempt":
                retry_cents[key] = order.cents
        order.refund_cents = draw_refund(dice, order)
        order.amount_text = render_amount(dice, order)
        if dice.chance(0.04):
            order.status = messy_status(dice, order.status)
        elif order.origin == "test" and dice.chance(0.3):
            order.status = "TEST"
        order.shape = draw_shape(dice)
        order.updated_shape = dice.weighted([("space", 80), ("z", 15), ("micro", 5)])
        order.updated_at = None if dice.chance(0.07) else draw_updated_at(dice, order)
    return orders


def force_midnight_crossings(dice: Dice, orders: list[Order]) -> list[Order]:
    """Orders whose local date differs from their UTC date, some of them across a month end."""
    chosen = []
    american = [o for o in orders if o.origin == "regular" and o.customer.country == "US"]
    # The documented example: 23:30 in New York on 31 January is 1 February in UTC.
    example = min(american, key=lambda o: abs((o.at - datetime(2025, 2, 1, 4, 30, tzinfo=UTC)).total_seconds()))
    example.at, example.shape, example.forced_offset = datetime(2025, 2, 1, 4, 30, tzinfo=UTC), "offset", -300
    chosen.append(example)
    # Late-evening American orders on a month's last day fall on the 1st in UTC.
    candidates = [o for o in american if o.at.day == 1 and o.at.date() > START and o not in chosen]
    for order in dice.shuffle(candidates)[:10]:
        order.at = order.at.replace(hour=dice.int(0, 3), minute=dice.int(0, 59))
        order.shape = dice.pick(["offset", "offset_compact"])
        chosen.append(order)
    # Early-morning European and Australian orders on the 1st are still last month in UTC.
    eastern = [o for o in orders if o.origin == "regular" and o.customer.country in ("DE", "FR", "AU")]
    candidates = [o for o in eastern if o.at.day == monthrange_last(o.at) and o not in chosen]
    for order in dice.shuffle(candidates)[:6]:
        order.at = order.at.replace(hour=23, minute=dice.int(0, 59))
        order.shape = "offset"
        chosen.append(order)
    for order in chosen:
        if order.updated_at is not None and order.updated_at < order.at:
            order.updated_at = order.at.replace(microsecond=0) + timedelta(hours=2)
    return chosen


def monthrange_last(when: datetime) -> int:
    following = date(when.year + (when.month == 12), when.month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def make_duplicates(dice: Dice, order: Order, variant: str) -> None:
    """Give an order earlier versions: re-exports (identical) or states it went through."""
    base_updated = order.updated_at
    final = order_row(order)
    if variant == "identical":
        order.rows = [final] * dice.weighted([(2, 9), (3, 1)])
        return
    early = order.at.replace(microsecond=0) + timedelta(minutes=dice.int(1, 30))
    if base_updated <= early + timedelta(hours=1):
        base_updated = early + timedelta(hours=dice.int(2, 20))
        order.updated_at = base_updated
        final = order_row(order)
    # An earlier version shows a state the order passed through before its final one.
    first_status = dice.pick({
        "placed": ["pending", "draft"], "paid": ["placed", "pending"],
    }.get(order.status, ["placed", "pending", "paid"]))
    middle_status = "paid" if order.status == "shipped" else "shipped"

    def stamp(when):
        return render_timestamp(when, order.updated_shape)

    if variant == "progression":
        if dice.chance(0.25):
            middle = early + (base_updated - early) / 2
            order.rows = [
                order_row(order, status=first_status, updated_at=stamp(early)),
                order_row(order, status=middle_status, updated_at=stamp(middle.replace(microsecond=0))),
                final,
            ]
        else:
            order.rows = [order_row(order, status=first_status, updated_at=stamp(early)), final]
    elif variant == "corrected_amount":
        wrong = order.cents + dice.pick([1000, 500, -int(order.cents * 0.1), order.cents * 9])
        order.rows = [order_row(order, amount=fmt_cents(max(wrong, 100)), updated_at=stamp(early)), final]
    elif variant == "reexport_then_update":
        earlier = order_row(order, status=first_status, updated_at=stamp(early))
        order.rows = [earlier, earlier, final]
    else:
        raise ValueError(variant)


def make_refund_version(dice: Dice, order: Order) -> None:
    """A settled order refunded weeks later: the later row is the truth."""
    order.updated_at = order.at.replace(microsecond=0) + timedelta(hours=dice.int(2, 48))
    settled = order_row(order, refunded_amount="")
    refunded_at = order.updated_at + timedelta(days=dice.int(5, 40), minutes=dice.int(0, 600))
    stamp = render_timestamp(refunded_at, order.updated_shape)
    if dice.chance(0.5):
        later = order_row(order, status="refunded", refunded_amount=fmt_cents(order.cents), updated_at=stamp)
    else:
        partial = int(order.cents * dice.tri(0.1, 0.5))
        later = order_row(order, refunded_amount=fmt_cents(partial), updated_at=stamp)
    order.rows = [settled, later]


def inject_order_dirt(dice: Dice, orders: list[Order], protected: list[Order]) -> dict[str, int]:
    """Duplicates and broken values, each on its own rows; returns how many of each."""
    is_protected = {id(o) for o in protected}
    pool = dice.shuffle([o for o in orders if id(o) not in is_protected and o.origin != "test"])
    counts = {}

    def take(n, where=lambda _: True):
        return dice.take(pool, n, where)

    def settled(order):
        # Old enough for every later version (a refund weeks later) to predate the export.
        return order.at < datetime(2026, 4, 1, tzinfo=UTC)

    def plain_counted(order):
        return settled(order) and order.status in ("completed", "delivered", "shipped") and order.refund_cents is None

    # Dirt that keeps the row's order_id goes first, so the ids are known when rows render.
    dirt = {}
    for kind, n in [
        ("missing_customer_id", 5), ("blank_customer_id", 1), ("padded_customer_id", 3),
        ("us_date", 4), ("month_13", 3), ("nonexistent_date", 4), ("yesterday", 2), ("empty_ordered_at", 3),
        ("future_2099", 4), ("status_on_hold", 6), ("status_lost_in_space", 2), ("status_empty", 3),
        ("amount_empty", 6), ("amount_na", 4), ("amount_twelve", 2), ("amount_comma_decimal", 5),
        ("amount_negative", 5), ("amount_zero", 5), ("refund_above_amount", 4), ("refund_na", 2),
        ("refund_negative", 1), ("missing_order_id", 5),
    ]:
        where = plain_counted if kind.startswith(("refund", "amount_zero")) else (lambda _: True)
        for order in take(n, where):
            dirt[id(order)] = kind
        counts[kind] = n

    n_groups = round(len(orders) * 0.0105)
    variants = [
        ("identical", 35), ("progression", 40), ("refund", 12), ("corrected_amount", 8), ("reexport_then_update", 5),
    ]
    duplicated = []
    for order in take(n_groups, lambda o: o.updated_at is not None and settled(o) and o.status in COUNTED_STATUSES):
        variant = dice.weighted(variants)
        if variant == "refund" and order.status not in ("completed", "delivered"):
            variant = "progression"  # only goods that arrived get refunded
        duplicated.append((order, variant))
        counts[f"duplicate_{variant}"] = counts.get(f"duplicate_{variant}", 0) + 1

    number = 0
    for order in orders:
        kind = dirt.get(id(order))
        if kind != "missing_order_id":
            number += 1
            order.order_id = f"O{number:07d}"
    for order in orders:
        order.dirt = dirt.get(id(order))
        order.rows = [order_row(order)] if order.dirt is None else [dirty_order_row(dice, order, order.dirt)]
    for order, variant in duplicated:
        if variant == "refund":
            make_refund_version(dice, order)
        else:
            make_duplicates(dice, order, variant)
    return counts


def dirty_order_row(dice: Dice, order: Order, kind: str) -> list[str]:
    at = order.at
    if kind == "missing_order_id":
        return order_row(order, order_id="")
    if kind == "missing_customer_id":
        return order_row(order, customer_id="")
    if kind == "blank_customer_id":
        return order_row(order, customer_id="  ")
    if kind == "padded_customer_id":
        return order_row(order, customer_id=f" {order.customer.customer_id} ")
    if kind == "us_date":
        return order_row(order, ordered_at=f"{at:%m/%d/%Y}")
    if kind == "month_13":
        return order_row(order, ordered_at=f"{at.year}-13-{dice.int(32, 45)}")
    if kind == "nonexistent_date":
        day = dice.pick(["02-30", "02-31", "04-31", "06-31", "09-31", "11-31"])
        return order_row(order, ordered_at=f"{at.year}-{day} {at:%H:00:00}")
    if kind == "yesterday":
        return order_row(order, ordered_at="yesterday")
    if kind == "empty_ordered_at":
        return order_row(order, ordered_at="")
    if kind == "future_2099":
        return order_row(order, ordered_at=render_timestamp(future_typo(at), "space"), updated_at="")
    if kind == "status_on_hold":
        return order_row(order, status=dice.pick(["on_hold", "on_hold", "On_Hold"]))
    if kind == "status_lost_in_space":
        return order_row(order, status="lost_in_space")
    if kind == "status_empty":
        return order_row(order, status="")
    if kind == "amount_empty":
        return order_row(order, amount="")
    if kind == "amount_na":
        return order_row(order, amount="N/A")
    if kind == "amount_twelve":
        return order_row(order, amount="twelve")
    if kind == "amount_comma_decimal":
        return order_row(order, amount=fmt_cents(order.cents).replace(".", ","))
    if kind == "amount_negative":
        return order_row(order, amount=fmt_cents(-min(order.cents, 5000)))
    if kind == "amount_zero":
        return order_row(order, amount="0.00")
    if kind == "refund_above_amount":
        # The shipping fee was refunded on top of the goods.
        order.refund_cents = order.cents + dice.pick([499, 599, 999])
        return order_row(order, amount=fmt_cents(order.cents))
    if kind == "refund_na":
        return order_row(order, refunded_amount="N/A")
    if kind == "refund_negative":
        return order_row(order, refunded_amount=fmt_cents(-dice.int(100, 2000)))
    raise ValueError(kind)


# ---------------------------------------------------------------- customers


def customer_row(customer: Customer, created_text: str, updated_text: str, **changes) -> list[str]:
    values = {
        "customer_id": customer.customer_id,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "country": customer.country,
        "acquisition_channel": customer.channel_text,
        "created_at": created_text,
        "updated_at": updated_text,
    }
    values.update(changes)
    return [values[c] for c in COLUMNS["raw_customers"]]


def build_customer_rows(dice: Dice, customers: list[Customer]) -> tuple[list[list[str]], dict[str, int]]:
    counts = {}
    registered = [c for c in customers if not c.is_guest]
    for customer in registered:
        customer.channel_text = customer.channel
        if dice.chance(0.035):
            channel = customer.channel
            customer.channel_text = dice.pick([
                channel.upper(), channel.title(), f" {channel}", f"{channel} ", f" {channel.title()} ",
            ])
            counts["messy_channel"] = counts.get("messy_channel", 0) + 1
        if dice.chance(0.03):
            customer.email = customer.email.title()
    pool = dice.shuffle([c for c in registered if c.kind != "staff"])
    dirt = {}
    for kind, n in [
        ("created_us_date", 3), ("created_nonexistent", 2), ("created_garbage", 1), ("created_future", 2),
        ("created_empty", 12), ("updated_empty", 100), ("country_empty", 15), ("channel_empty", 10),
        ("email_empty", 12), ("first_name_empty", 6), ("registered_later", 40),
    ]:
        for customer in dice.take(pool, n):
            dirt[id(customer)] = kind
        counts[kind] = n
    duplicated = {}
    for customer in dice.take(pool, round(len(registered) * 0.01)):
        variant = dice.weighted([("identical", 4), ("updated", 6)])
        duplicated[id(customer)] = variant
        counts[f"duplicate_{variant}"] = counts.get(f"duplicate_{variant}", 0) + 1
    orphans = dice.take(pool, 4)  # rows of a broken import that lost their id
    counts["missing_customer_id"] = len(orphans)
    orphan_ids = {id(c) for c in orphans}

    rows = []
    for customer in registered:
        kind = dirt.get(id(customer))
        created = customer.signup
        if kind == "registered_later" and customer.orders:
            # Checked out as a guest first, created the account on a later visit.
            first_order_at = customer.orders[0].at
            created = first_order_at + timedelta(days=dice.int(1, 30), minutes=dice.int(0, 600))
            created = max(min(created, EXPORTED_AT - timedelta(hours=8)), first_order_at)
        shape = dice.weighted([("space", 60), ("z", 20), ("offset", 8), ("date", 7), ("micro", 5)])
        created_text = render_timestamp(created, shape, utc_offset_minutes(customer.country, created))
        updated = created.replace(microsecond=0) + timedelta(minutes=dice.int(1, 60))
        if dice.chance(0.4):
            updated += timedelta(days=int(dice.tri(1, 500)))
        updated = min(updated, EXPORTED_AT - timedelta(minutes=dice.int(1, 300)))
        updated_text = render_timestamp(updated, "space")
        changes = {}
        if kind == "created_us_date":
            changes["created_at"] = f"{created:%m/%d/%Y}"
        elif kind == "created_nonexistent":
            changes["created_at"] = f"{created.year}-02-30"
        elif kind == "created_garbage":
            changes["created_at"] = "unknown"
        elif kind == "created_future":
            changes["created_at"] = render_timestamp(future_typo(created), "space")
        elif kind == "created_empty":
            changes["created_at"] = ""
        elif kind == "updated_empty":
            changes["updated_at"] = ""
        elif kind == "country_empty":
            changes["country"] = ""
        elif kind == "channel_empty":
            changes["acquisition_channel"] = ""
        elif kind == "email_empty":
            changes["email"] = ""
        elif kind == "first_name_empty":
            changes["first_name"] = ""
        if id(customer) in orphan_ids:
            changes["customer_id"] = ""
        row = customer_row(customer, created_text, updated_text, **changes)
        variant = duplicated.get(id(customer))
        if variant == "identical":
            versions = [row, row]
        elif variant == "updated":
            # The customer changed their details later; the newer row is the truth.
            later = updated + timedelta(days=dice.int(1, 200), minutes=dice.int(1, 600))
            if later >= EXPORTED_AT:
                later = updated + timedelta(minutes=dice.int(1, 120))
            change = dice.pick(["email", "country", "acquisition_channel", "last_name"])
            new_value = {
                "email": f"{customer.first_name.lower()}.{dice.int(100, 999)}@{dice.pick(EMAIL_DOMAINS)}",
                "country": dice.pick([c for c, _ in COUNTRIES if c != customer.country]),
                "acquisition_channel": dice.pick([c for c in CHANNELS if c != customer.channel]),
                "last_name": dice.pick(LAST_NAMES),
            }[change]
            changed = {**changes, change: new_value, "updated_at": render_timestamp(later, "space")}
            versions = [row, customer_row(customer, created_text, updated_text, **changed)]
        else:
            versions = [row]
        rows.extend(versions)
    return rows, counts


# ---------------------------------------------------------------- NPS


def draw_score(dice: Dice, customer: Customer, order: Order) -> int:
    if order.refund_cents:
        weights = [(10, 8), (9, 8), (8, 12), (7, 12), (6, 10), (5, 10), (4, 8), (3, 8), (2, 8), (1, 6), (0, 10)]
    elif customer.kind == "loyal":
        weights = [(10, 38), (9, 27), (8, 15), (7, 8), (6, 4), (5, 3), (4, 1.5), (3, 1), (2, 1), (1, 0.5), (0, 1)]
    else:
        weights = [(10, 24), (9, 20), (8, 18), (7, 11), (6, 7), (5, 6), (4, 3.5), (3, 2.5), (2, 2.5), (1, 2), (0, 3.5)]
    return dice.weighted(weights)


def build_nps_rows(dice: Dice, orders: list[Order]) -> tuple[list[list[str]], dict[str, int]]:
    responses = []
    for order in orders:
        if order.origin not in ("regular", "holiday"):
            continue
        if order.dirt is not None or order.rows[-1][3].strip().lower() not in COUNTED_STATUSES:
            continue
        if not dice.chance(0.21):
            continue
        responded = order.at.replace(microsecond=0) + timedelta(days=int(dice.tri(2, 20)), minutes=dice.int(0, 1439))
        if responded > LAST_ORDER_AT:
            continue
        score = draw_score(dice, order.customer, order)
        band = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        comment = dice.pick(NPS_COMMENTS[band]) if dice.chance(0.35) else ""
        responses.append([responded, order.customer, str(score), comment])
    responses.sort(key=lambda r: (r[0], r[1].number))

    pool = dice.shuffle(list(range(len(responses))))
    dirt = {}
    counts = {}
    for kind, n in [
        ("score_11", 2), ("score_minus_1", 2), ("score_9_5", 2), ("score_ten", 2), ("score_empty", 3),
        ("missing_customer_id", 2), ("responded_nonexistent", 1), ("responded_future", 1),
        ("duplicate_identical", 4), ("duplicate_resubmitted", 4),
    ]:
        for index in dice.take(pool, n):
            dirt[index] = kind
        counts[kind] = n

    rows = []
    for index, (responded, customer, score, comment) in enumerate(responses):
        response_id = f"R{index + 1:05d}"
        shape = dice.weighted([("z", 70), ("space", 25), ("offset", 5)])
        responded_text = render_timestamp(responded, shape, utc_offset_minutes(customer.country, responded))
        values = [response_id, customer.customer_id, responded_text, score, comment]
        kind = dirt.get(index)
        if kind == "score_11":
            values[3] = "11"
        elif kind == "score_minus_1":
            values[3] = "-1"
        elif kind == "score_9_5":
            values[3] = "9.5"
        elif kind == "score_ten":
            values[3] = "ten"
        elif kind == "score_empty":
            values[3] = ""
        elif kind == "missing_customer_id":
            values[1] = ""
        elif kind == "responded_nonexistent":
            values[2] = f"{responded.year}-02-30T{responded:%H:%M:%S}Z"
        elif kind == "responded_future":
            values[2] = render_timestamp(future_typo(responded), "z")
        if kind == "duplicate_identical":
            rows.extend([values, list(values)])
        elif kind == "duplicate_resubmitted":
            # The respondent reopened the survey link and changed their answer.
            later = responded + timedelta(minutes=dice.int(5, 2000))
            later = min(later, LAST_ORDER_AT)
            if later == responded:
                later = responded - timedelta(minutes=1)
            new_score = str(min(10, int(score) + dice.int(1, 3)))
            later_text = render_timestamp(later, shape, utc_offset_minutes(customer.country, later))
            second = [response_id, customer.customer_id, later_text, new_score, dice.pick(NPS_COMMENTS["promoter"] + [""])]
            rows.extend(sorted([values, second], key=lambda r: r[2]))
        else:
            rows.append(values)
    return rows, counts


# ---------------------------------------------------------------- marketing spend


def build_spend_rows(dice: Dice, customers: list[Customer]) -> tuple[list[list[str]], dict[str, int]]:
    referrals_by_week = {}
    for customer in customers:
        if customer.channel == "referral" and customer.orders:
            week = customer.orders[0].at.date()
            week -= timedelta(days=week.weekday())
            referrals_by_week[week] = referrals_by_week.get(week, 0) + 1
    rows = []
    day = START
    while day <= END:
        t = (day - START).days / SPAN_DAYS
        peak = 1.0 + 0.8 * (season(day) - 1.0)
        weekend = 0.85 if day.weekday() >= 5 else 1.0
        rows.append([day, "paid_search", int((45 + 95 * t) * peak * weekend * dice.tri(0.8, 1.2) * 100)])
        if day.weekday() == 0:
            # Social and email are invoiced weekly; referral bonuses are paid out weekly.
            rows.append([day, "social", int((300 + 600 * t) * peak * dice.tri(0.8, 1.2) * 100)])
            rows.append([day, "email", int((120 + 140 * t) * dice.tri(0.9, 1.1) * 100)])
            referred = referrals_by_week.get(day, 0)
            rows.append([day, "referral", int((25 * referred + 40) * dice.tri(0.9, 1.1) * 100)])
        day += timedelta(days=1)

    pool = dice.shuffle(list(range(len(rows))))
    dirt = {}
    counts = {}
    for kind, n in [
        ("channel_empty", 2), ("amount_abc", 2), ("amount_negative", 2), ("date_nonexistent", 1),
        ("date_us", 1), ("amount_empty", 1), ("channel_messy", 4),
    ]:
        for index in dice.take(pool, n):
            dirt[index] = kind
        counts[kind] = n
    out = []
    for index, (day, channel, cents) in enumerate(rows):
        values = [f"{day:%Y-%m-%d}", channel, fmt_cents(cents)]
        kind = dirt.get(index)
        if kind == "channel_empty":
            values[1] = ""
        elif kind == "amount_abc":
            values[2] = "abc"
        elif kind == "amount_negative":
            values[2] = fmt_cents(-cents)  # a credit note booked as spend
        elif kind == "date_nonexistent":
            values[0] = f"{day.year}-02-30"
        elif kind == "date_us":
            values[0] = f"{day:%m/%d/%Y}"
        elif kind == "amount_empty":
            values[2] = ""
        elif kind == "channel_messy":
            values[1] = dice.pick([channel.title(), f" {channel}", channel.upper()])
        out.append(values)
    return out, counts


# ---------------------------------------------------------------- main


def build_rate_rows() -> list[list[str]]:
    """US dollars per euro and per pound on the first of every month the orders span (and the
    month before), four decimals: the demo reports in USD and converts its EUR and GBP orders."""
    rows = []
    for month in range(-1, (END.year - START.year) * 12 + END.month):
        first = date(START.year + (START.month - 1 + month) // 12, (START.month - 1 + month) % 12 + 1, 1)
        wave = ((month * 7) % 12 - 6) / 6  # a slow saw-tooth in -1..1, deterministic
        rows.append([first.isoformat(), "EUR", f"{1.0850 + 0.0310 * wave:.4f}"])
        rows.append([first.isoformat(), "GBP", f"{1.2700 + 0.0420 * wave:.4f}"])
    return rows


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def generate(out: Path) -> dict[str, dict[str, int]]:
    customers = make_customers(Dice(SEED + 1))
    orders = make_orders(Dice(SEED + 2), customers)
    orders = fill_order_values(Dice(SEED + 3), orders)
    protected = force_midnight_crossings(Dice(SEED + 4), orders)
    orders.sort(key=lambda o: (o.at, o.customer.number, o.origin))
    for order in orders:
        order.customer.orders.append(order)
    order_counts = inject_order_dirt(Dice(SEED + 5), orders, protected)
    customer_rows, customer_counts = build_customer_rows(Dice(SEED + 6), customers)
    nps_rows, nps_counts = build_nps_rows(Dice(SEED + 7), orders)
    spend_rows, spend_counts = build_spend_rows(Dice(SEED + 8), customers)

    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "raw_orders.csv", COLUMNS["raw_orders"], [row for order in orders for row in order.rows])
    write_csv(out / "raw_customers.csv", COLUMNS["raw_customers"], customer_rows)
    write_csv(out / "raw_nps_responses.csv", COLUMNS["raw_nps_responses"], nps_rows)
    write_csv(out / "raw_marketing_spend.csv", COLUMNS["raw_marketing_spend"], spend_rows)
    write_csv(out / "raw_exchange_rates.csv", COLUMNS["raw_exchange_rates"], build_rate_rows())
    return {
        "orders": order_counts, "customers": customer_counts, "nps_responses": nps_counts,
        "marketing_spend": spend_counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: seeds/demo)")
    parser.add_argument("--verbose", action="store_true", help="print how many rows of each kind of dirt were written")
    args = parser.parse_args()
    counts = generate(args.out)
    if args.verbose:
        for table, kinds in counts.items():
            for kind, n in kinds.items():
                print(f"{table}\t{kind}\t{n}")


if __name__ == "__main__":
    main()
