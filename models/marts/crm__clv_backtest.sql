{#-
    The backtest of the purchase model, one row for all customers and one per calibration
    frequency (0 to 6 repeat purchase days, then 7+, as in Fader, Hardie & Lee 2005, figure 4):
    BG/NBD refitted on the data up to the calibration end (the as-of date less
    crm_clv_backtest_holdout_days), its expected purchase days in the holdout beside the purchase
    days customers actually made then, and the mean absolute error per customer. Expected values
    are null, with the fit's note, when the calibration fit did not converge.
-#}
{{ config(enabled=crm_retention.predictions_status().route == 'python') }}
{%- set holdout_days = crm_retention.get_clv_backtest_holdout_days() -%}

with

summaries as (

    select * from {{ ref('int_crm__clv_backtest_summaries') }}

),

expectations as (

    select * from {{ ref('int_crm__clv_backtest_expectations') }}

),

calibration_fit as (

    select * from {{ ref('int_crm__clv_model_fit') }}
    where fitted_on = 'calibration'

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

customers as (

    select
        summaries.customer_id,
        summaries.frequency,
        case when summaries.frequency >= 7 then '7+' else cast(summaries.frequency as {{ dbt.type_string() }}) end
            as frequency_group,
        summaries.holdout_purchases,
        expectations.p_alive * expectations.purchases_if_alive as expected_purchases
    from summaries
    left join expectations
        on
            summaries.frequency = expectations.frequency
            and summaries.recency = expectations.recency
            and summaries.customer_age = expectations.customer_age
            and expectations.closing_date = summaries.holdout_end_date

),

groups as (

    select
        frequency_group,
        min(frequency) as group_order,
        count(*) as customers,
        sum(holdout_purchases) as actual_purchases,
        sum(expected_purchases) as expected_purchases,
        sum(abs(holdout_purchases - expected_purchases)) as absolute_error
    from customers
    group by frequency_group

    union all

    select
        'all' as frequency_group,
        -1 as group_order,
        count(*) as customers,
        sum(holdout_purchases) as actual_purchases,
        sum(expected_purchases) as expected_purchases,
        sum(abs(holdout_purchases - expected_purchases)) as absolute_error
    from customers

),

final as (

    select
        groups.frequency_group,
        cast(groups.group_order + 1 as {{ dbt.type_bigint() }}) as group_order,
        {{ crm_retention.add_days('as_of.as_of_date', -holdout_days) }} as calibration_end_date,
        as_of.as_of_date as holdout_end_date,
        cast({{ holdout_days }} as {{ dbt.type_bigint() }}) as holdout_days,
        cast(groups.customers as {{ dbt.type_bigint() }}) as customers,
        cast(coalesce(groups.actual_purchases, 0) as {{ dbt.type_bigint() }}) as actual_purchases,
        cast(groups.expected_purchases as {{ crm_retention.type_rate() }}) as expected_purchases,
        {{ crm_retention.safe_divide('groups.actual_purchases', 'groups.customers') }} as mean_actual_purchases,
        {{ crm_retention.safe_divide('groups.expected_purchases', 'groups.customers') }} as mean_expected_purchases,
        {{ crm_retention.safe_divide('groups.absolute_error', 'groups.customers') }} as mean_absolute_error,
        cast(calibration_fit.is_bgnbd_converged as {{ dbt.type_boolean() }}) as is_converged,
        calibration_fit.fit_note
    from groups
    cross join as_of
    cross join calibration_fit

)

select * from final
