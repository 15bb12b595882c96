"""Synthetic raw tables for the benchmark and the pandas peer test, generated inside DuckDB.

Every column is a pure function of the row number and N (DuckDB's seeded `hash`), so a given N
always gives the same rows and 50M orders generate in seconds without Python loops. The tables
follow the raw contract of SPEC section 1, typed as a loader leaves them.

Shape: about N / 10 customers, acquired over three years (more of them later, as a growing
business), each with a number of orders (40% buy once; the rest are geometric with a long tail)
spread over a lifetime span, so order gaps beyond the 90-day window, churn and reactivation all
occur. A few percent of orders are cancelled, refunded or pending, a few have partial refunds, a
few statuses are upper-cased or padded the way source systems send them, about 0.2% of orders
have an older version (an earlier `updated_at`) that de-duplication must drop, and every 50th
ordering customer has no customer record (guest checkout).

Ids are text ('o123', 'c45') by default; `integer_ids=True` gives `order_id` and `customer_id`
(in orders, customers and NPS responses) as bigint numbers instead, as many warehouses hold them,
with every other value unchanged.
"""

from __future__ import annotations

import duckdb

from raw_schema import RAW_COLUMNS, RAW_SCHEMA

TABLES = {
    "orders": "raw_orders",
    "customers": "raw_customers",
    "nps_responses": "raw_nps_responses",
    "marketing_spend": "raw_marketing_spend",
}
# Fixed calendar, well before any build date, so no order is ever "future".
FIRST_DAY = "2023-01-01"
DAYS = 1096  # 2023-01-01 .. 2025-12-31
FIRST_EPOCH = 1672531200  # FIRST_DAY in seconds since 1970, UTC
CHANNELS = ["organic", "paid_search", "social", "email", "referral"]


def _u(key: str, salt: int) -> str:
    """A uniform [0, 1) value derived from `key` and a per-column salt."""
    return f"((hash({key}, {salt}) % 1000000007) / 1000000007.0)"


def _id(prefix: str, number: str, integer_ids: bool) -> str:
    """An id column's expression: the number as bigint, or as text after a one-letter prefix."""
    if integer_ids:
        return f"cast({number} as bigint)"
    return f"'{prefix}' || cast({number} as varchar)"


def source_vars() -> dict:
    """dbt vars that point the package at the generated tables."""
    values = {"crm_schema": RAW_SCHEMA}
    for name, identifier in TABLES.items():
        values[f"crm_{name}_identifier"] = identifier
    return values


def generate(con: duckdb.DuckDBPyConnection, n_orders: int, *, with_nps: bool = True,
             with_spend: bool = True, integer_ids: bool = False) -> dict[str, int]:
    """(Re)create the raw tables for `n_orders` orders in schema crm_raw; return row counts."""
    n_customers = max(1, n_orders // 10)
    channels = "[" + ", ".join(f"'{c}'" for c in CHANNELS) + "]"
    con.execute(f"create schema if not exists {RAW_SCHEMA}")

    # Customers first: orders per customer, scaled so the counts add up to exactly n_orders,
    # an acquisition day and a lifetime span. Later orders of a customer fall inside the span.
    con.execute(f"""
        create or replace temp table bench_customer_plan as
        with drawn as (
            select
                c,
                {_u('c', 1)} < 0.4 as buys_once,
                cast(floor({DAYS} * pow({_u('c', 3)}, 0.75)) as bigint) as acquired_day,
                cast(floor(-ln(1 - {_u('c', 4)}) * 420.0) as bigint) as span_days,
                10.0 - ln(1 - {_u('c', 2)}) * 40.0 as mean_gap_days
            from range({n_customers}) as t(c)
        ),
        base as (
            select
                c,
                acquired_day,
                least(span_days, {DAYS} - 1 - acquired_day) as span_days,
                -- A repeat buyer orders about every mean_gap_days while their lifetime lasts.
                case
                    when buys_once then 1
                    else 2 + cast(floor(least(span_days, {DAYS} - 1 - acquired_day) / mean_gap_days) as bigint)
                end as weight
            from drawn
        ),
        -- One-time buyers get exactly one order; repeat buyers share the rest in proportion to
        -- their weight, with integer arithmetic so the counts add up to exactly n_orders.
        cumulative as (
            select
                *,
                coalesce(sum(case when weight = 1 then 1 else 0 end) over preceding, 0) as once_before,
                coalesce(sum(case when weight > 1 then weight else 0 end) over preceding, 0) as repeat_before,
                sum(case when weight = 1 then 1 else 0 end) over () as once_total,
                sum(case when weight > 1 then weight else 0 end) over () as repeat_total
            from base
            window preceding as (order by c rows between unbounded preceding and 1 preceding)
        ),
        positioned as (
            select
                *,
                once_before + ({n_orders} - once_total) * repeat_before // repeat_total as first_order
            from cumulative
        )
        select
            c,
            acquired_day,
            span_days,
            cast(first_order as bigint) as first_order,
            cast(case
                when weight = 1 then first_order + 1
                else once_before + ({n_orders} - once_total) * (repeat_before + weight) // repeat_total
            end as bigint) as next_first_order
        from positioned
    """)

    con.execute(f"""
        create or replace table {RAW_SCHEMA}.{TABLES['orders']} as
        with orders as (
            select
                plan.c,
                unnest(range(plan.first_order, plan.next_first_order)) as i,
                plan.first_order,
                plan.acquired_day,
                plan.span_days
            from bench_customer_plan as plan
            where plan.next_first_order > plan.first_order
        ),
        shaped as (
            select
                i,
                c,
                -- A customer's first order is on the acquisition day; the rest spread over the span.
                acquired_day + case
                    when i = first_order then 0
                    else cast(floor({_u('i', 11)} * (span_days + 1)) as bigint)
                end as day_number,
                cast(floor({_u('i', 12)} * 86400) as bigint) as second_of_day,
                hash(i, 13) % 1000 as status_draw,
                cast((500 + hash(i, 14) % 20000) / 100.0 as decimal(18, 2)) as amount
            from orders
        ),
        typed as (
            select
                i,
                {_id('o', 'i', integer_ids)} as order_id,
                {_id('c', 'c', integer_ids)} as customer_id,
                make_timestamp(({FIRST_EPOCH} + day_number * 86400 + second_of_day) * 1000000)
                    as ordered_at,
                case
                    when status_draw < 25 then 'cancelled'
                    when status_draw < 35 then 'refunded'
                    when status_draw < 40 then 'pending'
                    when status_draw < 45 then 'Completed'
                    when status_draw < 48 then ' shipped '
                    when status_draw % 3 = 0 then 'completed'
                    when status_draw % 3 = 1 then 'shipped'
                    else 'delivered'
                end as status,
                amount,
                case
                    when hash(i, 15) % 100 < 3 then cast(round(amount * 0.3, 2) as decimal(18, 2))
                end as refunded_amount,
                case when hash(i, 16) % 10 < 8 then 'USD' else 'EUR' end as currency,
                ordered_at + to_seconds(3600 + cast(hash(i, 18) % 259200 as bigint)) as updated_at
            from shaped
        )
        select {', '.join(RAW_COLUMNS['orders'])}
        from typed
    """)
    # The superseded version of a few orders: placed, then changed an hour or more later.
    con.execute(f"""
        insert into {RAW_SCHEMA}.{TABLES['orders']}
        select order_id, customer_id, ordered_at, 'pending', amount, null, currency, ordered_at
        from {RAW_SCHEMA}.{TABLES['orders']}
        where hash({'order_id' if integer_ids else 'cast(substr(order_id, 2) as bigint)'}, 17) % 1000 < 2
    """)

    con.execute(f"""
        create or replace table {RAW_SCHEMA}.{TABLES['customers']} as
        select
            {_id('c', 'c', integer_ids)} as customer_id,
            'customer' || cast(c as varchar) || '@example.com' as email,
            'First' || cast(c % 997 as varchar) as first_name,
            'Last' || cast(c % 991 as varchar) as last_name,
            (['US', 'GB', 'DE', 'FR', 'NL'])[cast(1 + hash(c, 21) % 5 as bigint)] as country,
            {channels}[cast(1 + hash(c, 22) % {len(CHANNELS)} as bigint)] as acquisition_channel,
            make_timestamp(({FIRST_EPOCH} + greatest(acquired_day - 3, 0) * 86400) * 1000000)
                as created_at,
            make_timestamp(({FIRST_EPOCH} + acquired_day * 86400) * 1000000) as updated_at
        from bench_customer_plan
        where c % 50 <> 49
        union all
        -- Sign-ups who never ordered.
        select
            {_id('c', 'c', integer_ids)}, null, null, null, null, null,
            timestamp '{FIRST_DAY}' + to_days(cast(hash(c, 23) % {DAYS} as integer)), null
        from range({n_customers}, {n_customers} + greatest({n_customers} // 100, 1)) as t(c)
    """)

    counts = {}
    if with_nps:
        n_responses = max(1, n_orders // 50)
        con.execute(f"""
            create or replace table {RAW_SCHEMA}.{TABLES['nps_responses']} as
            select
                'r' || cast(r as varchar) as response_id,
                {_id('c', f'hash(r, 31) % {n_customers}', integer_ids)} as customer_id,
                make_timestamp(({FIRST_EPOCH} + cast(hash(r, 32) % ({DAYS} * 86400) as bigint)) * 1000000)
                    as responded_at,
                cast(hash(r, 33) % 11 as integer) as score,
                case when hash(r, 34) % 10 = 0 then 'comment ' || cast(r as varchar) end as comment
            from range({n_responses}) as t(r)
        """)
    if with_spend:
        con.execute(f"""
            create or replace table {RAW_SCHEMA}.{TABLES['marketing_spend']} as
            select
                cast(date '{FIRST_DAY}' + cast(d as integer) as date) as spent_on,
                {channels}[cast(1 + ch as bigint)] as channel,
                cast((hash(d, ch, 41) % 100000) / 100.0 * greatest({n_orders} / 1000000.0, 0.01)
                    as decimal(18, 2)) as amount
            from range({DAYS}) as days(d)
            cross join range({len(CHANNELS)}) as ch(ch)
            where {channels}[cast(1 + ch as bigint)] <> 'organic'
        """)
    con.execute("drop table bench_customer_plan")
    for name, identifier in TABLES.items():
        if (name == "nps_responses" and not with_nps) or (name == "marketing_spend" and not with_spend):
            continue
        counts[name] = con.execute(f"select count(*) from {RAW_SCHEMA}.{identifier}").fetchone()[0]
    return counts


if __name__ == "__main__":
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database")
    parser.add_argument("orders", type=int)
    parser.add_argument("--integer-ids", action="store_true", help="bigint order_id and customer_id")
    args = parser.parse_args()
    started = time.perf_counter()
    with duckdb.connect(args.database) as connection:
        print(generate(connection, args.orders, integer_ids=args.integer_ids), f"{time.perf_counter() - started:.1f}s")
