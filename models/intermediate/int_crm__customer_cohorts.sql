{#- One row per customer with a counted order: cohort (period of the first order) and lifetime figures. -#}
{{ config(
    materialized=crm_retention.heavy_materialization(),
    incremental_strategy='append',
    pre_hook="{{ crm_retention.delete_changed_customers() }}",
) }}
{{ crm_retention.depends_on_changed_customers() }}

with

orders as (

    select * from {{ ref('int_crm__orders') }}
    {{ crm_retention.changed_customers_only() }}

),

customers as (

    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) as orders,
        sum(net_revenue) as net_revenue
    from orders
    group by customer_id

),

final as (

    select
        customers.customer_id,
        {{ crm_retention.period_start('customers.first_order_date') }} as cohort_period,
        customers.first_order_date,
        customers.last_order_date,
        customers.orders,
        customers.net_revenue
    from customers

)

select * from final
