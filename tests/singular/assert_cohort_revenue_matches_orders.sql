{#-
    crm__cohort_retention: the revenue of all cohort cells adds up to the net revenue of every
    counted order up to the as-of date (int_crm__orders), and the orders to the order count.
    Returns one row when either total differs.
-#}

with

cohort_totals as (

    select
        coalesce(sum(revenue), 0) as cohort_revenue,
        coalesce(sum(orders), 0) as cohort_orders
    from {{ ref('crm__cohort_retention') }}

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

-- Up to the marts' as-of date: after a run of a subset of the models, orders staged since the
-- marts were built are not theirs to add up.
order_totals as (

    select
        coalesce(sum(orders.net_revenue), 0) as order_revenue,
        count(*) as order_count
    from {{ ref('int_crm__orders') }} as orders
    inner join as_of
        on orders.order_date <= as_of.as_of_date

)

select
    cohort_totals.cohort_revenue,
    order_totals.order_revenue,
    cohort_totals.cohort_orders,
    order_totals.order_count
from cohort_totals
cross join order_totals
where
    cohort_totals.cohort_revenue <> order_totals.order_revenue
    or cohort_totals.cohort_orders <> order_totals.order_count
