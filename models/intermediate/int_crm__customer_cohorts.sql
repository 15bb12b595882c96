{#- One row per customer with a counted order: cohort (period of the first order) and lifetime figures. -#}

with

orders as (

    select * from {{ ref('int_crm__orders') }}

),

spine as (

    select * from {{ ref('int_crm__period_spine') }}

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
        spine.period_start as cohort_period,
        spine.period_index as cohort_period_index,
        customers.first_order_date,
        customers.last_order_date,
        customers.orders,
        customers.net_revenue
    from customers
    inner join spine
        on {{ crm_retention.period_start('customers.first_order_date') }} = spine.period_start

)

select * from final
