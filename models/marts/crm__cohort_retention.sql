{#-
    Acquisition cohorts: customers grouped by the period of their first counted order, followed
    k = 0, 1, ... periods later. Every (cohort, k) cell up to the as-of period exists, zeros
    included; none beyond it.
-#}

with

spine as (

    select * from {{ ref('int_crm__period_spine') }}

),

cohorts as (

    select * from {{ ref('int_crm__customer_cohorts') }}

),

customer_periods as (

    select * from {{ ref('int_crm__customer_periods') }}

),

cohort_sizes as (

    select
        cohorts.cohort_period,
        spine.period_index as cohort_period_index,
        count(*) as cohort_size
    from cohorts
    inner join spine
        on cohorts.cohort_period = spine.period_start
    group by cohorts.cohort_period, spine.period_index

),

cells as (

    select
        cohort_sizes.cohort_period,
        spine.period_index - cohort_sizes.cohort_period_index as periods_since_acquisition,
        spine.period_start,
        spine.is_complete_period,
        cohort_sizes.cohort_size
    from cohort_sizes
    inner join spine
        on spine.period_index >= cohort_sizes.cohort_period_index

),

activity as (

    select
        cohorts.cohort_period,
        customer_periods.period_start,
        count(*) as active_customers,
        sum(customer_periods.orders) as orders,
        sum(customer_periods.net_revenue) as revenue
    from customer_periods
    inner join cohorts
        on customer_periods.customer_id = cohorts.customer_id
    group by cohorts.cohort_period, customer_periods.period_start

),

filled as (

    select
        cells.cohort_period,
        cast(cells.periods_since_acquisition as {{ dbt.type_bigint() }}) as periods_since_acquisition,
        cells.period_start,
        cells.is_complete_period,
        cast(cells.cohort_size as {{ dbt.type_bigint() }}) as cohort_size,
        cast(coalesce(activity.active_customers, 0) as {{ dbt.type_bigint() }}) as active_customers,
        cast(coalesce(activity.orders, 0) as {{ dbt.type_bigint() }}) as orders,
        cast(coalesce(activity.revenue, 0) as {{ crm_retention.type_money() }}) as revenue
    from cells
    left join activity
        on
            cells.cohort_period = activity.cohort_period
            and cells.period_start = activity.period_start

),

final as (

    select
        cohort_period,
        periods_since_acquisition,
        period_start,
        is_complete_period,
        cohort_size,
        active_customers,
        {{ crm_retention.safe_divide('active_customers', 'cohort_size') }} as retention_rate,
        orders,
        revenue,
        {{ crm_retention.safe_divide(
            'sum(revenue) over (partition by cohort_period order by periods_since_acquisition rows between unbounded preceding and current row)',
            'cohort_size'
        ) }} as cumulative_revenue_per_customer
    from filled

)

select * from final
