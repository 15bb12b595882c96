{#-
    One row per customer whose first purchase day is on or before the backtest's calibration end
    (the as-of date less crm_clv_backtest_holdout_days): the BG/NBD summaries as they were then,
    in units of crm_clv_time_unit_days (frequency, recency, customer_age, defined as in
    int_crm__customer_clv_summaries), and the purchase days the customer made in the holdout,
    after the calibration end up to the as-of date. int_crm__clv_model_fit fits BG/NBD to the
    summaries; crm__clv_backtest compares its expectation with holdout_purchases.
-#}
{%- set time_unit_days = crm_retention.get_clv_time_unit_days() -%}
{%- set holdout_days = crm_retention.get_clv_backtest_holdout_days() -%}

with

orders as (

    select * from {{ ref('int_crm__orders') }}

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

calibration as (

    select
        as_of_date,
        {{ crm_retention.add_days('as_of_date', -holdout_days) }} as calibration_end_date
    from as_of

),

purchase_days as (

    select distinct
        orders.customer_id,
        orders.order_date as purchase_date,
        calibration.calibration_end_date,
        calibration.as_of_date
    from orders
    cross join calibration
    where orders.order_date <= calibration.as_of_date

),

customers as (

    select
        customer_id,
        calibration_end_date,
        as_of_date,
        min(purchase_date) as first_purchase_date,
        max(case when purchase_date <= calibration_end_date then purchase_date end) as last_purchase_date,
        sum(case when purchase_date <= calibration_end_date then 1 else 0 end) as calibration_purchase_days,
        sum(case when purchase_date > calibration_end_date then 1 else 0 end) as holdout_purchases
    from purchase_days
    group by customer_id, calibration_end_date, as_of_date

),

final as (

    select
        customer_id,
        calibration_end_date,
        as_of_date as holdout_end_date,
        first_purchase_date,
        cast(calibration_purchase_days - 1 as {{ dbt.type_bigint() }}) as frequency,
        cast({{ crm_retention.days_between('first_purchase_date', 'last_purchase_date') }} as {{ crm_retention.type_rate() }})
        / {{ time_unit_days }} as recency,
        cast({{ crm_retention.days_between('first_purchase_date', 'calibration_end_date') }} as {{ crm_retention.type_rate() }})
        / {{ time_unit_days }} as customer_age,
        cast(holdout_purchases as {{ dbt.type_bigint() }}) as holdout_purchases
    from customers
    where first_purchase_date <= calibration_end_date

)

select * from final
