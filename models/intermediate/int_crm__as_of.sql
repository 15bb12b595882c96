{#-
    One row: the as-of date of every metric (crm_as_of_date, or else the latest counted order
    date) and the first counted order date on or before it, where the period spine starts.
    Read from int_crm__orders, which holds every counted order up to a pinned as-of date and all
    of them without one, so both dates are the same as over the staged orders: in incremental
    mode that is a scan of one date column of a table instead of the staged orders' view.
-#}
{%- set as_of_date = crm_retention.get_as_of_date() -%}

with

counted_orders as (

    select order_date from {{ ref('int_crm__orders') }}

),

as_of as (

    {% if as_of_date -%}
    select cast('{{ as_of_date }}' as date) as as_of_date
    {%- else -%}
    select max(order_date) as as_of_date
    from counted_orders
    {%- endif %}

),

first_order as (

    select min(counted_orders.order_date) as first_order_date
    from counted_orders
    inner join as_of
        on counted_orders.order_date <= as_of.as_of_date

),

final as (

    select
        as_of.as_of_date,
        first_order.first_order_date
    from as_of
    cross join first_order

)

select * from final
