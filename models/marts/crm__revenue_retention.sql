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
            when {{ crm_retention.next_period_start('previous_period_start') }} = period_start
                then previous_period_revenue
            else 0
        end as previous_revenue,
        case when previous_period_start is null then 1 else 0 end as is_new
    from customer_periods

    union all

    select
        {{ crm_retention.next_period_start('period_start') }} as period_start,
        0 as revenue,
        net_revenue as previous_revenue,
        0 as is_new
    from customer_periods
    where
        next_period_start is null
        or next_period_start <> {{ crm_retention.next_period_start('period_start') }}

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
