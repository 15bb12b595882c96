-- The typed raw orders stage as given: the later version of o07 wins, refunds net off, padded
-- and mixed-case statuses map through this shop's lists, and the customer-less c05 is a guest.
with

expected as (

    select
        'o02' as order_id,
        'shipped' as status,
        'counted' as status_class,
        60.00 as amount,
        50.00 as net_revenue,
        true as has_customer_record
    union all select 'o03', 'delivered', 'counted', 25.00, 25.00, true
    union all select 'o06', 'shipped', 'counted', 20.00, 0.00, true
    union all select 'o07', 'complete', 'counted', 50.00, 50.00, true
    union all select 'o08', 'complete', 'counted', 80.00, 80.00, false
    union all select 'o10', 'on hold', 'ignored', 15.00, 15.00, true

),

orders as (

    select * from {{ ref('stg_crm__orders') }}

),

-- Whether an order's customer has a record: the guests are listed by int_crm__customers.
customers as (

    select * from {{ ref('int_crm__customers') }}

),

final as (

    select expected.order_id
    from expected
    left join orders
        on expected.order_id = orders.order_id
    left join customers
        on orders.customer_id = customers.customer_id
    where
        orders.order_id is null
        or customers.customer_id is null
        or orders.status <> expected.status
        or orders.status_class <> expected.status_class
        or orders.amount <> expected.amount
        or orders.net_revenue <> expected.net_revenue
        or customers.has_customer_record <> expected.has_customer_record
    union all
    -- Eleven orders stage (o01 to o11): the raw table's 21 rows less the 10 rejected.
    select cast(count(*) as {{ dbt.type_string() }})
    from orders
    having count(*) <> 11

)

select * from final
