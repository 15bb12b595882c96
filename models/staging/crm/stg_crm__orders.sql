{#-
    Orders that passed cleaning, one row per order_id: the only way downstream models read
    orders. Guest checkouts are flagged here, once; the customers' base model is read (not the
    customers staging view) so that staging models do not chain.
-#}
with

orders as (

    select * from {{ ref('base_crm__orders') }}
    where rejection_reason is null

),

customers as (

    select customer_id from {{ ref('base_crm__customers') }}
    where rejection_reason is null

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.order_date,
        orders.status,
        orders.status_class,
        orders.status_class = 'counted' as is_counted,
        orders.amount,
        orders.refunded_amount,
        orders.net_revenue,
        orders.currency,
        orders.updated_at,
        -- A semi-join in the select list: readers that do not ask for the flag skip it.
        orders.customer_id in (select customers.customer_id from customers) as has_customer_record
    from orders

)

select * from final
