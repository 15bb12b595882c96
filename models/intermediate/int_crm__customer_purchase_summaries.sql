{#-
    One row per customer with a counted order: the parts of the purchase summaries of the
    predictive models that do not move with the as-of date. Orders on the same day are one
    purchase day; frequency counts the repeat purchase days, recency_days runs from the first to
    the last purchase day, and repeat_order_value is the mean net revenue of the repeat purchase
    days (null without one). int_crm__customer_clv_summaries adds the customer's age. A view in
    full builds; in incremental mode a table where a run recomputes only the customers whose
    orders changed.
-#}
{{ crm_retention.incremental_by_customer(settings=['orders', 'periods'], log='stg_crm__order_changes', upstream='int_crm__orders', full_build='view') }}

with

orders as (

    select * from {{ ref('int_crm__orders') }}
    {{ crm_retention.changed_customers_only() }}

),

purchase_days as (

    select
        customer_id,
        order_date as purchase_date,
        sum(net_revenue) as net_revenue
    from orders
    group by customer_id, order_date

),

customers as (

    select
        customer_id,
        min(purchase_date) as first_purchase_date,
        max(purchase_date) as last_purchase_date,
        cast(count(*) as {{ dbt.type_bigint() }}) as purchase_days,
        sum(net_revenue) as net_revenue
    from purchase_days
    group by customer_id

),

first_purchase_days as (

    select
        purchase_days.customer_id,
        purchase_days.net_revenue as first_day_revenue
    from purchase_days
    inner join customers
        on
            purchase_days.customer_id = customers.customer_id
            and purchase_days.purchase_date = customers.first_purchase_date

),

final as (

    select
        customers.customer_id,
        customers.first_purchase_date,
        customers.last_purchase_date,
        customers.purchase_days - 1 as frequency,
        cast(
            {{ crm_retention.days_between('customers.first_purchase_date', 'customers.last_purchase_date') }}
            as {{ dbt.type_bigint() }}
        ) as recency_days,
        {{ crm_retention.safe_divide(
            'customers.net_revenue - first_purchase_days.first_day_revenue',
            'customers.purchase_days - 1'
        ) }} as repeat_order_value
    from customers
    inner join first_purchase_days
        on customers.customer_id = first_purchase_days.customer_id

)

select * from final
