{#-
    The period marts built from customer-periods (one row per customer and period with a counted
    order): repeat purchasing and revenue movements. Each is a with-statement at the crm_period
    grain over int_crm__period_spine and int_crm__customer_periods, or at `period` over `spine`
    (period_spine(period)) and `customer_periods` (customer_periods(orders, period)) for
    crm__period_rollups; the same SQL at every grain.
-#}

{#-
    One row per customer and period with a counted order, from `orders` (customer_id, order_date,
    period_start, net_revenue): the customer's orders and net revenue in the period, and its
    previous and next periods with a counted order. At the crm_period grain the orders' own
    period_start, at another `period` the period of order_date.
-#}
{% macro customer_periods(orders, period=none) %}
{%- set period_of_order = crm_retention.period_start('order_date', period) if period else 'period_start' %}
    select
        customer_id,
        period_start,
        orders,
        net_revenue,
        lag(period_start) over (partition by customer_id order by period_start) as previous_period_start,
        lag(net_revenue) over (partition by customer_id order by period_start) as previous_period_revenue,
        lead(period_start) over (partition by customer_id order by period_start) as next_period_start
    from (
        select
            customer_id,
            {{ period_of_order }} as period_start,
            count(*) as orders,
            sum(net_revenue) as net_revenue
        from {{ orders }}
        group by customer_id, {{ period_of_order }}
    ) as periods
{% endmacro %}

{#-
    Repeat purchasing within each period (SPEC section 4).
-#}
{% macro repeat_rate_by_period(period=none, spine=none, customer_periods=none) %}
with

spine as (

    select * from {{ spine or ref('int_crm__period_spine') }}

),

customer_periods as (

    select * from {{ customer_periods or ref('int_crm__customer_periods') }}

),

period_customers as (

    select
        customer_periods.period_start,
        count(*) as customers,
        sum(customer_periods.orders) as orders,
        sum(case when customer_periods.orders >= 2 then 1 else 0 end) as repeat_customers,
        -- Returning: the customer had a counted order in an earlier period.
        sum(case when customer_periods.previous_period_start is not null then 1 else 0 end) as returning_customers
    from customer_periods
    group by customer_periods.period_start

),

final as (

    select
        spine.period_start,
        spine.period_end,
        spine.is_complete_period,
        cast(coalesce(period_customers.customers, 0) as {{ dbt.type_bigint() }}) as customers,
        cast(coalesce(period_customers.orders, 0) as {{ dbt.type_bigint() }}) as orders,
        cast(coalesce(period_customers.repeat_customers, 0) as {{ dbt.type_bigint() }}) as repeat_customers,
        {{ crm_retention.safe_divide('period_customers.repeat_customers', 'period_customers.customers') }}
            as repeat_customer_rate,
        cast(coalesce(period_customers.returning_customers, 0) as {{ dbt.type_bigint() }}) as returning_customers,
        {{ crm_retention.safe_divide('period_customers.returning_customers', 'period_customers.customers') }}
            as returning_customer_rate,
        {{ crm_retention.safe_divide('period_customers.orders', 'period_customers.customers') }}
            as purchase_frequency
    from spine
    left join period_customers
        on spine.period_start = period_customers.period_start

)

select * from final
{% endmacro %}

{#-
    Revenue movements period over period, per customer (SPEC section 4): r = a customer's net
    revenue in a period. Each customer-period lands in one movement, so
    ending = starting + new + reactivated + expansion - contraction - churned.
-#}
{% macro revenue_retention_by_period(period=none, spine=none, customer_periods=none) %}
with

spine as (

    select * from {{ spine or ref('int_crm__period_spine') }}

),

customer_periods as (

    select * from {{ customer_periods or ref('int_crm__customer_periods') }}

),

-- A customer's revenue r in each period where it has orders, against r of the customer's
-- previous period with orders (0 unless that is the adjacent period; none in the cohort
-- period, which makes the customer new); and, in the period after its last period of a
-- run, a row with revenue 0 against that r: the churn. Rows beyond the as-of period fall away
-- with the spine below.
customer_movements as (

    select
        period_start,
        net_revenue as revenue,
        case
            when {{ crm_retention.next_period_start('previous_period_start', period) }} = period_start
                then previous_period_revenue
            else 0
        end as previous_revenue,
        case when previous_period_start is null then 1 else 0 end as is_new
    from customer_periods

    union all

    select
        {{ crm_retention.next_period_start('period_start', period) }} as period_start,
        0 as revenue,
        net_revenue as previous_revenue,
        0 as is_new
    from customer_periods
    where
        next_period_start is null
        or next_period_start <> {{ crm_retention.next_period_start('period_start', period) }}

),

classified as (

    select
        period_start,
        previous_revenue,
        revenue,
        case when is_new = 1 then revenue else 0 end as new_revenue,
        case when is_new = 0 and revenue > 0 and previous_revenue = 0 then revenue else 0 end as reactivated_revenue,
        case
            when revenue > 0 and previous_revenue > 0 and revenue > previous_revenue
                then revenue - previous_revenue
            else 0
        end as expansion_revenue,
        case
            when revenue > 0 and previous_revenue > 0 and revenue < previous_revenue
                then previous_revenue - revenue
            else 0
        end as contraction_revenue,
        case when revenue = 0 and previous_revenue > 0 then previous_revenue else 0 end as churned_revenue
    from customer_movements

),

period_movements as (

    select
        period_start,
        sum(previous_revenue) as starting_revenue,
        sum(new_revenue) as new_revenue,
        sum(reactivated_revenue) as reactivated_revenue,
        sum(expansion_revenue) as expansion_revenue,
        sum(contraction_revenue) as contraction_revenue,
        sum(churned_revenue) as churned_revenue,
        sum(revenue) as ending_revenue
    from classified
    group by period_start

),

filled as (

    select
        spine.period_start,
        spine.period_end,
        spine.is_complete_period,
        cast(coalesce(period_movements.starting_revenue, 0) as {{ crm_retention.type_money() }}) as starting_revenue,
        cast(coalesce(period_movements.new_revenue, 0) as {{ crm_retention.type_money() }}) as new_revenue,
        cast(coalesce(period_movements.reactivated_revenue, 0) as {{ crm_retention.type_money() }}) as reactivated_revenue,
        cast(coalesce(period_movements.expansion_revenue, 0) as {{ crm_retention.type_money() }}) as expansion_revenue,
        cast(coalesce(period_movements.contraction_revenue, 0) as {{ crm_retention.type_money() }}) as contraction_revenue,
        cast(coalesce(period_movements.churned_revenue, 0) as {{ crm_retention.type_money() }}) as churned_revenue,
        cast(coalesce(period_movements.ending_revenue, 0) as {{ crm_retention.type_money() }}) as ending_revenue
    from spine
    left join period_movements
        on spine.period_start = period_movements.period_start

),

final as (

    select
        period_start,
        period_end,
        is_complete_period,
        starting_revenue,
        new_revenue,
        reactivated_revenue,
        expansion_revenue,
        contraction_revenue,
        churned_revenue,
        ending_revenue,
        {{ crm_retention.safe_divide('starting_revenue - contraction_revenue - churned_revenue', 'starting_revenue') }}
            as gross_revenue_retention,
        {{ crm_retention.safe_divide(
            'starting_revenue + expansion_revenue - contraction_revenue - churned_revenue', 'starting_revenue'
        ) }} as net_revenue_retention,
        {{ crm_retention.safe_divide('contraction_revenue + churned_revenue', 'starting_revenue') }}
            as revenue_churn_rate
    from filled

)

select * from final
{% endmacro %}
