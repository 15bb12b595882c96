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

{%- if reporting_currency %}

-- Orders in the reporting currency keep their exact amounts; others go through the float rate.
converted as (

    select
        *,
        {%- for column in ['amount', 'refunded_amount'] %}
        case
            when exchange_rate = 1 then {{ column }}
            else cast(cast({{ column }} as {{ crm_retention.type_rate() }}) * exchange_rate as {{ money }})
        end as reporting_{{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from orders

),
{%- endif %}
{%- set source_cte = 'converted' if reporting_currency else 'orders' %}
{%- set amount = 'reporting_amount' if reporting_currency else 'amount' %}
{%- set refunded_amount = 'reporting_refunded_amount' if reporting_currency else 'refunded_amount' %}
{%- set exchange_rate = 'exchange_rate' if reporting_currency else 'cast(1 as ' ~ crm_retention.type_rate() ~ ')' %}

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
        sum({{ amount }}) as amount,
        sum({{ refunded_amount }}) as refunded_amount,
        min(currency) as currency,
        sum(amount) as original_amount,
        sum(refunded_amount) as original_refunded_amount,
        min({{ exchange_rate }}) as exchange_rate,
        max(updated_at) as updated_at,
        cast(count(*) as {{ dbt.type_bigint() }}) as lines  -- noqa: RF04
    from {{ source_cte }}
    group by order_id
    {%- else %}

    select
        order_id,
        customer_id,
        ordered_at,
        order_date,
        status,
        status_class,
        {{ amount }} as amount,
        {{ refunded_amount }} as refunded_amount,
        currency,
        amount as original_amount,
        refunded_amount as original_refunded_amount,
        {{ exchange_rate }} as exchange_rate,
        updated_at,
        cast(1 as {{ dbt.type_bigint() }}) as lines  -- noqa: RF04
    from {{ source_cte }}
    {%- endif %}

),

final as (

    select
        order_totals.order_id,
        order_totals.customer_id,
        order_totals.ordered_at,
        order_totals.order_date,
        order_totals.status,
        order_totals.status_class,
        order_totals.status_class = 'counted' as is_counted,
        order_totals.amount,
        order_totals.refunded_amount,
        case
            when order_totals.amount - coalesce(order_totals.refunded_amount, 0) > 0
                then order_totals.amount - coalesce(order_totals.refunded_amount, 0)
            else cast(0 as {{ money }})
        end as net_revenue,
        order_totals.currency,
        order_totals.original_amount,
        order_totals.original_refunded_amount,
        order_totals.exchange_rate,
        order_totals.lines,
        order_totals.updated_at
    from order_totals

)

select * from final
