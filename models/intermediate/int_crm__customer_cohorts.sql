{#-
    One row per customer with a counted order: cohort (period of the first order) and lifetime
    figures, counted from the customer's orders. Not from the spells: what counts as activity
    (the churn window) must not change how many orders a customer placed or what they spent.
-#}
{{ crm_retention.incremental_by_customer(settings=['orders', 'periods'], log='stg_crm__order_changes', upstream='int_crm__orders') }}

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
        cast(count(*) as {{ dbt.type_bigint() }}) as orders,
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
