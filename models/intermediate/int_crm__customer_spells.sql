{#-
    The window model of SPEC section 3: a customer is active for W days after each counted order;
    overlapping windows merge into spells. One row per spell. An order opens a new spell when it
    comes W or more days after the previous order day (half-open windows that only touch do not
    overlap). A spell's end (last order + W) is a churn once it is on or before the as-of date;
    that test lives in the marts, so this table depends only on a customer's own orders.

    One sort of the orders does the work: each order learns its neighbours' dates and the
    customer's running totals. Only the orders that open or close a spell go on (a few per
    customer), and there the closing order finds the opening one as its predecessor: a spell's
    figures are differences of running totals.
-#}
{{ crm_retention.incremental_by_customer(settings=['orders', 'periods', 'churn'], log='stg_crm__order_changes', upstream='int_crm__orders') }}
{%- set window_days = crm_retention.get_churn_window_days() -%}
{%- set by_order = 'partition by customer_id order by order_date, ordered_at, order_id' -%}
{%- set by_boundary = 'partition by customer_id order by lifetime_orders' %}

with

orders as (

    select * from {{ ref('int_crm__orders') }}
    {{ crm_retention.changed_customers_only() }}

),

-- Ties on a day are ordered by time and id, so the running totals are the same on every engine.
neighbours as (

    select
        customer_id,
        order_date,
        lag(order_date) over ({{ by_order }}) as previous_order_date,
        lead(order_date) over ({{ by_order }}) as next_order_date,
        count(*) over ({{ by_order }} rows between unbounded preceding and current row) as lifetime_orders,
        sum(net_revenue) over ({{ by_order }} rows between unbounded preceding and current row) as lifetime_revenue,
        net_revenue
    from orders

),

boundaries as (

    select
        customer_id,
        order_date,
        lifetime_orders,
        lifetime_revenue,
        lifetime_orders - 1 as orders_before,
        lifetime_revenue - net_revenue as revenue_before,
        previous_order_date is null
        or {{ crm_retention.days_between('previous_order_date', 'order_date') }} >= {{ window_days }} as is_spell_start,
        next_order_date is null
        or {{ crm_retention.days_between('order_date', 'next_order_date') }} >= {{ window_days }} as is_spell_end,
        next_order_date is null as is_last_order
    from neighbours

),

-- The opening and closing orders alone: a closing order that does not open its spell follows
-- the order that does.
paired as (

    select
        *,
        sum(case when is_spell_start then 1 else 0 end) over (
            {{ by_boundary }}
            rows between unbounded preceding and current row
        ) as spell_number,
        lag(order_date) over ({{ by_boundary }}) as previous_boundary_date,
        lag(orders_before) over ({{ by_boundary }}) as previous_orders_before,
        lag(revenue_before) over ({{ by_boundary }}) as previous_revenue_before
    from boundaries
    where is_spell_start or is_spell_end

),

final as (

    select
        customer_id,
        spell_number,
        case when is_spell_start then order_date else previous_boundary_date end as spell_started_on,
        order_date as last_order_date,
        {{ crm_retention.add_days('order_date', window_days) }} as spell_ends_on,
        lifetime_orders - case when is_spell_start then orders_before else previous_orders_before end
            as spell_orders,
        lifetime_revenue - case when is_spell_start then revenue_before else previous_revenue_before end
            as spell_revenue,
        lifetime_orders,
        lifetime_revenue,
        is_last_order as is_latest_spell
    from paired
    where is_spell_end

)

select * from final
