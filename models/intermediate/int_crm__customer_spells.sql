{#-
    The window model of SPEC section 3: a customer is active for W days after each counted order;
    overlapping windows merge into spells. One row per spell. An order opens a new spell when it
    comes W or more days after the previous order day (half-open windows that only touch do not
    overlap). A spell's end (last order + W) is a churn once it is on or before the as-of date;
    that test lives in the marts, so this table depends only on a customer's own orders.
-#}
{{ config(
    materialized=crm_retention.heavy_materialization(),
    incremental_strategy='append',
    pre_hook="{{ crm_retention.delete_changed_customers() }}",
) }}
{{ crm_retention.depends_on_changed_customers() }}
{%- set window_days = crm_retention.get_churn_window_days() -%}

with

orders as (

    select * from {{ ref('int_crm__orders') }}
    {{ crm_retention.changed_customers_only() }}

),

order_days as (

    select
        customer_id,
        order_date,
        count(*) as orders,
        sum(net_revenue) as net_revenue
    from orders
    group by customer_id, order_date

),

gaps as (

    select
        *,
        lag(order_date) over (partition by customer_id order by order_date) as previous_order_date
    from order_days

),

spell_starts as (

    select
        *,
        case
            when previous_order_date is null then 1
            when {{ crm_retention.days_between('previous_order_date', 'order_date') }} >= {{ window_days }} then 1
            else 0
        end as is_spell_start
    from gaps

),

numbered as (

    select
        *,
        sum(is_spell_start) over (
            partition by customer_id
            order by order_date
            rows between unbounded preceding and current row
        ) as spell_number
    from spell_starts

),

spells as (

    select
        customer_id,
        spell_number,
        min(order_date) as spell_started_on,
        max(order_date) as last_order_date,
        sum(orders) as spell_orders,
        sum(net_revenue) as spell_revenue
    from numbered
    group by customer_id, spell_number

),

final as (

    select
        spells.customer_id,
        spells.spell_number,
        spells.spell_started_on,
        spells.last_order_date,
        {{ crm_retention.add_days('spells.last_order_date', window_days) }} as spell_ends_on,
        spells.spell_orders,
        spells.spell_revenue,
        sum(spells.spell_orders) over (
            partition by spells.customer_id
            order by spells.spell_number
            rows between unbounded preceding and current row
        ) as lifetime_orders,
        sum(spells.spell_revenue) over (
            partition by spells.customer_id
            order by spells.spell_number
            rows between unbounded preceding and current row
        ) as lifetime_revenue
    from spells

)

select * from final
