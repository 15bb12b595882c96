"""The raw tables the package reads, and its default order statuses, in one place.

The contract of SPEC section 1 and docs/definitions.md ("Raw inputs"), for the Python side of
the project: the test harness that writes raw tables (tests/python/dbt_project_runner.py), the
independent reference (tests/python/reference.py), the benchmark's peers and both data
generators import these lists instead of restating them. The dbt side keeps its own copy where
dbt needs it (the status vars in dbt_project.yml); tests/python/test_raw_schema.py checks the
two agree.
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
