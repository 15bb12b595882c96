{#-
    Orders that passed cleaning, one row per order_id: the only way downstream models read
    orders. An order whose customer has no customer record (a guest checkout) is staged like any
    other: int_crm__customers finds the guests, once per customer, so no reader of the orders
    pays a join to the customers (DuckDB keeps a left join a reader does not select from).
    At crm_orders_grain: line the staged lines of an order sum to the order (its lines agree on
    every order-level value, base_crm__orders checks it), and `lines` counts them.
    With crm_reporting_currency set, every amount is converted to it; the original currency
    and amounts stay for audit.
-#}
{%- set is_line_grain = crm_retention.get_orders_grain() == 'line' -%}
{%- set reporting_currency = crm_retention.get_reporting_currency() -%}
{%- set money = crm_retention.type_money() -%}

with

orders as (

    select * from {{ ref('base_crm__orders') }}
    where rejection_reason is null

),

{%- set exchange_rate = 'exchange_rate' if reporting_currency else 'cast(1 as ' ~ crm_retention.type_rate() ~ ')' %}

-- The order's amounts in its own currency. At line grain a return line (a negative amount,
-- crm_order_line_returns: net) is a refund of its amount: the order's amount stays the sum of
-- its sales, and net revenue (below) is floored at 0 per order.
order_totals as (
    {%- if is_line_grain %}

    -- The lines of an order agree on customer, time, status and currency: min() picks the value.
    select
        order_id,
        min(customer_id) as customer_id,
        min(ordered_at) as ordered_at,
        min(order_date) as order_date,
        min(status) as status,
        min(status_class) as status_class,
        min(currency) as currency,
        sum(case when amount >= 0 then amount else 0 end) as original_amount,
        sum(case when amount < 0 then coalesce(refunded_amount, 0) - amount else refunded_amount end)
            as original_refunded_amount,
        min({{ exchange_rate }}) as exchange_rate,
        max(updated_at) as updated_at,
        cast(count(*) as {{ dbt.type_bigint() }}) as lines  -- noqa: RF04
    from orders
    group by order_id
    {%- else %}

    select
        order_id,
        customer_id,
        ordered_at,
        order_date,
        status,
        status_class,
        currency,
        amount as original_amount,
        refunded_amount as original_refunded_amount,
        {{ exchange_rate }} as exchange_rate,
        updated_at,
        cast(1 as {{ dbt.type_bigint() }}) as lines  -- noqa: RF04
    from orders
    {%- endif %}

),

-- In the reporting currency: an order in it keeps its exact amounts; any other goes through its
-- rate as a float and is rounded to money once, here (docs/definitions.md, "Currencies").
converted as (

    select
        *,
        case
            when exchange_rate = 1 then original_amount
            else cast(cast(original_amount as {{ crm_retention.type_rate() }}) * exchange_rate as {{ money }})
        end as amount,
        case
            when exchange_rate = 1 then original_refunded_amount
            else cast(cast(original_refunded_amount as {{ crm_retention.type_rate() }}) * exchange_rate as {{ money }})
        end as refunded_amount
    from order_totals

),

final as (

    select
        converted.order_id,
        converted.customer_id,
        converted.ordered_at,
        converted.order_date,
        converted.status,
        converted.status_class,
        converted.status_class = 'counted' as is_counted,
        converted.amount,
        converted.refunded_amount,
        case
            when converted.amount - coalesce(converted.refunded_amount, 0) > 0
                then converted.amount - coalesce(converted.refunded_amount, 0)
            else cast(0 as {{ money }})
        end as net_revenue,
        converted.currency,
        converted.original_amount,
        converted.original_refunded_amount,
        converted.exchange_rate,
        converted.lines,
        converted.updated_at
    from converted

)

select * from final
