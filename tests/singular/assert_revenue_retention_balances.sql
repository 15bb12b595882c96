{#-
    crm__revenue_retention: ending = starting + new + reactivated + expansion - contraction -
    churned in every period; ending revenue is the period's net revenue of counted orders and
    starting revenue the previous period's ending revenue. Returns the periods where any fails.
-#}

with

revenue_retention as (

    select * from {{ ref('crm__revenue_retention') }}

),

spine as (

    select * from {{ ref('int_crm__period_spine') }}

),

orders as (

    select * from {{ ref('int_crm__orders') }}

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

-- Up to the marts' as-of date: after a run of a subset of the models, orders staged since the
-- marts were built are not theirs to add up.
order_revenue as (

    select
        orders.period_start,
        sum(orders.net_revenue) as revenue
    from orders
    inner join as_of
        on orders.order_date <= as_of.as_of_date
    group by orders.period_start

),

expected as (

    select
        spine.period_start,
        spine.period_index,
        coalesce(order_revenue.revenue, 0) as period_revenue
    from spine
    left join order_revenue
        on spine.period_start = order_revenue.period_start

),

with_previous as (

    select
        current_period.period_start,
        current_period.period_revenue,
        coalesce(previous_period.period_revenue, 0) as previous_period_revenue
    from expected as current_period
    left join expected as previous_period
        on current_period.period_index = previous_period.period_index + 1

),

checked as (

    select
        revenue_retention.period_start,
        revenue_retention.starting_revenue,
        revenue_retention.new_revenue,
        revenue_retention.reactivated_revenue,
        revenue_retention.expansion_revenue,
        revenue_retention.contraction_revenue,
        revenue_retention.churned_revenue,
        revenue_retention.ending_revenue,
        with_previous.period_revenue,
        with_previous.previous_period_revenue
    from revenue_retention
    left join with_previous
        on revenue_retention.period_start = with_previous.period_start

)

select *
from checked
where
    ending_revenue
    <> starting_revenue + new_revenue + reactivated_revenue + expansion_revenue
    - contraction_revenue - churned_revenue
    or period_revenue is null
    or ending_revenue <> period_revenue
    or starting_revenue <> previous_period_revenue
