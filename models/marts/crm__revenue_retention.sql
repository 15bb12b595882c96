{#-
    Revenue movements period over period, per customer (SPEC section 4): r = a customer's net
    revenue in a period. Each customer-period lands in one movement, so
    ending = starting + new + reactivated + expansion - contraction - churned.
-#}

with

spine as (

    select * from {{ ref('int_crm__period_spine') }}

),

customer_periods as (

    select * from {{ ref('int_crm__customer_periods') }}

),

cohorts as (

    select * from {{ ref('int_crm__customer_cohorts') }}

),

indexed as (

    select
        customer_periods.customer_id,
        spine.period_index,
        customer_periods.net_revenue
    from customer_periods
    inner join spine
        on customer_periods.period_start = spine.period_start

),

-- Each customer-period's revenue as "current" in its own period and "previous" in the next.
both_sides as (

    select
        customer_id,
        period_index,
        net_revenue as revenue,
        0 as previous_revenue
    from indexed

    union all

    select
        customer_id,
        period_index + 1 as period_index,
        0 as revenue,
        net_revenue as previous_revenue
    from indexed

),

customer_movements as (

    select
        both_sides.customer_id,
        both_sides.period_index,
        sum(both_sides.revenue) as revenue,
        sum(both_sides.previous_revenue) as previous_revenue
    from both_sides
    group by both_sides.customer_id, both_sides.period_index

),

flagged as (

    select
        customer_movements.*,
        case when cohorts.cohort_period = spine.period_start then 1 else 0 end as is_new
    from customer_movements
    inner join spine
        on customer_movements.period_index = spine.period_index
    inner join cohorts
        on customer_movements.customer_id = cohorts.customer_id

),

classified as (

    select
        period_index,
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
    from flagged

),

period_movements as (

    select
        period_index,
        sum(previous_revenue) as starting_revenue,
        sum(new_revenue) as new_revenue,
        sum(reactivated_revenue) as reactivated_revenue,
        sum(expansion_revenue) as expansion_revenue,
        sum(contraction_revenue) as contraction_revenue,
        sum(churned_revenue) as churned_revenue,
        sum(revenue) as ending_revenue
    from classified
    group by period_index

),

filled as (

    select
        spine.period_start,
        spine.period_end,
        spine.is_complete_period,
        coalesce(period_movements.starting_revenue, 0) as starting_revenue,
        coalesce(period_movements.new_revenue, 0) as new_revenue,
        coalesce(period_movements.reactivated_revenue, 0) as reactivated_revenue,
        coalesce(period_movements.expansion_revenue, 0) as expansion_revenue,
        coalesce(period_movements.contraction_revenue, 0) as contraction_revenue,
        coalesce(period_movements.churned_revenue, 0) as churned_revenue,
        coalesce(period_movements.ending_revenue, 0) as ending_revenue
    from spine
    left join period_movements
        on spine.period_index = period_movements.period_index

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
