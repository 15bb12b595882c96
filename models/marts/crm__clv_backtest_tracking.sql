{#-
    The backtest's tracking table, one row per period of the holdout (after the calibration end,
    up to the as-of date): the purchase days the calibration customers made in the period and
    the BG/NBD fit to the calibration period expected, each also cumulated from the calibration
    end. The first period may start before the calibration end: it counts only the days after it.
-#}
{{ config(enabled=crm_retention.predictions_status().route == 'python') }}

with

summaries as (

    select * from {{ ref('int_crm__clv_backtest_summaries') }}

),

expectations as (

    select * from {{ ref('int_crm__clv_backtest_expectations') }}

),

spine as (

    select * from {{ ref('int_crm__period_spine') }}

),

orders as (

    select * from {{ ref('int_crm__orders') }}

),

calibration as (

    select distinct calibration_end_date from summaries

),

holdout_periods as (

    select distinct
        spine.period_start,
        spine.closing_date
    from spine
    inner join calibration
        on spine.closing_date > calibration.calibration_end_date

),

holdout_purchase_days as (

    select distinct
        orders.customer_id,
        orders.order_date,
        {{ crm_retention.period_start('orders.order_date') }} as period_start
    from orders
    inner join summaries
        on orders.customer_id = summaries.customer_id
    inner join holdout_periods
        on {{ crm_retention.period_start('orders.order_date') }} = holdout_periods.period_start
    where orders.order_date > summaries.calibration_end_date and orders.order_date <= holdout_periods.closing_date

),

actual as (

    select
        period_start,
        count(*) as actual_purchases
    from holdout_purchase_days
    group by period_start

),

expected as (

    select
        period_start,
        sum(customers * p_alive * purchases_if_alive) as cumulative_expected_purchases
    from expectations
    group by period_start

),

final as (

    select
        holdout_periods.period_start,
        holdout_periods.closing_date,
        cast(coalesce(actual.actual_purchases, 0) as {{ dbt.type_bigint() }}) as actual_purchases,
        cast(
            expected.cumulative_expected_purchases
            - coalesce(lag(expected.cumulative_expected_purchases) over (order by holdout_periods.period_start), 0)
            as {{ crm_retention.type_rate() }}
        ) as expected_purchases,
        cast(
            sum(coalesce(actual.actual_purchases, 0)) over (
                order by holdout_periods.period_start rows between unbounded preceding and current row
            ) as {{ dbt.type_bigint() }}
        ) as cumulative_actual_purchases,
        cast(expected.cumulative_expected_purchases as {{ crm_retention.type_rate() }}) as cumulative_expected_purchases
    from holdout_periods
    left join actual
        on holdout_periods.period_start = actual.period_start
    left join expected
        on holdout_periods.period_start = expected.period_start

)

select * from final
