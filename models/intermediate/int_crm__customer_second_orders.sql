{#-
    One row per customer with a counted order: the time from the first to the second order day
    (docs/definitions.md "Time to second order"). The second order is the first counted order
    on a later day than the first, as in crm__order_gaps; a customer without one is censored at
    the as-of date. No churn window is involved. Read by crm__time_to_second_order and
    crm__second_order_rates.
-#}
{{ crm_retention.as_of_step() }}

with

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

cohorts as (

    select * from {{ ref('int_crm__customer_cohorts') }}

),

orders as (

    select * from {{ ref('int_crm__orders') }}

),

second_orders as (

    select
        cohorts.customer_id,
        min(orders.order_date) as second_order_date
    from cohorts
    inner join orders
        on
            cohorts.customer_id = orders.customer_id
            and orders.order_date > cohorts.first_order_date
    group by cohorts.customer_id

),

final as (

    select
        cohorts.customer_id,
        cohorts.cohort_period,
        cohorts.first_order_date,
        second_orders.second_order_date,
        case
            when second_orders.second_order_date is not null
                then {{ crm_retention.days_between('cohorts.first_order_date', 'second_orders.second_order_date') }}
            else {{ crm_retention.days_between('cohorts.first_order_date', 'as_of.as_of_date') }}
        end as duration_days,
        second_orders.second_order_date is not null as is_event,
        {{ crm_retention.days_between('cohorts.first_order_date', 'as_of.as_of_date') }} as days_observed
    from cohorts
    cross join as_of
    left join second_orders
        on cohorts.customer_id = second_orders.customer_id

)

select * from final
