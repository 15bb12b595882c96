{#-
    Counted orders up to the as-of date: the only orders any metric sees. A view in full builds
    (its readers scan it once each); a table in incremental mode.
-#}
{{ crm_retention.incremental_by_customer(full_build='view') }}

with

orders as (

    select * from {{ ref('stg_crm__orders') }}
    {{ crm_retention.changed_customers_only() }}

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.order_date,
        {{ crm_retention.period_start('orders.order_date') }} as period_start,
        orders.net_revenue
    from orders
    inner join as_of
        on orders.order_date <= as_of.as_of_date
    where orders.is_counted

)

select * from final
