"""Independent Python reference implementation of the crm_retention marts.

Written from ``SPEC.md`` (the metric contract) and ``docs/definitions.md`` only, without
reference to the package's SQL, so that comparing the two is a real check. Every function
names the definition it implements. Plain standard library: money is ``Decimal``, rates are
``float`` (``None`` when the denominator is 0), dates are ``datetime.date``, timestamps are
naive UTC ``datetime``.

Two entry points:

* ``clean(raw, today=..., counted_statuses=..., ignored_statuses=...) -> Cleaned``
  stages the four raw sources and lists the rejected raw rows.
* ``compute_marts(cleaned, period=..., as_of=..., churn_window_days=..., at_risk_days=...)``
  returns ``{mart_name: [row dict, ...]}`` for every mart in ``MART_COLUMNS``.

Choices made where the definitions leave room (each marked "Reading:" in the code):

* Trimming strips the whitespace characters definitions.md lists (``WHITESPACE``). Optional
  text attributes (email, names, country, channel, currency) are trimmed too, blank becoming null.
* Line grain and currencies (definitions.md "Shapes of the orders table", "Currencies") are not
  modelled here: tests/python/test_order_lines.py checks them against the order-grain build of
  the same shop, a different raw shape.
* A status present in both configured lists counts as ``counted``.
* De-duplication tie-breaks compare the trimmed raw text of each remaining column,
  latest (largest) first, missing last, in the column order of ``SOURCE_COLUMNS``.
* Timestamps: the fraction may have 1 to 6 digits; ``T``/``Z`` must be upper case; a bare date
  takes no offset; an offset may be at most 14:00 in total.
* A blank ``refunded_amount`` / ``created_at`` counts as missing, not as invalid.
* ``raw_key`` is the untrimmed raw id as text (null stays null); for spend a null part of
  ``spent_on|channel`` is empty. ``raw_values`` lists the read columns present in the raw row,
  in ``SOURCE_COLUMNS`` order, a null shown as ``name=``.
* NPS ``score`` strings must be plain digits after trimming (``"9.0"`` is rejected); typed
  numbers pass when they are whole.
* "Acquired / started within the last W days" means ``as_of - start < W`` (the same half-open
  window as activity).
* ``acquisition_cost`` is null when the customer has no acquisition channel or the channel has
  no spend row dated in the cohort period (the whole period, even past the as-of date).
* The latest NPS response of a customer is taken among responses dated up to the as-of date;
  response ids are compared as text for the tie-break.
* ``is_at_risk`` is ``False`` (not null) for customers without a counted order.
"""

from __future__ import annotations

import math
import numbers
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable, NamedTuple
from zoneinfo import ZoneInfo

from raw_schema import RAW_COLUMNS

# --------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------

PERIODS = ("day", "week", "month", "quarter", "year")

SOURCES = ("orders", "customers", "nps_responses", "marketing_spend", "exchange_rates")

# definitions.md, "Raw inputs": the columns read from each raw table, in this order. The lists
# (and the default statuses callers pass to clean()) are the contract's, shared by the whole
# Python side; nothing else is taken from the package.
SOURCE_COLUMNS: dict[str, list[str]] = RAW_COLUMNS

# definitions.md, "Cleaning": the whitespace trimmed from every text value.
WHITESPACE = (" \t\n\x0b\x0c\r\u0085\u00a0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B))
              + "\u2028\u2029\u202f\u205f\u3000\ufeff")
# definitions.md, "Orders" rule 6: timestamps before crm_earliest_valid_date are rejected.
EARLIEST_VALID_DATE = date(1990, 1, 1)

_PERIOD_COLUMNS = ["period_start", "period_end", "is_complete_period"]
_RETENTION_COLUMNS = ["customers_at_start", "new_customers", "reactivated_customers",
                      "churned_customers", "customers_at_end", "retained_customers",
                      "retention_rate", "churn_rate", "survival_rate"]

# definitions.md, "Marts and their columns".
MART_COLUMNS: dict[str, list[str]] = {
    "crm__retention": _PERIOD_COLUMNS + _RETENTION_COLUMNS,
    "crm__cohort_retention": ["cohort_period", "periods_since_acquisition", "period_start",
                              "is_complete_period", "cohort_size", "active_customers",
                              "retention_rate", "unbounded_active_customers",
                              "unbounded_retention_rate", "orders", "revenue",
                              "cumulative_revenue_per_customer"],
    "crm__churn": ["customer_id", "churned_on", "period_start", "spell_number",
                   "spell_started_on", "last_order_date", "spell_orders", "spell_revenue",
                   "lifetime_orders", "lifetime_revenue"],
    "crm__repeat_rate": _PERIOD_COLUMNS + ["customers", "orders", "repeat_customers",
                                           "repeat_customer_rate", "returning_customers",
                                           "returning_customer_rate", "purchase_frequency"],
    "crm__aov": _PERIOD_COLUMNS + ["orders", "revenue", "aov", "new_customer_orders",
                                   "new_customer_revenue", "new_customer_aov",
                                   "returning_customer_orders", "returning_customer_revenue",
                                   "returning_customer_aov"],
    "crm__revenue_retention": _PERIOD_COLUMNS + ["starting_revenue", "new_revenue",
                                                 "reactivated_revenue", "expansion_revenue",
                                                 "contraction_revenue", "churned_revenue",
                                                 "ending_revenue", "gross_revenue_retention",
                                                 "net_revenue_retention", "revenue_churn_rate"],
    "crm__nps": _PERIOD_COLUMNS + ["responses", "promoters", "passives", "detractors", "nps"],
    "crm__clv": ["customer_id", "cohort_period", "acquisition_channel", "historical_clv",
                 "acquisition_cost", "net_clv"],
    "crm__customers": ["customer_id", "email", "first_name", "last_name", "country",
                       "acquisition_channel", "created_at", "has_customer_record",
                       "cohort_period", "first_order_date", "last_order_date", "orders",
                       "net_revenue", "aov", "days_since_last_order", "is_active",
                       "lifecycle_status", "is_at_risk", "recency_score", "frequency_score",
                       "monetary_score", "rfm_score", "rfm_segment", "latest_nps_score",
                       "latest_nps_responded_at"],
    "crm__kpis": _PERIOD_COLUMNS + _RETENTION_COLUMNS + [
        "orders", "revenue", "aov", "repeat_customer_rate", "purchase_frequency",
        "gross_revenue_retention", "net_revenue_retention", "nps", "formula_clv"],
    "crm__rejected_rows": ["source_table", "raw_key", "rejection_reason", "raw_values"],
}

# The segment marts (crm_segments): the same columns, restricted to one value's customers.
_SEGMENT_COLUMNS = ["segment_name", "segment_value"]
SEGMENT_MART_COLUMNS: dict[str, list[str]] = {
    "crm__retention_by_segment": _PERIOD_COLUMNS + _SEGMENT_COLUMNS + _RETENTION_COLUMNS,
    "crm__cohort_retention_by_segment": (
        MART_COLUMNS["crm__cohort_retention"][:4] + _SEGMENT_COLUMNS
        + MART_COLUMNS["crm__cohort_retention"][4:]),
    "crm__kpis_by_segment": _PERIOD_COLUMNS + _SEGMENT_COLUMNS + _RETENTION_COLUMNS + [
        "orders", "revenue", "aov", "repeat_customer_rate", "purchase_frequency"],
}
UNKNOWN_SEGMENT = "unknown"

ZERO = Decimal(0)


# --------------------------------------------------------------------------------------
# Results of cleaning
# --------------------------------------------------------------------------------------

class Rejected(NamedTuple):
    """One row of crm__rejected_rows (without raw_values, which lives in Cleaned.rejected_rows)."""
    source_table: str
    raw_key: str | None
    rejection_reason: str


@dataclass
class Cleaned:
    orders: list[dict[str, Any]] = field(default_factory=list)
    customers: list[dict[str, Any]] = field(default_factory=list)
    nps_responses: list[dict[str, Any]] = field(default_factory=list)
    marketing_spend: list[dict[str, Any]] = field(default_factory=list)
    exchange_rates: list[dict[str, Any]] = field(default_factory=list)
    # (source_table, raw_key, rejection_reason), one per rejected raw row
    rejected: list[Rejected] = field(default_factory=list)
    # the same rows as crm__rejected_rows dicts, with raw_values
    rejected_rows: list[dict[str, Any]] = field(default_factory=list)
    today: date | None = None

    def staged(self, source: str) -> list[dict[str, Any]]:
        return getattr(self, source)

    def rejected_for(self, source: str) -> list[Rejected]:
        return [r for r in self.rejected if r.source_table == source]


# --------------------------------------------------------------------------------------
# Parsing helpers (definitions.md, "Accepted shapes")
# --------------------------------------------------------------------------------------

def _is_missing(value: Any) -> bool:
    """Null, NaN/NaT, or a string that is empty after trimming."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip(WHITESPACE) == ""
    try:
        return bool(value != value)  # NaN, NaT
    except TypeError:  # pandas.NA: its truth value is ambiguous
        return True


def _text(value: Any) -> str | None:
    """A raw value as text, the way a cast to varchar shows it."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(float(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _trimmed_text(value: Any) -> str | None:
    """Trimmed raw text; empty counts as missing."""
    if _is_missing(value):
        return None
    return _text(value).strip(WHITESPACE)


def identifier(value: Any) -> str | None:
    """Cleaning: "Identifiers are trimmed; an empty string counts as missing."""
    return _trimmed_text(value)


_TIMESTAMP_RE = re.compile(
    # Reading: fraction of 1-6 digits; upper-case T and Z only; a bare date takes no offset.
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"(?:[T ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,6}))?)?"
    r"(?P<offset>Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)

MAX_OFFSET_MINUTES = 14 * 60


# definitions.md "Time zone": crm_timezone (the dates reported) and crm_raw_timestamps_timezone
# (a raw time of day without offset), both UTC unless a test sets them with time_zones().
TIME_ZONES = {"report": "UTC", "raw": "UTC"}


class time_zones:
    """Within the block, the reference reads and reports in these zones."""

    def __init__(self, report: str = "UTC", raw: str = "UTC"):
        self.zones = {"report": report, "raw": raw}

    def __enter__(self):
        self.saved = dict(TIME_ZONES)
        TIME_ZONES.update(self.zones)

    def __exit__(self, *exc):
        TIME_ZONES.update(self.saved)


def _wall_clock_to_utc(wall_clock: datetime, zone: str) -> datetime:
    """A naive wall-clock time of a zone as naive UTC. A time a daylight-saving change skips or
    repeats is read in standard time (definitions.md "Time zone")."""
    if zone == "UTC":
        return wall_clock
    candidates = [wall_clock.replace(tzinfo=ZoneInfo(zone), fold=fold) for fold in (0, 1)]
    if candidates[0].utcoffset() != candidates[1].utcoffset():
        candidates = [c for c in candidates if not c.dst()]
    return candidates[0].astimezone(timezone.utc).replace(tzinfo=None)


def local_date(utc: datetime) -> date:
    """The calendar date in the reporting zone of a naive UTC timestamp."""
    if TIME_ZONES["report"] == "UTC":
        return utc.date()
    return utc.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(TIME_ZONES["report"])).date()


def parse_timestamp(value: Any) -> datetime | None:
    """Accepted shapes, timestamps: returns the naive UTC datetime, or None when not accepted.

    Typed values skip parsing: a datetime is taken as UTC (an aware one is converted to UTC),
    a date is its midnight.
    """
    if _is_missing(value):
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return _wall_clock_to_utc(datetime(value.year, value.month, value.day, value.hour, value.minute,
                                           value.second, value.microsecond), TIME_ZONES["raw"])
    if isinstance(value, date):
        return _wall_clock_to_utc(datetime(value.year, value.month, value.day), TIME_ZONES["report"])
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP_RE.fullmatch(value.strip(WHITESPACE))
    if match is None:
        return None
    g = match.groupdict()
    fraction = (g["fraction"] or "").ljust(6, "0")
    try:
        # datetime() enforces: the date exists, hours 00-23, minutes and seconds 00-59.
        local = datetime(int(g["year"]), int(g["month"]), int(g["day"]),
                         int(g["hour"] or 0), int(g["minute"] or 0), int(g["second"] or 0),
                         int(fraction))
    except ValueError:
        return None
    offset = g["offset"]
    if offset is None and g["hour"] is None:
        return _wall_clock_to_utc(local, TIME_ZONES["report"])  # a date: a day of the report's zone
    if offset is None:
        return _wall_clock_to_utc(local, TIME_ZONES["raw"])
    if offset == "Z":
        return local
    sign = 1 if offset[0] == "+" else -1
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if minutes > 59 or hours * 60 + minutes > MAX_OFFSET_MINUTES:
        return None
    try:
        return local - sign * timedelta(hours=hours, minutes=minutes)
    except OverflowError:
        return None


# Accepted shapes, amounts: N with one symbol or three-letter code at either end, at most 20
# digits before the point.
_NUMBER = r"(?:[0-9]{1,20}|[0-9]{1,3}(?:,[0-9]{3}){1,5}|[0-9]{1,2}(?:,[0-9]{3}){6})(?:\.[0-9]+)?"
_SYMBOL = r"(?:[$€£]|[A-Za-z]{3})"
_AMOUNT_RE = re.compile(
    rf"(?:{_SYMBOL} ?(?P<a>-?{_NUMBER})|(?P<neg>-?){_SYMBOL} ?(?P<b>{_NUMBER})|(?P<c>-?{_NUMBER})(?: ?{_SYMBOL})?)"
)
# The bound: every amount, refund, spend and converted amount is below 10^20 in size.
MONEY_LIMIT = Decimal(10) ** 20


def parse_amount(value: Any) -> Decimal | None:
    """Accepted shapes, amounts: the number, or None when missing or not in an accepted shape.

    Sign is kept: the caller rejects negatives as negative_amount.
    """
    if _is_missing(value) or isinstance(value, bool):
        return None
    # Typed: NaN, infinite, or 10^20 or more in size is not an amount.
    if isinstance(value, Decimal):
        return value if value.is_finite() and abs(value) < MONEY_LIMIT else None
    if isinstance(value, numbers.Integral):
        return Decimal(int(value)) if abs(int(value)) < MONEY_LIMIT else None
    if isinstance(value, numbers.Real):
        return Decimal(repr(float(value))) if math.isfinite(value) and abs(value) < MONEY_LIMIT else None
    if not isinstance(value, str):
        return None
    match = _AMOUNT_RE.fullmatch(value.strip(WHITESPACE))
    if match is None:
        return None
    number = match["a"] or (match["neg"] + match["b"] if match["b"] else None) or match["c"]
    return Decimal(number.replace(",", ""))


# Currencies: the code a symbol stands for, and the dollar and peso currencies '$' agrees with.
_SYMBOL_CURRENCY = {"$": "USD", "€": "EUR", "£": "GBP"}
DOLLAR_CURRENCIES = {"USD", "AUD", "BSD", "BBD", "BZD", "BMD", "BND", "CAD", "KYD", "FJD", "GYD", "HKD", "JMD",
                     "LRD", "NAD", "NZD", "SBD", "SGD", "SRD", "TTD", "TWD", "XCD", "ZWL", "MXN", "ARS", "CLP",
                     "COP", "CUP", "DOP", "UYU"}


def amount_currency(value: Any, row_currency: str | None = None) -> str | None:
    """The currency written in a text amount in an accepted shape ("EUR 100", "$12.00"), as a
    code: a symbol's, or for '$' the row's currency when that is a dollar currency; else None."""
    if not isinstance(value, str) or parse_amount(value) is None:
        return None
    mark = re.sub(r"[-0-9., ]", "", value.strip(WHITESPACE)).upper()
    if not mark:
        return None
    if mark == "$" and row_currency in DOLLAR_CURRENCIES:
        return row_currency
    return _SYMBOL_CURRENCY.get(mark, mark)


def order_currency(row: dict[str, Any]) -> tuple[str | None, bool]:
    """Currencies: the row's currency (its currency value, else its amount's, else its refund's)
    and whether the currencies written in its amount and refund agree with it."""
    given = _trimmed_text(row.get("currency"))
    marks = [row.get("amount"), row.get("refunded_amount")]
    upper = (given.upper() if given else None) or next(
        (c for c in (amount_currency(m) for m in marks) if c), None)
    agrees = all(amount_currency(m, upper) in (None, upper) for m in marks)
    return (given or upper), agrees


def parse_score(value: Any) -> int | None:
    """NPS rule 5: a whole number from 0 to 10, else None."""
    if _is_missing(value) or isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        score = int(value)
    elif isinstance(value, (numbers.Real, Decimal)):
        if not math.isfinite(value) or value != int(value):
            return None
        score = int(value)
    elif isinstance(value, str):
        text = value.strip(WHITESPACE)
        if re.fullmatch(r"[0-9]+", text) is None:  # Reading: "9.0", "+9" are not accepted
            return None
        score = int(text)
    else:
        return None
    return score if 0 <= score <= 10 else None


# --------------------------------------------------------------------------------------
# Cleaning (definitions.md, "Cleaning (staging)")
# --------------------------------------------------------------------------------------

def _raw_values(source: str, row: dict[str, Any]) -> str:
    """Row accounting: the raw columns as name=value pairs joined by '; '.

    Reading: the read columns present in the raw row, in SOURCE_COLUMNS order, a null as empty.
    """
    pairs = []
    for column in SOURCE_COLUMNS[source]:
        if column in row:
            text = _text(row[column])
            pairs.append(f"{column}={'' if text is None else text}")
    return "; ".join(pairs)


def _raw_key(source: str, row: dict[str, Any]) -> str | None:
    """Row accounting: raw_key is the raw id as text, or spent_on|channel for spend."""
    if source == "marketing_spend":
        return f"{_text(row.get('spent_on')) or ''}|{_text(row.get('channel')) or ''}"
    if source == "exchange_rates":
        return f"{_trimmed_text(row.get('currency')) or ''}|{_trimmed_text(row.get('rate_date')) or ''}"
    id_column = {"orders": "order_id", "customers": "customer_id",
                 "nps_responses": "response_id"}[source]
    return _text(row.get(id_column))


class _Rejections:
    def __init__(self, cleaned: Cleaned):
        self.cleaned = cleaned

    def add(self, source: str, row: dict[str, Any], reason: str) -> None:
        key = _raw_key(source, row)
        self.cleaned.rejected.append(Rejected(source, key, reason))
        self.cleaned.rejected_rows.append({
            "source_table": source, "raw_key": key, "rejection_reason": reason,
            "raw_values": _raw_values(source, row)})


def _latest_first_text(value: Any) -> tuple[bool, str]:
    """Sort key for "latest ... string": larger text is later; missing sorts last."""
    text = _trimmed_text(value)
    return (text is not None, text or "")


def _latest_first_timestamp(value: Any) -> tuple[bool, datetime]:
    """Sort key for "latest updated_at": missing or unparseable sorts last."""
    parsed = parse_timestamp(value)
    return (parsed is not None, parsed or datetime.min)


def _deduplicate(source: str, keyed_rows: list[tuple[str, dict[str, Any]]], version_key,
                 reason: str, rejections: _Rejections) -> list[tuple[str, dict[str, Any]]]:
    """Duplicates rule: per id the row with the largest version_key survives; each other row
    is `superseded_version` when its parsed updated_at is strictly earlier than the latest
    updated_at of the id, else rejected with `reason` (ambiguous). Survivors keep the raw order
    of their first appearance."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key, row in keyed_rows:
        groups[key].append(row)
    survivors = []
    for key, rows in groups.items():
        best = max(range(len(rows)), key=lambda i: version_key(rows[i]))
        updated = [parse_timestamp(row.get("updated_at")) for row in rows]
        latest = max((u for u in updated if u is not None), default=None)
        for i, row in enumerate(rows):
            if i != best:
                superseded = updated[i] is not None and latest is not None and updated[i] < latest
                rejections.add(source, row, "superseded_version" if superseded else reason)
        survivors.append((key, rows[best]))
    return survivors


def _other_values_key(row: dict[str, Any], columns: Iterable[str]) -> tuple:
    # Reading of "then the other raw values": each column's trimmed text, latest first.
    return tuple(_latest_first_text(row.get(c)) for c in columns)


def _timestamp_reason(parsed: datetime | None, today: date) -> str | None:
    """invalid_timestamp / too_early_timestamp (before crm_earliest_valid_date) /
    future_timestamp: after the day the build runs (UTC)."""
    if parsed is None:
        return "invalid_timestamp"
    if parsed.date() < EARLIEST_VALID_DATE:
        return "too_early_timestamp"
    if parsed.date() > today:
        return "future_timestamp"
    return None


def _amount_reason(amount: Decimal | None) -> str | None:
    """invalid_amount (missing or not a number) / negative_amount (below zero)."""
    if amount is None:
        return "invalid_amount"
    if amount < 0:
        return "negative_amount"
    return None


# definitions.md "Cleaning": spellings of "no value" in text attributes, any case.
NULL_TOKENS = {"#n/a", "n/a", "null", "none", "-"}


def _optional_text(value: Any) -> str | None:
    """Reading: optional text attributes are trimmed; blank and the null tokens are null."""
    text = _trimmed_text(value)
    return None if text is None or text == "" or text.lower() in NULL_TOKENS else text


def clean_orders(rows: list[dict[str, Any]], *, today: date, counted: set[str],
                 ignored: set[str], rejections: _Rejections,
                 reporting_currency: str | None = None,
                 exchange_rates: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """definitions.md, Cleaning / Orders, rules 1-8 in order; first reason wins."""
    source = "orders"
    keyed = []
    for row in rows:
        order_id = identifier(row.get("order_id"))
        if order_id is None:  # 1. missing_order_id
            rejections.add(source, row, "missing_order_id")
            continue
        keyed.append((order_id, row))

    # 2. duplicate_order_id: latest updated_at, then latest ordered_at string, then the rest.
    def version_key(row):
        return (_latest_first_timestamp(row.get("updated_at")),
                _latest_first_text(row.get("ordered_at")),
                _other_values_key(row, ["customer_id", "status", "amount",
                                        "refunded_amount", "currency"]))

    staged = []
    for order_id, row in _deduplicate(source, keyed, version_key, "duplicate_order_id",
                                      rejections):
        customer_id = identifier(row.get("customer_id"))
        if customer_id is None:  # 3.
            rejections.add(source, row, "missing_customer_id")
            continue
        ordered_at = parse_timestamp(row.get("ordered_at"))
        reason = _timestamp_reason(ordered_at, today)  # 4. and 5.
        if reason:
            rejections.add(source, row, reason)
            continue
        status = (_trimmed_text(row.get("status")) or "").lower()
        if status and status in counted:  # 6. (Reading: counted wins if in both lists)
            status_class = "counted"
        elif status and status in ignored:
            status_class = "ignored"
        else:
            rejections.add(source, row, "unknown_status")
            continue
        amount = parse_amount(row.get("amount"))
        reason = _amount_reason(amount)  # 7.
        if reason:
            rejections.add(source, row, reason)
            continue
        refunded_raw = row.get("refunded_amount")
        refunded = None
        # 8. present but not a number, or below zero (Reading: blank is not present)
        if not _is_missing(refunded_raw):
            refunded = parse_amount(refunded_raw)
            if refunded is None or refunded < 0:
                rejections.add(source, row, "invalid_refunded_amount")
                continue
        # 11. currency_mismatch: the currencies of the row, its amount and its refund disagree.
        currency, agrees = order_currency(row)
        if not agrees:
            rejections.add(source, row, "currency_mismatch")
            continue
        # 12. missing_exchange_rate: an order in a currency other than the reporting one (a
        # missing currency is the reporting one) takes its currency's latest rate on or before
        # its order date, and is rejected without one. 13. converted, below the bound.
        if reporting_currency and currency is not None and currency.upper() != reporting_currency.upper():
            rate = exchange_rate(exchange_rates or [], currency.upper(), local_date(ordered_at))
            if rate is None:
                rejections.add(source, row, "missing_exchange_rate")
                continue
            if abs(float(amount) * float(rate)) >= 1e20 or float(refunded or 0) * float(rate) >= 1e20:
                rejections.add(source, row, "invalid_amount")
                continue
            amount = convert(amount, rate)
            refunded = None if refunded is None else convert(refunded, rate)
        # net_revenue = greatest(amount - coalesce(refunded_amount, 0), 0)
        net_revenue = max(amount - (refunded if refunded is not None else ZERO), ZERO)
        staged.append({
            "order_id": order_id,
            "customer_id": customer_id,
            "ordered_at": ordered_at,
            "order_date": local_date(ordered_at),
            "status": status,
            "status_class": status_class,
            "amount": amount,
            "refunded_amount": refunded,
            "net_revenue": net_revenue,
            "currency": currency,
            "updated_at": parse_timestamp(row.get("updated_at")),
            "has_customer_record": None,  # filled once customers are staged
        })
    return staged


def orders_from_lines(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """definitions.md, crm_orders_grain: line, for an export whose lines are all current and
    valid: one order per order_id, whose lines agree on every order-level value; amount and
    refunded_amount are the sums of its lines'. A return line (a negative amount, with
    crm_order_line_returns: net, the default) adds its size to the refunds instead. (Line
    versions and broken lines are left to the SQL's own tests, which give each line its expected
    outcome.) A currency written in a line's amount is its currency."""
    orders: dict[str, dict[str, Any]] = {}
    for row in rows:
        line = {k: v for k, v in row.items() if k != "line_id"}
        line["currency"] = order_currency(line)[0]
        amount = parse_amount(line["amount"])
        refunded = parse_amount(line.get("refunded_amount"))
        if amount < 0:
            amount, refunded = ZERO, (refunded or ZERO) - amount
        order = orders.get(line["order_id"])
        if order is None:
            orders[line["order_id"]] = {**line, "amount": amount, "refunded_amount": refunded}
            continue
        for column, value in line.items():
            if column not in ("amount", "refunded_amount"):
                assert value == order[column], (line["order_id"], column)
        order["amount"] += amount
        if refunded is not None:
            order["refunded_amount"] = (order["refunded_amount"] or ZERO) + refunded
    return [{**order, "amount": str(order["amount"]),
             "refunded_amount": None if order["refunded_amount"] is None else str(order["refunded_amount"])}
            for order in orders.values()]


def clean_customers(rows: list[dict[str, Any]], *, today: date,
                    rejections: _Rejections) -> list[dict[str, Any]]:
    """definitions.md, Cleaning / Customers, rules 1-3."""
    source = "customers"
    keyed = []
    for row in rows:
        customer_id = identifier(row.get("customer_id"))
        if customer_id is None:  # 1.
            rejections.add(source, row, "missing_customer_id")
            continue
        keyed.append((customer_id, row))

    # 2. duplicate_customer_id: latest updated_at, then latest created_at string, then the rest.
    def version_key(row):
        return (_latest_first_timestamp(row.get("updated_at")),
                _latest_first_text(row.get("created_at")),
                _other_values_key(row, ["email", "first_name", "last_name", "country",
                                        "acquisition_channel"]))

    staged = []
    for customer_id, row in _deduplicate(source, keyed, version_key, "duplicate_customer_id",
                                         rejections):
        created_raw = row.get("created_at")
        created_at = None
        if not _is_missing(created_raw):  # 3. only a present created_at is checked
            created_at = parse_timestamp(created_raw)
            reason = _timestamp_reason(created_at, today)
            if reason:
                rejections.add(source, row, reason)
                continue
        staged.append({
            "customer_id": customer_id,
            "email": _optional_text(row.get("email")),
            "first_name": _optional_text(row.get("first_name")),
            "last_name": _optional_text(row.get("last_name")),
            "country": _optional_text(row.get("country")),
            # Definitions: channels are trimmed and lower-cased in staging.
            "acquisition_channel": _channel_key(_optional_text(row.get("acquisition_channel"))),
            "created_at": created_at,
            "updated_at": parse_timestamp(row.get("updated_at")),
        })
    return staged


def clean_nps_responses(rows: list[dict[str, Any]], *, today: date,
                        rejections: _Rejections) -> list[dict[str, Any]]:
    """definitions.md, Cleaning / NPS responses, rules 1-5."""
    source = "nps_responses"
    keyed = []
    for row in rows:
        response_id = identifier(row.get("response_id"))
        if response_id is None:  # 1.
            rejections.add(source, row, "missing_response_id")
            continue
        keyed.append((response_id, row))

    # 2. duplicate_response_id: latest updated_at, then latest responded_at string, then the rest.
    def version_key(row):
        return (_latest_first_timestamp(row.get("updated_at")),
                _latest_first_text(row.get("responded_at")),
                _other_values_key(row, ["customer_id", "score", "comment"]))

    staged = []
    for response_id, row in _deduplicate(source, keyed, version_key, "duplicate_response_id",
                                         rejections):
        customer_id = identifier(row.get("customer_id"))
        if customer_id is None:  # 3.
            rejections.add(source, row, "missing_customer_id")
            continue
        responded_at = parse_timestamp(row.get("responded_at"))
        reason = _timestamp_reason(responded_at, today)  # 4.
        if reason:
            rejections.add(source, row, reason)
            continue
        score = parse_score(row.get("score"))
        if score is None:  # 5.
            rejections.add(source, row, "invalid_score")
            continue
        staged.append({
            "response_id": response_id,
            "customer_id": customer_id,
            "responded_at": responded_at,
            "response_date": local_date(responded_at),
            "score": score,
            "comment": _text(row.get("comment")),
        })
    return staged


def clean_marketing_spend(rows: list[dict[str, Any]], *, today: date,
                          rejections: _Rejections) -> list[dict[str, Any]]:
    """definitions.md, Cleaning / Marketing spend, rules 1-3; no de-duplication."""
    source = "marketing_spend"
    staged = []
    for row in rows:
        spent_at = parse_timestamp(row.get("spent_on"))
        reason = _timestamp_reason(spent_at, today)  # 1.
        if reason:
            rejections.add(source, row, reason)
            continue
        channel = identifier(row.get("channel"))
        if channel is None:  # 2.
            rejections.add(source, row, "missing_channel")
            continue
        amount = parse_amount(row.get("amount"))
        reason = _amount_reason(amount)  # 3.
        if reason:
            rejections.add(source, row, reason)
            continue
        staged.append({"spent_on": local_date(spent_at), "channel": channel.lower(), "amount": amount})
    return staged


def clean_exchange_rates(rows: list[dict[str, Any]], *,
                         rejections: _Rejections) -> list[dict[str, Any]]:
    """definitions.md, Currencies: rate_date (UTC date), currency (trimmed, upper-cased), rate;
    first reason wins; every row of a currency and day given twice is ambiguous."""
    source = "exchange_rates"
    parsed = []
    for row in rows:
        at = parse_timestamp(row.get("rate_date"))
        currency = _trimmed_text(row.get("currency"))
        parsed.append((row, local_date(at) if at else None, currency.upper() if currency else None,
                       parse_rate(row.get("rate"))))
    per_day = defaultdict(int)
    for _, day, currency, _ in parsed:
        per_day[(currency, day)] += 1
    staged = []
    for row, day, currency, rate in parsed:
        if day is None:
            reason = "invalid_timestamp"
        elif day < EARLIEST_VALID_DATE:
            reason = "too_early_timestamp"
        elif currency is None:
            reason = "missing_currency"
        elif rate is None or rate <= 0:
            reason = "invalid_rate"
        elif not RATE_LOWEST <= rate <= RATE_HIGHEST:
            reason = "rate_out_of_range"
        elif per_day[(currency, day)] > 1:
            reason = "duplicate_exchange_rate"
        else:
            staged.append({"rate_date": day, "currency": currency, "rate": rate})
            continue
        rejections.add(source, row, reason)
    return staged


# Currencies: an accepted rate lies from 10^-12 to 10^12.
RATE_LOWEST, RATE_HIGHEST = Decimal("1e-12"), Decimal("1e12")


def parse_rate(value: Any) -> Decimal | None:
    """Currencies: a rate is a finite number; text takes the amount shapes or a plain number
    with an exponent ('3.93E-05')."""
    if _is_missing(value) or isinstance(value, bool):
        return None
    if isinstance(value, (numbers.Real, Decimal)) and not isinstance(value, str):
        return Decimal(repr(float(value))) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    text = value.strip(WHITESPACE)
    if re.fullmatch(r"[0-9]{1,38}(\.[0-9]{1,38})?([eE][-+]?[0-9]{1,2})?", text):
        return Decimal(text)
    return parse_amount(text)


def exchange_rate(rates: list[dict[str, Any]], currency: str, day: date) -> Decimal | None:
    """The rate of `currency` with the latest rate_date on or before `day`, or None."""
    valid = [r for r in rates if r["currency"] == currency and r["rate_date"] <= day]
    return max(valid, key=lambda r: r["rate_date"])["rate"] if valid else None


def convert(amount: Decimal, rate: Decimal) -> Decimal:
    """cast(original × rate as money): the product of the two as doubles (the rate type), scaled
    to the money type's 6 decimals as a double and rounded half away from zero."""
    scaled = Decimal(float(amount) * float(rate) * 1e6).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return scaled.scaleb(-6)


def customers_from_orders(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """crm_using_customers: false: one customer per customer_id of the staged orders, created
    at its first staged order, with no attributes."""
    first: dict[str, datetime] = {}
    for order in orders:
        cid = order["customer_id"]
        first[cid] = min(first.get(cid, order["ordered_at"]), order["ordered_at"])
    return [{"customer_id": cid, "email": None, "first_name": None, "last_name": None, "country": None,
             "acquisition_channel": None, "created_at": at, "updated_at": None}
            for cid, at in sorted(first.items())]


def _status_list(statuses: Iterable[str]) -> set[str]:
    return {s.strip().lower() for s in statuses if s is not None and s.strip()}


def clean(raw: dict[str, list[dict[str, Any]]], *, today: date,
          counted_statuses: list[str], ignored_statuses: list[str],
          reporting_currency: str | None = None, using_customers: bool = True) -> Cleaned:
    """Stage every source; every raw row ends up staged or rejected (row accounting). Exchange
    rates are read when `raw` has them; without a customers table (using_customers false) the
    customers come from the orders."""
    cleaned = Cleaned(today=today)
    rejections = _Rejections(cleaned)
    if using_customers:
        cleaned.customers = clean_customers(raw.get("customers") or [], today=today,
                                            rejections=rejections)
    cleaned.exchange_rates = clean_exchange_rates(raw.get("exchange_rates") or [],
                                                  rejections=rejections)
    cleaned.orders = clean_orders(raw.get("orders") or [], today=today,
                                  counted=_status_list(counted_statuses),
                                  ignored=_status_list(ignored_statuses),
                                  rejections=rejections, reporting_currency=reporting_currency,
                                  exchange_rates=cleaned.exchange_rates)
    if not using_customers:
        cleaned.customers = customers_from_orders(cleaned.orders)
    # Guest checkout: an order whose customer has no (staged) customer row is kept, flagged.
    known = {c["customer_id"] for c in cleaned.customers}
    for order in cleaned.orders:
        order["has_customer_record"] = order["customer_id"] in known
    cleaned.nps_responses = clean_nps_responses(raw.get("nps_responses") or [], today=today,
                                                rejections=rejections)
    cleaned.marketing_spend = clean_marketing_spend(raw.get("marketing_spend") or [],
                                                    today=today, rejections=rejections)
    return cleaned


# --------------------------------------------------------------------------------------
# Time (SPEC section 2, definitions.md "Time and the window model")
# --------------------------------------------------------------------------------------

def validate_period(period: str) -> None:
    if period not in PERIODS:
        raise ValueError(f"crm_period must be one of {', '.join(PERIODS)}; got {period!r}")


def period_start(d: date, period: str) -> date:
    """First day of the period containing d. Weeks start on Monday."""
    if period == "day":
        return d
    if period == "week":
        return d - timedelta(days=d.weekday())
    if period == "month":
        return date(d.year, d.month, 1)
    if period == "quarter":
        return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    if period == "year":
        return date(d.year, 1, 1)
    validate_period(period)
    raise AssertionError  # unreachable


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + (d.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def next_period_start(start: date, period: str) -> date:
    """A period is the half-open interval [period_start, next_period_start)."""
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return _add_months(start, 1)
    if period == "quarter":
        return _add_months(start, 3)
    if period == "year":
        return date(start.year + 1, 1, 1)
    validate_period(period)
    raise AssertionError  # unreachable


def period_end(start: date, period: str) -> date:
    """period_end: the last day of the period."""
    return next_period_start(start, period) - timedelta(days=1)


def period_spine(first_day: date, as_of: date, period: str) -> list[date]:
    """Periods from the first counted order's period to the period containing the as-of date."""
    starts = []
    current, last = period_start(first_day, period), period_start(as_of, period)
    while current <= last:
        starts.append(current)
        current = next_period_start(current, period)
    return starts


def as_of_date(cleaned: Cleaned, as_of: date | None) -> date | None:
    """crm_as_of_date, or else the latest counted order date."""
    if as_of is not None:
        return as_of
    days = [o["order_date"] for o in cleaned.orders if o["status_class"] == "counted"]
    return max(days) if days else None


def metric_orders(cleaned: Cleaned, as_of: date | None) -> list[dict[str, Any]]:
    """Only counted orders enter metrics; orders after the as-of date are left out."""
    if as_of is None:
        return []
    return [o for o in cleaned.orders
            if o["status_class"] == "counted" and o["order_date"] <= as_of]


# --------------------------------------------------------------------------------------
# The window model (SPEC section 3; definitions.md "Spells")
# --------------------------------------------------------------------------------------

@dataclass
class Spell:
    customer_id: str
    spell_number: int
    started_on: date          # first order day of the spell
    last_order_date: date     # last order day of the spell
    ends_on: date             # last order + W: the churn day (a churn only if <= as-of)
    orders: int = 0
    revenue: Decimal = ZERO
    lifetime_orders: int = 0  # counted orders up to the spell's last order
    lifetime_revenue: Decimal = ZERO


def build_spells(orders: list[dict[str, Any]], window_days: int) -> dict[str, list[Spell]]:
    """Spells: order days sorted; o2 opens a new spell when o2 >= o1 + W (o1 the previous day)."""
    by_customer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for order in orders:
        by_customer[order["customer_id"]].append(order)
    window = timedelta(days=window_days)
    spells: dict[str, list[Spell]] = {}
    for customer_id, customer_orders in by_customer.items():
        customer_orders.sort(key=lambda o: o["order_date"])
        customer_spells: list[Spell] = []
        lifetime_orders, lifetime_revenue = 0, ZERO
        for order in customer_orders:
            day = order["order_date"]
            current = customer_spells[-1] if customer_spells else None
            if current is None or day >= current.last_order_date + window:
                current = Spell(customer_id, len(customer_spells) + 1, day, day, day + window)
                customer_spells.append(current)
            current.last_order_date = day
            current.ends_on = day + window
            current.orders += 1
            current.revenue += order["net_revenue"]
            lifetime_orders += 1
            lifetime_revenue += order["net_revenue"]
            current.lifetime_orders = lifetime_orders
            current.lifetime_revenue = lifetime_revenue
        spells[customer_id] = customer_spells
    return spells


def is_active_on(customer_spells: list[Spell], day: date) -> bool:
    """Active on day d: some spell with started_on <= d < last order + W."""
    return any(s.started_on <= day < s.ends_on for s in customer_spells)


# --------------------------------------------------------------------------------------
# Shared model of one build
# --------------------------------------------------------------------------------------

@dataclass
class _Model:
    period: str
    as_of: date | None
    window_days: int
    at_risk_days: int
    orders: list[dict[str, Any]]
    spells: dict[str, list[Spell]]
    spine: list[date]
    first_order_date: dict[str, date]
    last_order_date: dict[str, date]

    def end_of(self, start: date) -> date:
        return period_end(start, self.period)

    def effective_end(self, start: date) -> date:
        """The last day of P, or the as-of date for the current period."""
        return min(self.end_of(start), self.as_of)

    def period_columns(self, start: date) -> dict[str, Any]:
        end = self.end_of(start)
        return {"period_start": start, "period_end": end,
                "is_complete_period": end <= self.as_of}

    def period_of(self, d: date) -> date:
        return period_start(d, self.period)


def _build_model(cleaned: Cleaned, period: str, as_of: date | None, window_days: int,
                 at_risk_days: int) -> _Model:
    as_of = as_of_date(cleaned, as_of)
    orders = metric_orders(cleaned, as_of)
    first: dict[str, date] = {}
    last: dict[str, date] = {}
    for o in orders:
        cid, d = o["customer_id"], o["order_date"]
        first[cid] = min(first.get(cid, d), d)
        last[cid] = max(last.get(cid, d), d)
    spine = period_spine(min(first.values()), as_of, period) if first else []
    return _Model(period, as_of, window_days, at_risk_days, orders,
                  build_spells(orders, window_days), spine, first, last)


def ratio(numerator, denominator) -> float | None:
    """Rates are fractions; a rate whose denominator is 0 (or null) is null."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return float(Decimal(numerator) / Decimal(denominator))


def money_ratio(numerator, denominator) -> Decimal | None:
    """Money per unit (aov, revenue per customer), null when the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return Decimal(numerator) / Decimal(denominator)


# --------------------------------------------------------------------------------------
# crm__retention (SPEC section 3 table)
# --------------------------------------------------------------------------------------

def retention_rows(m: _Model) -> list[dict[str, Any]]:
    all_spells = [s for customer_spells in m.spells.values() for s in customer_spells]
    rows = []
    for start in m.spine:
        end = m.effective_end(start)
        day_before = start - timedelta(days=1)
        at_start = {c for c, sp in m.spells.items() if is_active_on(sp, day_before)}   # S
        at_end = {c for c, sp in m.spells.items() if is_active_on(sp, end)}            # E
        new = sum(1 for s in all_spells if s.spell_number == 1 and start <= s.started_on <= end)
        reactivated = sum(1 for s in all_spells
                          if s.spell_number > 1 and start <= s.started_on <= end)
        churned = sum(1 for s in all_spells if start <= s.ends_on <= end)  # ends_on <= as-of
        retained = len(at_start & at_end)
        s_count, e_count = len(at_start), len(at_end)
        rows.append({
            **m.period_columns(start),
            "customers_at_start": s_count,
            "new_customers": new,
            "reactivated_customers": reactivated,
            "churned_customers": churned,
            "customers_at_end": e_count,
            "retained_customers": retained,
            "retention_rate": ratio(e_count - new, s_count),   # (E - N) / S
            "churn_rate": ratio(churned, s_count),             # C / S
            "survival_rate": ratio(retained, s_count),         # retained / S
        })
    return rows


# --------------------------------------------------------------------------------------
# crm__cohort_retention (SPEC section 4, "Cohort")
# --------------------------------------------------------------------------------------

def cohort_rows(m: _Model) -> list[dict[str, Any]]:
    cohort_of = {c: m.period_of(d) for c, d in m.first_order_date.items()}
    cohort_members: dict[date, set[str]] = defaultdict(set)
    for c, cohort in cohort_of.items():
        cohort_members[cohort].add(c)
    # (cohort, period) -> customers with an order, orders, revenue
    active: dict[tuple[date, date], set[str]] = defaultdict(set)
    orders: dict[tuple[date, date], int] = defaultdict(int)
    revenue: dict[tuple[date, date], Decimal] = defaultdict(lambda: ZERO)
    for o in m.orders:
        key = (cohort_of[o["customer_id"]], m.period_of(o["order_date"]))
        active[key].add(o["customer_id"])
        orders[key] += 1
        revenue[key] += o["net_revenue"]
    # definitions.md "Retention flavours": unbounded = an order in period k or any later one.
    last_period = {c: m.period_of(d) for c, d in m.last_order_date.items()}
    rows = []
    for cohort in sorted(cohort_members):
        size = len(cohort_members[cohort])
        cumulative = ZERO
        for k, start in enumerate(s for s in m.spine if s >= cohort):  # k = 0 .. as-of period
            key = (cohort, start)
            cumulative += revenue[key]
            unbounded = sum(1 for c in cohort_members[cohort] if last_period[c] >= start)
            rows.append({
                "cohort_period": cohort,
                "periods_since_acquisition": k,
                "period_start": start,
                "is_complete_period": m.end_of(start) <= m.as_of,
                "cohort_size": size,
                "active_customers": len(active[key]),
                "retention_rate": ratio(len(active[key]), size),
                "unbounded_active_customers": unbounded,
                "unbounded_retention_rate": ratio(unbounded, size),
                "orders": orders[key],
                "revenue": revenue[key],
                "cumulative_revenue_per_customer": money_ratio(cumulative, size),
            })
    return rows


# --------------------------------------------------------------------------------------
# crm__churn (one row per churn event, churned_on <= as-of)
# --------------------------------------------------------------------------------------

def churn_rows(m: _Model) -> list[dict[str, Any]]:
    rows = []
    for customer_id in sorted(m.spells):
        for s in m.spells[customer_id]:
            if s.ends_on > m.as_of:
                continue
            rows.append({
                "customer_id": customer_id,
                "churned_on": s.ends_on,
                "period_start": m.period_of(s.ends_on),
                "spell_number": s.spell_number,
                "spell_started_on": s.started_on,
                "last_order_date": s.last_order_date,
                "spell_orders": s.orders,
                "spell_revenue": s.revenue,
                "lifetime_orders": s.lifetime_orders,
                "lifetime_revenue": s.lifetime_revenue,
            })
    return rows


# --------------------------------------------------------------------------------------
# Per-period order facts shared by repeat rate, AOV, revenue retention
# --------------------------------------------------------------------------------------

def _orders_by_period(m: _Model) -> dict[date, list[dict[str, Any]]]:
    grouped: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for o in m.orders:
        grouped[m.period_of(o["order_date"])].append(o)
    return grouped


def _revenue_by_customer(orders: list[dict[str, Any]]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for o in orders:
        totals[o["customer_id"]] += o["net_revenue"]
    return totals


# --------------------------------------------------------------------------------------
# crm__repeat_rate (SPEC section 4, "Repeat rate")
# --------------------------------------------------------------------------------------

def repeat_rate_rows(m: _Model) -> list[dict[str, Any]]:
    by_period = _orders_by_period(m)
    rows = []
    for start in m.spine:
        counts: dict[str, int] = defaultdict(int)
        for o in by_period.get(start, []):
            counts[o["customer_id"]] += 1
        customers = len(counts)
        orders = sum(counts.values())
        repeat = sum(1 for n in counts.values() if n >= 2)
        returning = sum(1 for c in counts if m.first_order_date[c] < start)
        rows.append({
            **m.period_columns(start),
            "customers": customers,
            "orders": orders,
            "repeat_customers": repeat,
            "repeat_customer_rate": ratio(repeat, customers),
            "returning_customers": returning,
            "returning_customer_rate": ratio(returning, customers),
            "purchase_frequency": ratio(orders, customers),
        })
    return rows


# --------------------------------------------------------------------------------------
# crm__aov (SPEC section 4, "AOV")
# --------------------------------------------------------------------------------------

def aov_rows(m: _Model) -> list[dict[str, Any]]:
    by_period = _orders_by_period(m)
    rows = []
    for start in m.spine:
        period_orders = by_period.get(start, [])
        # new = the customer's first counted order is in the period
        new = [o for o in period_orders if m.first_order_date[o["customer_id"]] >= start]
        returning = [o for o in period_orders if m.first_order_date[o["customer_id"]] < start]
        revenue = sum((o["net_revenue"] for o in period_orders), ZERO)
        new_revenue = sum((o["net_revenue"] for o in new), ZERO)
        returning_revenue = sum((o["net_revenue"] for o in returning), ZERO)
        rows.append({
            **m.period_columns(start),
            "orders": len(period_orders),
            "revenue": revenue,
            "aov": money_ratio(revenue, len(period_orders)),
            "new_customer_orders": len(new),
            "new_customer_revenue": new_revenue,
            "new_customer_aov": money_ratio(new_revenue, len(new)),
            "returning_customer_orders": len(returning),
            "returning_customer_revenue": returning_revenue,
            "returning_customer_aov": money_ratio(returning_revenue, len(returning)),
        })
    return rows


# --------------------------------------------------------------------------------------
# crm__revenue_retention (SPEC section 4, "Revenue movements")
# --------------------------------------------------------------------------------------

def revenue_retention_rows(m: _Model) -> list[dict[str, Any]]:
    by_period = _orders_by_period(m)
    rows = []
    previous: dict[str, Decimal] = {}  # r(P-1) per customer; empty before the first period
    for start in m.spine:
        current = _revenue_by_customer(by_period.get(start, []))
        new = reactivated = expansion = contraction = churned = ZERO
        for c in set(current) | set(previous):
            r_now, r_before = current.get(c, ZERO), previous.get(c, ZERO)
            is_new = m.period_of(m.first_order_date[c]) == start
            if is_new:
                new += r_now
            elif r_now > 0 and r_before == 0:
                reactivated += r_now
            elif r_now > 0 and r_before > 0 and r_now > r_before:
                expansion += r_now - r_before
            elif r_now > 0 and r_before > 0 and r_now < r_before:
                contraction += r_before - r_now
            elif r_before > 0 and r_now == 0:
                churned += r_before
        starting = sum(previous.values(), ZERO)
        ending = sum(current.values(), ZERO)
        rows.append({
            **m.period_columns(start),
            "starting_revenue": starting,
            "new_revenue": new,
            "reactivated_revenue": reactivated,
            "expansion_revenue": expansion,
            "contraction_revenue": contraction,
            "churned_revenue": churned,
            "ending_revenue": ending,
            "gross_revenue_retention": ratio(starting - contraction - churned, starting),
            "net_revenue_retention": ratio(starting + expansion - contraction - churned,
                                           starting),
            "revenue_churn_rate": ratio(contraction + churned, starting),
        })
        previous = current
    return rows


# --------------------------------------------------------------------------------------
# crm__nps (SPEC section 4, "NPS")
# --------------------------------------------------------------------------------------

def nps_bucket(score: int) -> str:
    """Promoters 9-10, passives 7-8, detractors 0-6."""
    if score >= 9:
        return "promoter"
    if score >= 7:
        return "passive"
    return "detractor"


def nps_rows(m: _Model, responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_period: dict[date, list[int]] = defaultdict(list)
    for r in responses if m.spine else []:
        if r["response_date"] <= m.as_of:  # up to the as-of date
            by_period[m.period_of(r["response_date"])].append(r["score"])
    rows = []
    for start in m.spine:
        scores = by_period.get(start, [])
        buckets = [nps_bucket(s) for s in scores]
        promoters, passives = buckets.count("promoter"), buckets.count("passive")
        detractors = buckets.count("detractor")
        nps = ratio(100 * (promoters - detractors), len(scores))
        rows.append({
            **m.period_columns(start),
            "responses": len(scores),
            "promoters": promoters,
            "passives": passives,
            "detractors": detractors,
            "nps": nps,
        })
    return rows


# --------------------------------------------------------------------------------------
# crm__clv (SPEC section 4, "CLV")
# --------------------------------------------------------------------------------------

def _channel_key(channel: str | None) -> str | None:
    """Channels match after trimming and lower-casing."""
    if channel is None or not channel.strip(WHITESPACE):
        return None
    return channel.strip(WHITESPACE).lower()


def clv_rows(m: _Model, customers: list[dict[str, Any]],
             spend: list[dict[str, Any]]) -> list[dict[str, Any]]:
    channel_of = {c["customer_id"]: c["acquisition_channel"] for c in customers}
    revenue = _revenue_by_customer(m.orders)
    cohort_of = {c: m.period_of(d) for c, d in m.first_order_date.items()}
    # customers each channel acquired in each cohort period
    acquired: dict[tuple[str, date], int] = defaultdict(int)
    for c, cohort in cohort_of.items():
        key = _channel_key(channel_of.get(c))
        if key is not None:
            acquired[(key, cohort)] += 1
    # spend dated in the cohort period (Reading: the whole period)
    spent: dict[tuple[str, date], Decimal] = {}
    for s in spend:
        key = (_channel_key(s["channel"]), m.period_of(s["spent_on"]))
        spent[key] = spent.get(key, ZERO) + s["amount"]
    rows = []
    for c in sorted(m.first_order_date):
        channel = channel_of.get(c)
        key = (_channel_key(channel), cohort_of[c])
        cost = None  # Reading: null without a channel or without spend rows for it then
        if key[0] is not None and key in spent:
            cost = spent[key] / Decimal(acquired[key])
        historical = revenue[c]
        rows.append({
            "customer_id": c,
            "cohort_period": cohort_of[c],
            "acquisition_channel": channel,
            "historical_clv": historical,
            "acquisition_cost": cost,
            "net_clv": None if cost is None else historical - cost,
        })
    return rows


# --------------------------------------------------------------------------------------
# Identity (definitions.md "Identity", crm_identity: email)
# --------------------------------------------------------------------------------------

def identity_key(email: str | None, gmail_aliases: bool = False) -> str | None:
    """The normalised email customer ids are matched on (the staged email is already trimmed)."""
    if email is None:
        return None
    address = email.lower()
    local, at, domain = address.partition("@")
    if gmail_aliases and at and domain in ("gmail.com", "googlemail.com"):
        return local.split("+", 1)[0].replace(".", "") + "@gmail.com"
    return address


def persons(cleaned: Cleaned, gmail_aliases: bool = False) -> dict[str, str]:
    """customer_id -> person_id: ids with an equal identity key are one person, whose id is the
    first member's (earliest created_at, else first staged order; then customer_id)."""
    first_order: dict[str, datetime] = {}
    for o in cleaned.orders:
        at = o["ordered_at"]
        first_order[o["customer_id"]] = min(first_order.get(o["customer_id"], at), at)
    records = {c["customer_id"]: c for c in cleaned.customers}
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    for cid in set(records) | set(first_order):
        record = records.get(cid, {})
        key = identity_key(record.get("email"), gmail_aliases)
        seen = record.get("created_at") or first_order.get(cid)
        groups[("email", key) if key else ("id", cid)].append((seen is None, seen or datetime.min, cid))
    person_of = {}
    for members in groups.values():
        first = min(members)[2]
        for *_, cid in members:
            person_of[cid] = first
    return person_of


def resolve_identity(cleaned: Cleaned, gmail_aliases: bool = False) -> Cleaned:
    """The cleaned data with every person as one customer: orders and responses under the
    person_id; the person's profile is its first member's record (members in the order of
    `persons`), a record if any member has one."""
    person_of = persons(cleaned, gmail_aliases)
    first_order: dict[str, datetime] = {}
    for o in cleaned.orders:
        first_order[o["customer_id"]] = min(first_order.get(o["customer_id"], o["ordered_at"]), o["ordered_at"])

    def rank(c):
        seen = c.get("created_at") or first_order.get(c["customer_id"])
        return (seen is None, seen or datetime.min, c["customer_id"])

    profiles: dict[str, dict] = {}
    for c in sorted(cleaned.customers, key=rank):
        profiles.setdefault(person_of[c["customer_id"]], {**c, "customer_id": person_of[c["customer_id"]]})
    return Cleaned(
        orders=[{**o, "customer_id": person_of[o["customer_id"]]} for o in cleaned.orders],
        customers=list(profiles.values()),
        nps_responses=[{**r, "customer_id": person_of.get(r["customer_id"], r["customer_id"])}
                       for r in cleaned.nps_responses],
        marketing_spend=cleaned.marketing_spend, exchange_rates=cleaned.exchange_rates,
        rejected=cleaned.rejected, rejected_rows=cleaned.rejected_rows, today=cleaned.today,
    )


# --------------------------------------------------------------------------------------
# RFM (definitions.md "RFM") and lifecycle (SPEC section 4)
# --------------------------------------------------------------------------------------

def ntile(n_rows: int, buckets: int = 5) -> list[int]:
    """SQL ntile: bucket of each row in order; the first n mod b buckets get one row more."""
    size, extra = divmod(n_rows, buckets)
    result = []
    for bucket in range(1, buckets + 1):
        result.extend([bucket] * (size + (1 if bucket <= extra else 0)))
    return result


def quintile_boundaries(values: list[Any]) -> list[Any]:
    """The value at the end of quintiles 1-4 when the values are sorted ascending, the quintiles
    sized as ntile(5) sizes them."""
    ordered = sorted(values)
    buckets = ntile(len(ordered))
    # the last value in buckets 1..k (an empty bucket ends where the one before it does)
    return [ordered[sum(1 for b in buckets if b <= k) - 1] for k in range(1, 5)]


def score_above(value: Any, boundaries: list[Any]) -> int:
    """1 + the boundaries the value lies above: a value equal to a boundary stays below it, so
    equal values score alike."""
    return 1 + sum(1 for b in boundaries if value > b)


def rfm_scores(recency_days: dict[str, int], frequency: dict[str, int],
               monetary: dict[str, Decimal],
               cut_points: dict[str, list] | None = None) -> dict[str, tuple[int, int, int]]:
    """Scores 1-5, 5 best, from boundaries on the values: quintile ends or, per measure, the
    configured cut points. Frequency / monetary: a value up to cut point k scores k; recency in
    days since the last order: up to cut point k scores 6 - k."""
    cut_points = cut_points or {}
    if not recency_days:
        return {}

    def frequency_like(name: str, values: dict[str, Any]) -> dict[str, int]:
        bounds = ([Decimal(str(c)) for c in cut_points[name]] if name in cut_points
                  else quintile_boundaries(list(values.values())))
        return {cid: score_above(v, bounds) for cid, v in values.items()}

    if "recency" in cut_points:
        cuts = [int(c) for c in cut_points["recency"]]
        r = {cid: 5 - sum(1 for c in cuts if days > c) for cid, days in recency_days.items()}
    else:
        # fewer days is better: score the negated days
        bounds = quintile_boundaries([-d for d in recency_days.values()])
        r = {cid: score_above(-d, bounds) for cid, d in recency_days.items()}
    f = frequency_like("frequency", frequency)
    mo = frequency_like("monetary", monetary)
    return {cid: (r[cid], f[cid], mo[cid]) for cid in recency_days}


def rfm_segment(r: int, f: int, m: int) -> str:
    """RFM segment; first match wins."""
    if r >= 4 and f >= 4 and m >= 4:
        return "champions"
    if r <= 2 and f >= 4 and m >= 4:
        return "cant_lose"
    if r >= 3 and f >= 4:
        return "loyal"
    if r <= 2 and f >= 3:
        return "at_risk"
    if r >= 4 and f <= 1:
        return "new"
    if r >= 4 and f <= 3:
        return "potential_loyalists"
    if r == 3 and f <= 3:
        return "need_attention"
    if r == 2 and f <= 2:
        return "hibernating"
    if r == 1 and f <= 2:
        return "lost"
    raise ValueError(f"no RFM segment for {(r, f, m)}")  # unreachable for scores 1-5


def lifecycle_status(customer_spells: list[Spell], as_of: date, window_days: int,
                     at_risk_days: int) -> str | None:
    """Lifecycle status as of the as-of date; precedence churned, at_risk, new, reactivated,
    active. Null without a counted order."""
    if not customer_spells:
        return None
    current = customer_spells[-1]
    if not is_active_on(customer_spells, as_of):
        return "churned"
    if (as_of - current.last_order_date).days >= at_risk_days:
        return "at_risk"
    # Reading: "within the last W days" = as_of - start < W, the activity window's own bound
    recently_started = (as_of - current.started_on).days < window_days
    if current.spell_number == 1 and recently_started:
        return "new"
    if current.spell_number > 1 and recently_started:
        return "reactivated"
    return "active"


# --------------------------------------------------------------------------------------
# crm__customers
# --------------------------------------------------------------------------------------

def _latest_responses(responses: list[dict[str, Any]],
                      as_of: date | None) -> dict[str, dict[str, Any]]:
    """Latest responded_at per customer, ties: higher response_id.

    Reading: only responses dated up to the as-of date; response ids compare as text."""
    latest: dict[str, dict[str, Any]] = {}
    for r in responses:
        if as_of is not None and r["response_date"] > as_of:
            continue
        best = latest.get(r["customer_id"])
        if best is None or (r["responded_at"], r["response_id"]) > (best["responded_at"],
                                                                   best["response_id"]):
            latest[r["customer_id"]] = r
    return latest


def customer_rows(m: _Model, cleaned: Cleaned) -> list[dict[str, Any]]:
    profiles = {c["customer_id"]: c for c in cleaned.customers}
    # every staged customer and every guest with a staged order
    ids = set(profiles) | {o["customer_id"] for o in cleaned.orders}
    order_counts: dict[str, int] = defaultdict(int)
    for o in m.orders:
        order_counts[o["customer_id"]] += 1
    revenue = _revenue_by_customer(m.orders)
    recency = {c: (m.as_of - d).days for c, d in m.last_order_date.items()}
    scores = rfm_scores(recency, {c: order_counts[c] for c in recency},
                        {c: revenue[c] for c in recency})
    latest_nps = _latest_responses(cleaned.nps_responses, m.as_of)
    rows = []
    for cid in sorted(ids):
        profile = profiles.get(cid, {})
        has_orders = cid in m.first_order_date
        status = (lifecycle_status(m.spells[cid], m.as_of, m.window_days, m.at_risk_days)
                  if has_orders else None)
        r, f, mo = scores.get(cid, (None, None, None))
        response = latest_nps.get(cid)
        rows.append({
            "customer_id": cid,
            "email": profile.get("email"),
            "first_name": profile.get("first_name"),
            "last_name": profile.get("last_name"),
            "country": profile.get("country"),
            "acquisition_channel": profile.get("acquisition_channel"),
            "created_at": profile.get("created_at"),
            "has_customer_record": cid in profiles,
            "cohort_period": m.period_of(m.first_order_date[cid]) if has_orders else None,
            "first_order_date": m.first_order_date.get(cid),
            "last_order_date": m.last_order_date.get(cid),
            "orders": order_counts.get(cid, 0),
            "net_revenue": revenue.get(cid, ZERO),
            "aov": money_ratio(revenue.get(cid, ZERO), order_counts.get(cid, 0)),
            "days_since_last_order": recency.get(cid),
            "is_active": has_orders and is_active_on(m.spells[cid], m.as_of),
            "lifecycle_status": status,
            "is_at_risk": status == "at_risk",  # Reading: False without a counted order
            "recency_score": r,
            "frequency_score": f,
            "monetary_score": mo,
            "rfm_score": f"{r}{f}{mo}" if has_orders else None,
            "rfm_segment": rfm_segment(r, f, mo) if has_orders else None,
            "latest_nps_score": response["score"] if response else None,
            "latest_nps_responded_at": response["responded_at"] if response else None,
        })
    return rows


# --------------------------------------------------------------------------------------
# crm__kpis
# --------------------------------------------------------------------------------------

def formula_clv(aov: Decimal | None, orders: int, s: int, e: int,
                churn_rate: float | None, churned: int) -> Decimal | None:
    """aov x (orders / ((S + E) / 2)) x (1 / churn_rate); null when S + E or churn_rate is
    0 or null. 1 / churn_rate is computed exactly as S / C."""
    if aov is None or s + e == 0 or churn_rate is None or churn_rate == 0:
        return None
    return aov * (Decimal(orders) / (Decimal(s + e) / 2)) * (Decimal(s) / Decimal(churned))


def kpi_rows(retention: list[dict], aov: list[dict], repeat: list[dict],
             revenue: list[dict], nps: list[dict]) -> list[dict[str, Any]]:
    rows = []
    for ret, a, rep, rev, n in zip(retention, aov, repeat, revenue, nps):
        assert ret["period_start"] == a["period_start"] == rep["period_start"] \
            == rev["period_start"] == n["period_start"]
        rows.append({
            **{c: ret[c] for c in _PERIOD_COLUMNS + _RETENTION_COLUMNS},
            "orders": a["orders"],
            "revenue": a["revenue"],
            "aov": a["aov"],
            "repeat_customer_rate": rep["repeat_customer_rate"],
            "purchase_frequency": rep["purchase_frequency"],
            "gross_revenue_retention": rev["gross_revenue_retention"],
            "net_revenue_retention": rev["net_revenue_retention"],
            "nps": n["nps"],
            "formula_clv": formula_clv(a["aov"], a["orders"], ret["customers_at_start"],
                                       ret["customers_at_end"], ret["churn_rate"],
                                       ret["churned_customers"]),
        })
    return rows


# --------------------------------------------------------------------------------------
# Segment marts (README, crm_segments)
# --------------------------------------------------------------------------------------

def segment_values(cleaned: Cleaned, segment: str) -> dict[str, str]:
    """Each customer's value of one attribute: every staged customer and every guest with a
    staged order; the staged record's value, 'unknown' when null or without a record."""
    profiles = {c["customer_id"]: c for c in cleaned.customers}
    ids = set(profiles) | {o["customer_id"] for o in cleaned.orders}
    values = {}
    for cid in ids:
        value = profiles.get(cid, {}).get(segment)
        values[cid] = UNKNOWN_SEGMENT if value is None else str(value)
    return values


def _restricted(m: _Model, customers: set[str]) -> _Model:
    """The same build (spine, as-of date, window) seeing only some customers' orders."""
    return _Model(
        m.period, m.as_of, m.window_days, m.at_risk_days,
        [o for o in m.orders if o["customer_id"] in customers],
        {c: sp for c, sp in m.spells.items() if c in customers},
        m.spine,
        {c: d for c, d in m.first_order_date.items() if c in customers},
        {c: d for c, d in m.last_order_date.items() if c in customers},
    )


def compute_segment_marts(cleaned: Cleaned, segments: list[str], *, period: str = "month",
                          as_of: date | None = None, churn_window_days: int = 90,
                          at_risk_days: int = 60) -> dict[str, list[dict[str, Any]]]:
    """Each segment mart: every metric computed on the customers of one value, for each
    segment name and each value any customer has."""
    validate_period(period)
    m = _build_model(cleaned, period, as_of, churn_window_days, at_risk_days)
    marts: dict[str, list[dict[str, Any]]] = {name: [] for name in SEGMENT_MART_COLUMNS}
    for segment in segments:
        values = segment_values(cleaned, segment)
        for value in sorted(set(values.values())):
            sub = _restricted(m, {c for c, v in values.items() if v == value})
            key = {"segment_name": segment, "segment_value": value}
            retention = retention_rows(sub)
            for row in retention:
                marts["crm__retention_by_segment"].append(
                    {**{c: row[c] for c in _PERIOD_COLUMNS}, **key,
                     **{c: row[c] for c in _RETENTION_COLUMNS}})
            for row in cohort_rows(sub):
                columns = list(row)
                marts["crm__cohort_retention_by_segment"].append(
                    {**{c: row[c] for c in columns[:4]}, **key, **{c: row[c] for c in columns[4:]}})
            for ret, a, rep in zip(retention, aov_rows(sub), repeat_rate_rows(sub)):
                marts["crm__kpis_by_segment"].append({
                    **{c: ret[c] for c in _PERIOD_COLUMNS}, **key,
                    **{c: ret[c] for c in _RETENTION_COLUMNS},
                    "orders": a["orders"],
                    "revenue": a["revenue"],
                    "aov": a["aov"],
                    "repeat_customer_rate": rep["repeat_customer_rate"],
                    "purchase_frequency": rep["purchase_frequency"],
                })
    for name, rows in marts.items():
        for row in rows:
            assert list(row) == SEGMENT_MART_COLUMNS[name], (name, list(row))
    return marts


# --------------------------------------------------------------------------------------
# Entry point for the marts
# --------------------------------------------------------------------------------------

def compute_marts(cleaned: Cleaned, *, period: str = "month", as_of: date | None = None,
                  churn_window_days: int = 90, at_risk_days: int = 60
                  ) -> dict[str, list[dict[str, Any]]]:
    validate_period(period)
    if isinstance(churn_window_days, bool) or not isinstance(churn_window_days, int) \
            or churn_window_days < 1:
        raise ValueError(f"crm_churn_window_days must be a positive integer; "
                         f"got {churn_window_days!r}")
    if isinstance(at_risk_days, bool) or not isinstance(at_risk_days, int) or at_risk_days < 0:
        raise ValueError(f"crm_at_risk_days must be a non-negative integer; got {at_risk_days!r}")
    m = _build_model(cleaned, period, as_of, churn_window_days, at_risk_days)
    retention = retention_rows(m)
    aov = aov_rows(m)
    repeat = repeat_rate_rows(m)
    revenue = revenue_retention_rows(m)
    nps = nps_rows(m, cleaned.nps_responses)
    marts = {
        "crm__retention": retention,
        "crm__cohort_retention": cohort_rows(m),
        "crm__churn": churn_rows(m),
        "crm__repeat_rate": repeat,
        "crm__aov": aov,
        "crm__revenue_retention": revenue,
        "crm__nps": nps,
        "crm__clv": clv_rows(m, cleaned.customers, cleaned.marketing_spend),
        "crm__customers": customer_rows(m, cleaned),
        "crm__kpis": kpi_rows(retention, aov, repeat, revenue, nps),
        "crm__rejected_rows": [dict(r) for r in cleaned.rejected_rows],
    }
    for name, rows in marts.items():
        for row in rows:
            assert list(row) == MART_COLUMNS[name], (name, list(row))
    return marts
