"""Staging and crm__rejected_rows on a hand-written raw fixture with one row per kind of dirt.

Every expected value below is worked out by hand from SPEC.md section 1 and docs/definitions.md
("Cleaning", "Accepted shapes", "Row accounting"); nothing is read back from the package's SQL.
Each raw row carries its expected outcome: the reason it is rejected with, or the exact values it
stages as. The same good rows are then loaded as typed columns (timestamps, decimals) and must
stage to the same values, without the string parsing in the compiled SQL.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dbt_project_runner import build  # noqa: E402
from raw_schema import RAW_COLUMNS  # noqa: E402

# Only staging, the rejected rows and their data tests: marts are covered elsewhere, and the
# package's unit tests feed text fixtures through the raw tables' real column types, which the
# typed build changes on purpose. Cautious selection: a test that also reads a model left out
# (tests/singular/assert_as_of_is_one_row.sql reads int_crm__as_of) is not run.
SELECT = ["--select", "path:models/staging", "crm__rejected_rows", "int_crm__customers", "--exclude-resource-type", "unit_test",
          "--indirect-selection", "cautious"]

STAGED = "staged"
D = Decimal


def ts(*parts) -> datetime:
    return datetime(*parts)


# --------------------------------------------------------------------------------------
# Raw rows with their expected outcome
# --------------------------------------------------------------------------------------

def order(order_id, *, customer_id="c1", ordered_at="2024-03-05", status="completed", amount="10.00",
          refunded_amount=None, currency=None, updated_at=None):
    return {"order_id": order_id, "customer_id": customer_id, "ordered_at": ordered_at, "status": status,
            "amount": amount, "refunded_amount": refunded_amount, "currency": currency, "updated_at": updated_at}


def staged_order(order_id, *, customer_id="c1", ordered_at=ts(2024, 3, 5), order_date=date(2024, 3, 5),
                 status="completed", status_class="counted", amount=D("10.00"), refunded_amount=None,
                 net_revenue=None, currency=None, updated_at=None):
    return {"order_id": order_id, "customer_id": customer_id, "ordered_at": ordered_at, "order_date": order_date,
            "status": status, "status_class": status_class, "is_counted": status_class == "counted", "amount": amount, "refunded_amount": refunded_amount,
            "net_revenue": amount if net_revenue is None else net_revenue, "currency": currency,
            # One currency, one row per order: the original amounts are the amounts.
            "original_amount": amount, "original_refunded_amount": refunded_amount, "exchange_rate": 1.0, "lines": 1,
            "updated_at": updated_at}


# (raw row, expected outcome): a rejection reason, or STAGED for a good row (values in STAGED_ORDERS).
ORDERS = [
    # Good rows: every accepted shape of amounts, timestamps and statuses.
    (order(" o_plain ", customer_id=" c1 ", amount="12.50", currency=" usd "), STAGED),
    (order("o_space_amount", ordered_at="2024-03-05 10:11:12", status=" Shipped ", amount=" 12.5 "), STAGED),
    (order("o_dollar", ordered_at="2024-03-05T10:11:12Z", status="DELIVERED", amount="$1,234.50"), STAGED),
    (order("o_euro", ordered_at="2024-03-05T10:11:12+02:00", status="Paid", amount="€45.00", currency="EUR"),
     "missing_exchange_rate"),
    (order("o_offset", ordered_at="2024-03-05T10:11:12+02:00", status="Paid", amount="45.00"), STAGED),
    (order("o_west", ordered_at="2025-01-31T23:30:00-05:00", status=" placed", amount="7"), STAGED),
    (order("o_compact_west", ordered_at="2024-06-10T22:00:00-0500"), STAGED),
    (order("o_compact_east", ordered_at="2024-06-10T01:00:00+0530"), STAGED),
    (order("o_fraction", ordered_at="2024-03-05T10:11:12.345678"), STAGED),
    (order("o_fraction_z", ordered_at="2024-03-05 10:11:12.5Z"), STAGED),
    (order("o_minutes", ordered_at="2024-03-05T10:11"), STAGED),
    (order("o_leap_day", ordered_at=" 2024-02-29 "), STAGED),
    (order("o_big", amount="1,234,567.891"), STAGED),
    (order("o_refund_partial", amount="100.00", refunded_amount="30.00"), STAGED),
    (order("o_refund_full", amount="50", refunded_amount="$50.00"), STAGED),
    (order("o_refund_above", amount="20.00", refunded_amount="25.50"), STAGED),
    (order("o_refund_blank", amount="20.00", refunded_amount="  "), STAGED),
    (order("o_cancelled", status="Cancelled"), STAGED),
    (order("o_pending", status="  PENDING "), STAGED),
    (order("o_guest", customer_id="c_guest"), STAGED),
    (order("o_customer_rejected", customer_id="c_bad_created"), STAGED),
    # Every kind of whitespace is trimmed from ids, statuses and currencies.
    (order("\to_tab\r\n", customer_id="\u00a0c1\t", status="completed\t", currency="\u2003usd\n"), STAGED),
    # Amounts with one currency symbol or code at either end. The currency written in the amount
    # is the row's currency when the row has none (these builds report in USD without exchange
    # rates: another currency has no rate), and must agree with the row's currency otherwise.
    (order("o_code_before", amount="USD 12.50"), STAGED),
    (order("o_code_after", amount="1,234.50 EUR"), "missing_exchange_rate"),
    (order("o_symbol_after", amount="12.50€"), "missing_exchange_rate"),
    (order("o_pound", amount="£7"), "missing_exchange_rate"),
    (order("o_code_agrees", amount="12.00 usd", currency=" USD "), STAGED),
    (order("o_refund_marked", amount="10", refunded_amount="USD 4"), STAGED),
    (order("o_dollar_cad_row", amount="$12.00", currency="CAD"), "missing_exchange_rate"),
    (order("o_eur_text_usd_row", amount="EUR 100", currency="USD"), "currency_mismatch"),
    (order("o_dollar_eur_row", amount="$12.00", currency="eur"), "currency_mismatch"),
    (order("o_pound_usd_row", amount="£5", currency="USD"), "currency_mismatch"),
    (order("o_refund_other_currency", amount="EUR 10", refunded_amount="$5"), "currency_mismatch"),
    (order("o_refund_mismatch_row", amount="10", refunded_amount="€5", currency="USD"), "currency_mismatch"),
    # Below 10^20 (20 digits before the point), so that sums of amounts fit the money type.
    (order("o_20_digits", amount="99999999999999999999.5"), STAGED),
    (order("o_20_digits_grouped", amount="99,999,999,999,999,999,999"), STAGED),
    # The earliest valid date itself stages.
    (order("o_earliest", ordered_at="1990-01-01"), STAGED),
    # Duplicates: the latest updated_at (compared in UTC) wins; missing or unparseable sorts last.
    # A version that lost to a strictly later updated_at is superseded; one that lost without a
    # strictly later updated_at (missing, unparseable or equal) is an ambiguous duplicate.
    (order("o_dup", amount="10.00", updated_at="2024-03-01T00:00:00"), "superseded_version"),
    (order("o_dup", amount="30.00", updated_at="2024-03-03T00:00:00+00:00"), STAGED),
    (order("o_dup", amount="99.00", updated_at=None), "duplicate_order_id"),
    (order("o_dup", amount="98.00", updated_at="last week"), "duplicate_order_id"),
    # Later as text, earlier in UTC (2024-03-02 23:00).
    (order("o_dup", amount="97.00", updated_at="2024-03-03T01:00:00+02:00"), "superseded_version"),
    # An identical duplicate: one stages, one is rejected.
    (order("o_twin", amount="15.00", updated_at="2024-03-01"), STAGED),
    (order("o_twin", amount="15.00", updated_at="2024-03-01"), "duplicate_order_id"),
    # Same updated_at: the later ordered_at string wins.
    (order("o_tie", ordered_at="2024-03-06", updated_at="2024-03-07"), STAGED),
    (order("o_tie", ordered_at="2024-03-05", updated_at="2024-03-07"), "duplicate_order_id"),
    # The latest version is the truth, even when it is bad.
    (order("o_latest_bad", amount="10.00", updated_at="2024-03-01"), "superseded_version"),
    (order("o_latest_bad", amount="ten", updated_at="2024-03-02"), "invalid_amount"),
    # Missing ids.
    (order(None), "missing_order_id"),
    (order("   ", amount="11.00"), "missing_order_id"),
    (order("o_no_customer", customer_id=None), "missing_customer_id"),
    (order("o_blank_customer", customer_id=" "), "missing_customer_id"),
    (order("o_tab_customer", customer_id="\t\r\n"), "missing_customer_id"),
    (order("\t \n\u00a0", amount="11.00"), "missing_order_id"),
    (order("o_no_customer_bad_ts", customer_id=None, ordered_at="yesterday"), "missing_customer_id"),
    # Timestamps that are not in an accepted shape or do not exist.
    (order("o_ts_us", ordered_at="03/05/2024"), "invalid_timestamp"),
    (order("o_ts_month_13", ordered_at="2024-13-45"), "invalid_timestamp"),
    (order("o_ts_feb_30", ordered_at="2024-02-30"), "invalid_timestamp"),
    (order("o_ts_feb_29_2023", ordered_at="2023-02-29"), "invalid_timestamp"),
    (order("o_ts_word", ordered_at="yesterday"), "invalid_timestamp"),
    (order("o_ts_empty", ordered_at=""), "invalid_timestamp"),
    (order("o_ts_null", ordered_at=None), "invalid_timestamp"),
    (order("o_ts_hour_24", ordered_at="2024-03-05T24:00:00"), "invalid_timestamp"),
    (order("o_ts_minute_60", ordered_at="2024-03-05T10:60:00"), "invalid_timestamp"),
    (order("o_ts_second_60", ordered_at="2024-03-05T10:11:60"), "invalid_timestamp"),
    (order("o_ts_offset_15", ordered_at="2024-03-05T10:11:12+15:00"), "invalid_timestamp"),
    (order("o_ts_seven_digits", ordered_at="2024-03-05T10:11:12.1234567"), "invalid_timestamp"),
    (order("o_ts_bad_status", ordered_at="yesterday", status="lost"), "invalid_timestamp"),
    (order("o_ts_year_0", ordered_at="0000-01-01"), "invalid_timestamp"),
    # Before crm_earliest_valid_date (1990-01-01): a "zero date" never stretches the spine.
    (order("o_zero_date", ordered_at="0001-01-01"), "too_early_timestamp"),
    (order("o_before_earliest", ordered_at="1989-12-31T23:59:59"), "too_early_timestamp"),
    (order("o_before_earliest_utc", ordered_at="1990-01-01T00:30:00+01:00"), "too_early_timestamp"),
    # After the day the build runs.
    (order("o_future", ordered_at="2999-01-01"), "future_timestamp"),
    (order("o_future_bad_status", ordered_at="2999-01-01T00:00:00Z", status="lost"), "future_timestamp"),
    # Statuses in neither list.
    (order("o_status_unknown", status="lost"), "unknown_status"),
    (order("o_status_empty", status=""), "unknown_status"),
    (order("o_status_null", status=None), "unknown_status"),
    (order("o_status_bad_amount", status="lost", amount="abc"), "unknown_status"),
    # Amounts.
    (order("o_amount_empty", amount=""), "invalid_amount"),
    (order("o_amount_null", amount=None), "invalid_amount"),
    (order("o_amount_word", amount="abc"), "invalid_amount"),
    (order("o_amount_comma_decimal", amount="12,50"), "invalid_amount"),
    (order("o_amount_two_points", amount="1.2.3"), "invalid_amount"),
    (order("o_amount_bad_refund_bad", amount="abc", refunded_amount="xyz"), "invalid_amount"),
    (order("o_cancelled_bad_amount", status="cancelled", amount="abc"), "invalid_amount"),
    (order("o_amount_space_inside", amount="12 50"), "invalid_amount"),
    (order("o_amount_symbols_inside", amount="1$2$3"), "invalid_amount"),
    (order("o_amount_two_symbols", amount="$12 USD"), "invalid_amount"),
    (order("o_amount_bad_groups", amount="1,23,456"), "invalid_amount"),
    (order("o_amount_33_digits", amount="123456789012345678901234567890123"), "invalid_amount"),
    (order("o_amount_32_digits", amount="99999999999999999999999999999999"), "invalid_amount"),
    (order("o_amount_31_digits", amount="9999999999999999999999999999999.5"), "invalid_amount"),
    (order("o_amount_21_digits", amount="100000000000000000000"), "invalid_amount"),
    (order("o_amount_21_digits_grouped", amount="100,000,000,000,000,000,000"), "invalid_amount"),
    (order("o_amount_nan", amount="NaN"), "invalid_amount"),
    (order("o_amount_infinity", amount="Infinity"), "invalid_amount"),
    (order("o_amount_minus_inf", amount="-inf"), "invalid_amount"),
    (order("o_amount_exponent", amount="1e35"), "invalid_amount"),
    (order("o_amount_negative", amount="-5.00"), "negative_amount"),
    (order("o_amount_negative_code", amount="-5.00 EUR"), "negative_amount"),
    (order("o_amount_negative_dollar", amount="$-3.00"), "negative_amount"),
    (order("o_amount_negative_thousands", amount="-1,000.00"), "negative_amount"),
    # Refunds.
    (order("o_refund_word", refunded_amount="abc"), "invalid_refunded_amount"),
    (order("o_refund_negative", refunded_amount="-1.00"), "invalid_refunded_amount"),
    (order("o_refund_comma_decimal", refunded_amount="2,50"), "invalid_refunded_amount"),
]

STAGED_ORDERS = {row["order_id"]: row for row in [
    staged_order("o_plain", amount=D("12.50"), currency="usd"),
    staged_order("o_space_amount", ordered_at=ts(2024, 3, 5, 10, 11, 12), status="shipped", amount=D("12.5")),
    staged_order("o_dollar", ordered_at=ts(2024, 3, 5, 10, 11, 12), status="delivered", amount=D("1234.50"),
                 currency="USD"),
    staged_order("o_offset", ordered_at=ts(2024, 3, 5, 8, 11, 12), status="paid", amount=D("45.00")),
    staged_order("o_west", ordered_at=ts(2025, 2, 1, 4, 30), order_date=date(2025, 2, 1), status="placed",
                 amount=D("7")),
    staged_order("o_compact_west", ordered_at=ts(2024, 6, 11, 3, 0), order_date=date(2024, 6, 11)),
    staged_order("o_compact_east", ordered_at=ts(2024, 6, 9, 19, 30), order_date=date(2024, 6, 9)),
    staged_order("o_fraction", ordered_at=ts(2024, 3, 5, 10, 11, 12, 345678)),
    staged_order("o_fraction_z", ordered_at=ts(2024, 3, 5, 10, 11, 12, 500000)),
    staged_order("o_minutes", ordered_at=ts(2024, 3, 5, 10, 11)),
    staged_order("o_leap_day", ordered_at=ts(2024, 2, 29), order_date=date(2024, 2, 29)),
    staged_order("o_big", amount=D("1234567.891")),
    staged_order("o_refund_partial", amount=D("100"), refunded_amount=D("30"), net_revenue=D("70")),
    staged_order("o_refund_full", amount=D("50"), refunded_amount=D("50"), net_revenue=D("0"), currency="USD"),
    staged_order("o_refund_above", amount=D("20"), refunded_amount=D("25.50"), net_revenue=D("0")),
    staged_order("o_refund_blank", amount=D("20")),
    staged_order("o_cancelled", status="cancelled", status_class="ignored"),
    staged_order("o_pending", status="pending", status_class="ignored"),
    staged_order("o_guest", customer_id="c_guest"),
    staged_order("o_customer_rejected", customer_id="c_bad_created"),
    staged_order("o_dup", amount=D("30"), updated_at=ts(2024, 3, 3)),
    staged_order("o_twin", amount=D("15"), updated_at=ts(2024, 3, 1)),
    staged_order("o_tie", ordered_at=ts(2024, 3, 6), order_date=date(2024, 3, 6), updated_at=ts(2024, 3, 7)),
    staged_order("o_tab", currency="usd"),
    staged_order("o_code_before", amount=D("12.50"), currency="USD"),
    staged_order("o_code_agrees", amount=D("12.00"), currency="USD"),
    staged_order("o_refund_marked", amount=D("10"), refunded_amount=D("4"), net_revenue=D("6"), currency="USD"),
    staged_order("o_20_digits", amount=D("99999999999999999999.5")),
    staged_order("o_20_digits_grouped", amount=D("99999999999999999999")),
    staged_order("o_earliest", ordered_at=ts(1990, 1, 1), order_date=date(1990, 1, 1)),
]}


def customer(customer_id, *, email=None, first_name=None, last_name=None, country=None,
             acquisition_channel=None, created_at=None, updated_at=None):
    return {"customer_id": customer_id, "email": email, "first_name": first_name, "last_name": last_name,
            "country": country, "acquisition_channel": acquisition_channel, "created_at": created_at,
            "updated_at": updated_at}


CUSTOMERS = [
    (customer("c1", email="ann@example.com", first_name=" Ann ", last_name="Lee", country=" us ",
              acquisition_channel=" Paid_Search ", created_at="2024-01-02T03:04:05+01:00"), STAGED),
    (customer("c2", email="old@example.com", updated_at="2024-02-01"), "superseded_version"),
    (customer("c2", email="new@example.com", updated_at="2024-02-05T00:00:00Z"), STAGED),
    (customer("c2", email="none@example.com", updated_at=None), "duplicate_customer_id"),
    (customer("c3", email="twin@example.com", created_at="2024-01-05"), STAGED),
    (customer("c3", email="twin@example.com", created_at="2024-01-05"), "duplicate_customer_id"),
    (customer("c_tie", created_at="2024-01-02", updated_at="2024-02-01"), STAGED),
    (customer("c_tie", created_at="2024-01-01", updated_at="2024-02-01"), "duplicate_customer_id"),
    (customer("c_latest_bad", created_at="2024-01-01", updated_at="2024-02-01"), "superseded_version"),
    (customer("c_latest_bad", created_at="garbage", updated_at="2024-02-02"), "invalid_timestamp"),
    (customer(" c_no_created ", created_at="  "), STAGED),
    (customer(None, email="nobody@example.com"), "missing_customer_id"),
    (customer("  ", email="blank@example.com"), "missing_customer_id"),
    (customer("\t\r\n", email="tabs@example.com"), "missing_customer_id"),
    (customer("\tc_ws\n", acquisition_channel="\u00a0Email\t"), STAGED),
    (customer("c_zero_created", created_at="0001-01-01"), "too_early_timestamp"),
    (customer("c_bad_created", created_at="31/01/2024"), "invalid_timestamp"),
    (customer("c_future_created", created_at="2999-12-31"), "future_timestamp"),
    # Null spellings of exports are no value (definitions.md, "Cleaning"); "NA" is Namibia.
    (customer("c_null_tokens", email="#N/A", first_name=" N/A ", last_name="NULL", country="-",
              acquisition_channel="None"), STAGED),
    (customer("c_token_lookalikes", first_name="Jean-Luc", last_name="Nonet", country="NA",
              acquisition_channel="n/a-partner"), STAGED),
]

STAGED_CUSTOMERS = {
    "c1": {"email": "ann@example.com", "first_name": "Ann", "last_name": "Lee", "country": "us",
           "acquisition_channel": "paid_search", "created_at": ts(2024, 1, 2, 2, 4, 5), "updated_at": None},
    "c2": {"email": "new@example.com", "first_name": None, "last_name": None, "country": None,
           "acquisition_channel": None, "created_at": None, "updated_at": ts(2024, 2, 5)},
    "c3": {"email": "twin@example.com", "first_name": None, "last_name": None, "country": None,
           "acquisition_channel": None, "created_at": ts(2024, 1, 5), "updated_at": None},
    "c_tie": {"email": None, "first_name": None, "last_name": None, "country": None,
              "acquisition_channel": None, "created_at": ts(2024, 1, 2), "updated_at": ts(2024, 2, 1)},
    "c_ws": {"email": None, "first_name": None, "last_name": None, "country": None,
             "acquisition_channel": "email", "created_at": None, "updated_at": None},
    "c_no_created": {"email": None, "first_name": None, "last_name": None, "country": None,
                     "acquisition_channel": None, "created_at": None, "updated_at": None},
    "c_null_tokens": {"email": None, "first_name": None, "last_name": None, "country": None,
                      "acquisition_channel": None, "created_at": None, "updated_at": None},
    "c_token_lookalikes": {"email": None, "first_name": "Jean-Luc", "last_name": "Nonet", "country": "NA",
                           "acquisition_channel": "n/a-partner", "created_at": None, "updated_at": None},
}


def response(response_id, *, customer_id="c1", responded_at="2024-03-05", score="8", comment=None, updated_at=None):
    return {"response_id": response_id, "customer_id": customer_id, "responded_at": responded_at,
            "score": score, "comment": comment, "updated_at": updated_at}


NPS = [
    (response("r1", responded_at="2024-03-05T10:00:00+01:00", score="9", comment="Great"), STAGED),
    (response("r2", responded_at="2024-03-06", score=" 10 "), STAGED),
    (response("r3", customer_id="c_guest", responded_at="2024-03-07 12:00", score="0", comment="  "), STAGED),
    (response("r_dup", responded_at="2024-03-01", score="5"), "duplicate_response_id"),
    (response("r_dup", responded_at="2024-03-02", score="7"), STAGED),
    (response("r_cdc", score="5", updated_at="2024-03-06"), "superseded_version"),
    (response("r_cdc", score="6", updated_at="2024-03-07"), STAGED),
    (response("r_early", responded_at="1900-01-01"), "too_early_timestamp"),
    (response("r_score_11", score="11"), "invalid_score"),
    (response("r_score_negative", score="-1"), "invalid_score"),
    (response("r_score_half", score="9.5"), "invalid_score"),
    (response("r_score_word", score="nine"), "invalid_score"),
    (response("r_score_empty", score=""), "invalid_score"),
    (response("r_score_null", score=None), "invalid_score"),
    (response(None), "missing_response_id"),
    (response("r_no_customer", customer_id=None), "missing_customer_id"),
    (response("r_bad_ts", responded_at="05.03.2024"), "invalid_timestamp"),
    (response("r_future", responded_at="2999-01-01"), "future_timestamp"),
]

STAGED_NPS = {
    "r1": {"customer_id": "c1", "responded_at": ts(2024, 3, 5, 9), "responded_on": date(2024, 3, 5),
           "score": 9, "response_comment": "Great"},
    "r2": {"customer_id": "c1", "responded_at": ts(2024, 3, 6), "responded_on": date(2024, 3, 6),
           "score": 10, "response_comment": None},
    "r3": {"customer_id": "c_guest", "responded_at": ts(2024, 3, 7, 12), "responded_on": date(2024, 3, 7),
           "score": 0, "response_comment": None},
    "r_dup": {"customer_id": "c1", "responded_at": ts(2024, 3, 2), "responded_on": date(2024, 3, 2),
              "score": 7, "response_comment": None},
    "r_cdc": {"customer_id": "c1", "responded_at": ts(2024, 3, 5), "responded_on": date(2024, 3, 5),
              "score": 6, "response_comment": None},
}


def spend(spent_on, channel, amount):
    return {"spent_on": spent_on, "channel": channel, "amount": amount}


SPEND = [
    (spend("2024-03-01", "Paid_Search", "$1,000.00"), STAGED),
    (spend(" 2024-03-01 ", " email ", " 250.5 "), STAGED),
    # Two identical rows are two spends.
    (spend("2024-03-02", "email", "10"), STAGED),
    (spend("2024-03-02", "email", "10"), STAGED),
    # 2024-03-02 03:00 UTC.
    (spend("2024-03-01T22:00:00-05:00", "social", "5"), STAGED),
    (spend("March 1", "social", "5"), "invalid_timestamp"),
    (spend(None, "social", "5"), "invalid_timestamp"),
    (spend("2024-02-30", "social", "5"), "invalid_timestamp"),
    (spend("2999-01-01", "social", "5"), "future_timestamp"),
    (spend("0001-01-01", "social", "5"), "too_early_timestamp"),
    (spend("2024-03-06", "\tsocial\n", "USD 5"), STAGED),
    (spend("2024-03-01", "", "5"), "missing_channel"),
    (spend("2024-03-01", None, "5"), "missing_channel"),
    (spend("2024-03-03", "social", "abc"), "invalid_amount"),
    (spend("2024-03-04", "social", None), "invalid_amount"),
    (spend("2024-03-05", "social", "-10"), "negative_amount"),
]

STAGED_SPEND = sorted([
    (date(2024, 3, 1), "paid_search", D("1000")),
    (date(2024, 3, 1), "email", D("250.5")),
    (date(2024, 3, 2), "email", D("10")),
    (date(2024, 3, 2), "email", D("10")),
    (date(2024, 3, 2), "social", D("5")),
    (date(2024, 3, 6), "social", D("5")),
])

FIXTURE = {"orders": ORDERS, "customers": CUSTOMERS, "nps_responses": NPS, "marketing_spend": SPEND}
ID_COLUMN = {"orders": "order_id", "customers": "customer_id", "nps_responses": "response_id"}


def raw_tables(fixture=FIXTURE, *, good_only=False):
    return {name: [row for row, outcome in rows if outcome == STAGED or not good_only]
            for name, rows in fixture.items()}


def raw_values(source, row):
    """definitions.md, "Row accounting": the raw columns as name=value pairs joined by '; '."""
    return "; ".join(f"{column}={'' if row[column] is None else row[column]}" for column in RAW_COLUMNS[source])


def raw_key(source, row):
    """The raw id as text, or spent_on|channel for spend; identifiers are trimmed, blank is missing."""
    def clean(value):
        return None if value is None or not value.strip() else value.strip()
    if source == "marketing_spend":
        return f"{clean(row['spent_on']) or ''}|{clean(row['channel']) or ''}"
    return clean(row[ID_COLUMN[source]])


def expected_rejections(source):
    return Counter((raw_key(source, row), outcome, raw_values(source, row))
                   for row, outcome in FIXTURE[source] if outcome != STAGED)


# --------------------------------------------------------------------------------------
# Text columns, as a CSV export leaves them
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def text_build(tmp_path_factory):
    return build(tmp_path_factory.mktemp("staging_text"), raw_tables(), extra_args=SELECT)


def rejected(build_, source):
    return build_.rows(
        "select raw_key, rejection_reason, raw_values from main.crm__rejected_rows "
        f"where source_table = '{source}'"
    )


@pytest.mark.parametrize("source", list(FIXTURE))
def test_each_bad_row_is_rejected_with_its_reason(text_build, source):
    actual = Counter((r["raw_key"], r["rejection_reason"], r["raw_values"]) for r in rejected(text_build, source))
    expected = expected_rejections(source)
    assert actual - expected == Counter(), "rejected but should not be (or with another reason)"
    assert expected - actual == Counter(), "should be rejected with this reason"


def by_id(rows, id_column):
    staged = {}
    for row in rows:
        assert row[id_column] not in staged, f"{id_column} {row[id_column]} staged twice"
        staged[row[id_column]] = row
    return staged


def test_good_orders_parse_to_exact_values(text_build):
    staged = by_id(text_build.table("stg_crm__orders"), "order_id")
    assert set(staged) == set(STAGED_ORDERS)
    for order_id, expected in STAGED_ORDERS.items():
        assert staged[order_id] == expected, order_id


def test_good_customers_parse_to_exact_values(text_build):
    staged = by_id(text_build.table("stg_crm__customers"), "customer_id")
    assert set(staged) == set(STAGED_CUSTOMERS)
    for customer_id, expected in STAGED_CUSTOMERS.items():
        assert staged[customer_id] == {"customer_id": customer_id, **expected}, customer_id


def test_customers_are_the_records_and_the_guests_of_staged_orders(text_build):
    """definitions.md: an order whose customer has no staged record (none, or one rejected) is a
    guest checkout; its customer is listed once, without a record."""
    guests = {order["customer_id"] for order in STAGED_ORDERS.values()} - set(STAGED_CUSTOMERS)
    assert {"c_guest", "c_bad_created"} <= guests
    customers = by_id(text_build.table("int_crm__customers"), "customer_id")
    assert {customer_id: row["has_customer_record"] for customer_id, row in customers.items()} == (
        {customer_id: True for customer_id in STAGED_CUSTOMERS} | {customer_id: False for customer_id in guests})


def test_good_nps_responses_parse_to_exact_values(text_build):
    staged = by_id(text_build.table("stg_crm__nps_responses"), "response_id")
    assert set(staged) == set(STAGED_NPS)
    for response_id, expected in STAGED_NPS.items():
        assert staged[response_id] == {"response_id": response_id, **expected}, response_id


def test_good_marketing_spend_parses_to_exact_values(text_build):
    staged = text_build.table("stg_crm__marketing_spend")
    assert sorted((r["spent_on"], r["channel"], r["amount"]) for r in staged) == STAGED_SPEND


STAGING_MODELS = {"orders": "stg_crm__orders", "customers": "stg_crm__customers",
                  "nps_responses": "stg_crm__nps_responses", "marketing_spend": "stg_crm__marketing_spend"}


@pytest.mark.parametrize("source", list(FIXTURE))
def test_every_raw_row_is_staged_or_rejected(text_build, source):
    raw_rows = text_build.scalar(f"select count(*) from crm_raw.src_{source}")
    staged_rows = text_build.scalar(f"select count(*) from main.{STAGING_MODELS[source]}")
    rejected_rows = text_build.scalar(
        f"select count(*) from main.crm__rejected_rows where source_table = '{source}'")
    assert raw_rows == len(FIXTURE[source])
    assert (staged_rows, rejected_rows) == (
        sum(outcome == STAGED for _, outcome in FIXTURE[source]),
        sum(outcome != STAGED for _, outcome in FIXTURE[source]),
    )
    assert raw_rows == staged_rows + rejected_rows


@pytest.mark.parametrize("source", list(FIXTURE))
def test_rejected_raw_values_contain_the_raw_id(text_build, source):
    rows = rejected(text_build, source)
    assert rows
    for row in rows:
        if source == "marketing_spend":
            spent_on, channel = row["raw_key"].split("|")
            assert f"spent_on={spent_on}" in row["raw_values"]
            assert f"channel={channel}" in row["raw_values"]
        elif row["raw_key"] is not None:
            assert f"{ID_COLUMN[source]}={row['raw_key']}" in row["raw_values"]
        else:
            assert row["rejection_reason"] == f"missing_{ID_COLUMN[source]}"


def test_rejected_row_ids_are_unique(text_build):
    ids = [r["rejected_row_id"] for r in text_build.table("crm__rejected_rows")]
    assert len(ids) == len(set(ids)) == sum(expected_rejections(s).total() for s in FIXTURE)


def test_rejected_row_ids_number_the_rows_of_each_raw_key(text_build):
    """`<source>:<raw_key>:<n>`: n counts the rejected rows of one raw key in order of reason, then
    raw values (text compared by code point); a missing key is the empty text."""
    expected = {}
    for source in FIXTURE:
        by_key = {}
        for (key, reason, values), count in expected_rejections(source).items():
            by_key.setdefault(key, []).extend([(reason, values)] * count)
        for key, rows in by_key.items():
            for n, (reason, values) in enumerate(sorted(rows), start=1):
                expected[f"{source}:{key or ''}:{n}"] = (source, key, reason, values)
    actual = {r["rejected_row_id"]: (r["source_table"], r["raw_key"], r["rejection_reason"], r["raw_values"])
              for r in text_build.table("crm__rejected_rows")}
    assert actual == expected


# --------------------------------------------------------------------------------------
# Typed columns, as a loader leaves them
# --------------------------------------------------------------------------------------

# A loader's typing of the text tables: timestamps with and without time zone, dates, decimals
# and integers. The loader (not the package) strips currency symbols and thousands separators.
def money(column):
    return f"cast(nullif(regexp_replace({column}, '[^0-9.-]', '', 'g'), '') as decimal(38, 3))"


def instant(column):
    """timestamptz of an ISO text; a value without offset is UTC whatever the session's zone."""
    text = f"nullif(trim({column}), '')"
    return (
        f"cast(case when length({text}) = 10 then {text} || ' 00:00:00+00:00' "
        f"when regexp_matches({text}, '([zZ]|[+-][0-9][0-9]:?[0-9][0-9])$') then {text} "
        f"else {text} || '+00:00' end as timestamptz)"
    )


def utc(column):
    """A plain timestamp (without time zone) holding the UTC time."""
    return f"timezone('UTC', {instant(column)})"


# The loader keeps the currency a stripped symbol or code stood for (USD, in the good rows).
LOADED_CURRENCY = ("coalesce(currency, case when regexp_matches(coalesce(amount, '') || coalesce(refunded_amount, ''), "
                   "'[$]|USD|usd') then 'USD' end)")

# `{table}` is filled in by the harness with the text table being typed.
TYPED_SQL = {
    "orders": (
        f"select order_id, customer_id, {instant('ordered_at')} as ordered_at, status, "
        f"{money('amount')} as amount, {money('refunded_amount')} as refunded_amount, {LOADED_CURRENCY} as currency, "
        f"{utc('updated_at')} as updated_at from {{table}}"
    ),
    "customers": (
        "select customer_id, email, first_name, last_name, country, acquisition_channel, "
        f"{utc('created_at')} as created_at, {utc('updated_at')} as updated_at from {{table}}"
    ),
    "nps_responses": (
        f"select response_id, customer_id, {instant('responded_at')} as responded_at, "
        f"cast(trim(score) as integer) as score, comment, {utc('updated_at')} as updated_at from {{table}}"
    ),
    "marketing_spend": (
        f"select cast({utc('spent_on')} as date) as spent_on, channel, "
        f"{money('amount')} as amount from {{table}}"
    ),
}

TIMESTAMP_REGEX = "^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}"
AMOUNT_REGEX = "([0-9]{1,20}|[0-9]{1,3}(,[0-9]{3}){1,5}|[0-9]{1,2}(,[0-9]{3}){6})([.][0-9]+)?"


@pytest.fixture(scope="module")
def typed_build(tmp_path_factory):
    return build(tmp_path_factory.mktemp("staging_typed"), raw_tables(good_only=True),
                 typed_sql=TYPED_SQL, extra_args=SELECT)


def compiled_base(build_, source):
    path = build_.target_path / "compiled/crm_retention/models/staging/crm/base" / f"base_crm__{source}.sql"
    return path.read_text()


def test_typed_raw_columns_are_typed(typed_build):
    types = {(r["table_name"], r["column_name"]): r["data_type"] for r in typed_build.rows(
        "select table_name, column_name, data_type from information_schema.columns where table_schema = 'crm_raw'")}
    assert types[("src_orders", "ordered_at")] == "TIMESTAMP WITH TIME ZONE"
    assert types[("src_orders", "updated_at")] == "TIMESTAMP"
    assert types[("src_orders", "amount")].startswith("DECIMAL")
    assert types[("src_customers", "created_at")] == "TIMESTAMP"
    assert types[("src_nps_responses", "score")] == "INTEGER"
    assert types[("src_marketing_spend", "spent_on")] == "DATE"


def test_typed_columns_stage_to_the_same_values(typed_build, text_build):
    assert typed_build.scalar("select count(*) from main.crm__rejected_rows") == 0
    for model, key in [("stg_crm__orders", "order_id"), ("stg_crm__customers", "customer_id"),
                       ("stg_crm__nps_responses", "response_id")]:
        assert by_id(typed_build.table(model), key) == by_id(text_build.table(model), key), model
    staged_spend = typed_build.table("stg_crm__marketing_spend")
    assert sorted((r["spent_on"], r["channel"], r["amount"]) for r in staged_spend) == STAGED_SPEND


def test_typed_columns_skip_string_parsing(typed_build, text_build):
    text_sql = compiled_base(text_build, "orders")
    assert TIMESTAMP_REGEX in text_sql and AMOUNT_REGEX in text_sql
    typed_sql = compiled_base(typed_build, "orders")
    assert TIMESTAMP_REGEX not in typed_sql
    assert AMOUNT_REGEX not in typed_sql
    for source in ["customers", "nps_responses", "marketing_spend"]:
        assert TIMESTAMP_REGEX in compiled_base(text_build, source), source
        assert TIMESTAMP_REGEX not in compiled_base(typed_build, source), source


# --------------------------------------------------------------------------------------
# Optional sources switched off
# --------------------------------------------------------------------------------------

def test_optional_sources_switched_off(tmp_path):
    """Without NPS and spend tables (the harness sets crm_using_nps and crm_using_marketing_spend
    to false), their staging models are not built and the rejected rows cover orders and customers."""
    tables = {"orders": [row for row, _ in ORDERS[:3]] + [order("o_bad", amount="abc")],
              "customers": [row for row, _ in CUSTOMERS[:1]]}
    result = build(tmp_path, tables, extra_args=SELECT)
    relations = {r["table_name"] for r in result.rows(
        "select table_name from information_schema.tables where table_schema = 'main'")}
    assert {"base_crm__orders", "stg_crm__orders", "stg_crm__customers", "crm__rejected_rows"} <= relations
    assert not relations & {"base_crm__nps_responses", "stg_crm__nps_responses",
                            "base_crm__marketing_spend", "stg_crm__marketing_spend"}
    assert [(r["source_table"], r["raw_key"], r["rejection_reason"]) for r in result.table("crm__rejected_rows")] == [
        ("orders", "o_bad", "invalid_amount")]


# --------------------------------------------------------------------------------------
# Typed values that do not fit: rejected rows, never a build error
# --------------------------------------------------------------------------------------

NON_FINITE_ORDERS = {
    # order_id: (typed amount, typed ordered_at, expected outcome)
    "t_good": ("12.5", "2024-03-05", STAGED),
    "t_nan": ("nan", "2024-03-05", "invalid_amount"),
    "t_infinity": ("inf", "2024-03-05", "invalid_amount"),
    "t_minus_infinity": ("-inf", "2024-03-05", "invalid_amount"),
    "t_too_big": ("1e35", "2024-03-05", "invalid_amount"),
    # Sums of amounts must fit the money type: an amount is below 10^20 in size.
    "t_1e32": ("1e32", "2024-03-05", "invalid_amount"),
    "t_1e20": ("1e20", "2024-03-05", "invalid_amount"),
    "t_below_1e20": ("9.5e19", "2024-03-05", STAGED),
    "t_minus_infinity_date": ("1", "-infinity", "too_early_timestamp"),
    "t_infinity_date": ("1", "infinity", "future_timestamp"),
    "t_zero_date": ("1", "0001-01-01", "too_early_timestamp"),
}


def test_typed_nan_infinity_and_overflow_are_rejected_rows(tmp_path):
    """A double amount of NaN, +-infinity or 1e35, or a typed timestamp of +-infinity, is a
    rejected row with its reason (docs/definitions.md), and the build passes."""
    rows = [order(order_id, amount=amount, ordered_at=ordered_at)
            for order_id, (amount, ordered_at, _) in NON_FINITE_ORDERS.items()]
    typed = {"orders": (
        "select order_id, customer_id, cast(ordered_at as timestamp) as ordered_at, status, "
        "cast(amount as double) as amount, refunded_amount, currency, updated_at from {table}"
    )}
    result = build(tmp_path, {"orders": rows, "customers": [customer("c1")]}, typed_sql=typed, extra_args=SELECT)
    outcomes = {r["raw_key"]: r["rejection_reason"] for r in rejected(result, "orders")}
    staged = {r["order_id"]: r["amount"] for r in result.table("stg_crm__orders")}
    assert set(staged) == {"t_good", "t_below_1e20"} and staged["t_good"] == D("12.5")
    # DuckDB's cast of a double this large to a decimal is exact to about 16 digits.
    assert abs(staged["t_below_1e20"] / D("9.5e19") - 1) < D("1e-12")
    assert outcomes == {k: v for k, (_, _, v) in NON_FINITE_ORDERS.items() if v != STAGED}


# --------------------------------------------------------------------------------------
# Currencies: rates keep their precision, rates and converted amounts out of range are rejected
# --------------------------------------------------------------------------------------

def rate(currency, value, rate_date="2024-01-01"):
    return {"rate_date": rate_date, "currency": currency, "rate": value}


# (raw rate, expected outcome), definitions.md "Currencies": a rate lies from 10^-12 to 10^12.
RATES = [
    (rate("VND", "0.0000393"), STAGED),
    (rate("JPY", "0.0007236"), STAGED),
    # As a spreadsheet writes a small rate.
    (rate("IDR", "6.4E-05"), STAGED),
    # 10^-7 is a rate, not "not a number above 0".
    (rate("ZZB", "0.0000001"), STAGED),
    (rate("ZZE", "1000000000"), STAGED),
    (rate("ZZA", "0.0000000000001"), "rate_out_of_range"),
    (rate("ZZC", "10000000000000000000000000000000"), "rate_out_of_range"),
    (rate("ZZD", "0"), "invalid_rate"),
    (rate("ZZF", "-1"), "invalid_rate"),
    (rate("ZZG", "abc"), "invalid_rate"),
]

# (raw order, expected outcome); the staged amounts, worked by hand, in CURRENCY_ORDERS.
RATED_ORDERS = [
    (order("r_vnd", amount="1000000", currency="VND"), STAGED),
    (order("r_jpy", amount="1000", currency="jpy"), STAGED),
    (order("r_idr", amount="1000000", currency="IDR"), STAGED),
    (order("r_zzb", amount="10", currency="ZZB"), STAGED),
    (order("r_zze", amount="1000", currency="ZZE"), STAGED),
    # No currency column value: the amount's code is the currency.
    (order("r_vnd_text", amount="VND 2,000,000"), STAGED),
    (order("r_dollar", amount="$5"), STAGED),
    # "EUR 100" is not 100 USD: no EUR rate, so no conversion.
    (order("r_eur_text", amount="EUR 100"), "missing_exchange_rate"),
    (order("r_rate_rejected", amount="10", currency="ZZA"), "missing_exchange_rate"),
    (order("r_rate_huge", amount="10", currency="ZZC"), "missing_exchange_rate"),
    # 2 * 10^11 at 10^9: 2 * 10^20 converted, beyond the bound.
    (order("r_converted_too_big", amount="200000000000", currency="ZZE"), "invalid_amount"),
    (order("r_mismatch", amount="EUR 100", currency="VND"), "currency_mismatch"),
]

# order_id: (currency, original amount, amount in USD): original x rate, rounded once to 6 decimals.
CURRENCY_ORDERS = {
    "r_vnd": ("VND", D("1000000"), D("39.300000")),
    "r_jpy": ("jpy", D("1000"), D("0.723600")),
    "r_idr": ("IDR", D("1000000"), D("64.000000")),
    "r_zzb": ("ZZB", D("10"), D("0.000001")),
    "r_zze": ("ZZE", D("1000"), D("1000000000000")),
    "r_vnd_text": ("VND", D("2000000"), D("78.600000")),
    "r_dollar": ("USD", D("5"), D("5")),
}


# Typed as a loader leaves rates: DOUBLE (text that is no number becomes null, an invalid_rate too).
TYPED_RATES = {"exchange_rates": "select rate_date, currency, try_cast(rate as double) as rate from {table}"}


@pytest.fixture(scope="module", params=["text", "double"])
def currency_build(tmp_path_factory, request):
    tables = {"orders": [row for row, _ in RATED_ORDERS], "customers": [customer("c1")],
              "exchange_rates": [row for row, _ in RATES]}
    return build(tmp_path_factory.mktemp(f"staging_currency_{request.param}"), tables, extra_args=SELECT,
                 typed_sql=TYPED_RATES if request.param == "double" else None)


@pytest.mark.parametrize("source, fixture", [("exchange_rates", RATES), ("orders", RATED_ORDERS)])
def test_rates_and_rated_orders_are_rejected_with_their_reason(currency_build, source, fixture):
    actual = Counter(r["rejection_reason"] for r in rejected(currency_build, source))
    assert actual == Counter(outcome for _, outcome in fixture if outcome != STAGED)


def test_rates_keep_their_precision_and_money_is_rounded_once(currency_build):
    """1,000,000 VND at 0.0000393 is 39.30 USD (through the money type the rate was 0.000039: 39.00)."""
    staged = {r["order_id"]: (r["currency"], r["original_amount"], r["amount"], r["net_revenue"])
              for r in currency_build.table("stg_crm__orders")}
    assert staged == {order_id: (currency, original, amount, amount)
                      for order_id, (currency, original, amount) in CURRENCY_ORDERS.items()}
    rates = {r["currency"]: r["rate"] for r in currency_build.rows(
        "select currency, rate from main.base_crm__exchange_rates where rejection_reason is null")}
    assert rates == {"VND": 0.0000393, "JPY": 0.0007236, "IDR": 0.000064, "ZZB": 1e-7, "ZZE": 1e9}
