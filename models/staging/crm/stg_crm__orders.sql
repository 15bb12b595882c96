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

-- Grouped, so the join below is provably one-to-one: readers that do not ask for
-- has_customer_record can drop it.
customers as (

    select customer_id from {{ ref('base_crm__customers') }}
    where rejection_reason is null
    group by customer_id

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
        -- A left join, not `in (select ...)` in the select list: PostgreSQL runs that as a
        -- subplan that rescans every customer per order once they outgrow work_mem.
        customers.customer_id is not null as has_customer_record
    from orders
    left join customers
        on orders.customer_id = customers.customer_id

)

select * from final
