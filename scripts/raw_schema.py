"""The raw contract in one place: the raw tables, the default statuses, the rejection reasons.

The contract of SPEC section 1 and docs/definitions.md ("Raw inputs", "Cleaning"), for the Python
side of the project: the test harness that writes raw tables (tests/python/dbt_project_runner.py),
the independent reference (tests/python/reference.py), the benchmark's peers and both data
generators import these lists instead of restating them. The dbt side keeps its own copies where
dbt needs them (the column specs in macros/source_columns.sql and the sources' YAML, the status
vars in dbt_project.yml, the reasons in the base models and their accepted_values tests);
tests/python/test_raw_schema.py checks every copy, and the documentation, against these lists.
"""

from __future__ import annotations

# The schema the tests and the benchmark write their raw tables into.
RAW_SCHEMA = "crm_raw"

# The columns read from each raw source, in this order (the order of `raw_values` in
# crm__rejected_rows and of the tie-break between versions of one key).
RAW_COLUMNS: dict[str, list[str]] = {
    "orders": [
        "order_id", "customer_id", "ordered_at", "status", "amount", "refunded_amount", "currency", "updated_at",
    ],
    "customers": [
        "customer_id", "email", "first_name", "last_name", "country", "acquisition_channel", "created_at", "updated_at",
    ],
    "nps_responses": ["response_id", "customer_id", "responded_at", "score", "comment", "updated_at"],
    "marketing_spend": ["spent_on", "channel", "amount"],
    "exchange_rates": ["rate_date", "currency", "rate"],
}

# The defaults of crm_counted_statuses (a purchase happened) and crm_ignored_statuses (kept in
# staging, never counted); a status in neither list is rejected.
COUNTED_STATUSES: list[str] = ["completed", "shipped", "delivered", "paid", "placed"]
IGNORED_STATUSES: list[str] = ["cancelled", "canceled", "failed", "pending", "test", "returned", "refunded", "draft"]

# The reasons a raw row of each source is rejected, in the order they are checked (a row gets the
# first that applies): docs/definitions.md, "In detail: cleaning (staging)".
REJECTION_REASONS: dict[str, list[str]] = {
    "orders": [
        "missing_order_id", "superseded_version", "duplicate_order_id", "conflicting_order_lines",
        "missing_customer_id", "invalid_timestamp", "too_early_timestamp", "future_timestamp", "unknown_status",
        "invalid_amount", "negative_amount", "invalid_refunded_amount", "currency_mismatch", "missing_exchange_rate",
    ],
    "customers": [
        "missing_customer_id", "superseded_version", "duplicate_customer_id", "invalid_timestamp",
        "too_early_timestamp", "future_timestamp",
    ],
    "nps_responses": [
        "missing_response_id", "superseded_version", "duplicate_response_id", "missing_customer_id",
        "invalid_timestamp", "too_early_timestamp", "future_timestamp", "invalid_score",
    ],
    "marketing_spend": [
        "invalid_timestamp", "too_early_timestamp", "future_timestamp", "missing_channel", "invalid_amount",
        "negative_amount",
    ],
    "exchange_rates": ["invalid_timestamp", "too_early_timestamp", "missing_currency", "invalid_rate",
                       "rate_out_of_range", "duplicate_exchange_rate"],
}
# In incremental mode the base tables keep the rows of a key that left the raw table, with this
# reason (docs/incremental.md, tombstones); no raw row is rejected with it.
TOMBSTONE_REASON = "deleted_from_source"
