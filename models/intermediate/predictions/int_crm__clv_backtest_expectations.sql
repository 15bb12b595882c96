{#-
    The backtest's expectation, one row per distinct (frequency, recency, customer_age) of
    int_crm__clv_backtest_summaries and per holdout period of the spine, under the BG/NBD fit to
    the calibration period (none without a converged fit): the customers with that summary,
    P(alive) at the calibration end, and A, the expected purchase days from the calibration end
    to the period's closing date of a customer alive then (macros/predictions.sql). A customer's
    expectation is p_alive times purchases_if_alive.
-#}
{%- set time_unit_days = crm_retention.get_clv_time_unit_days() -%}

with

summaries as (

    select * from {{ ref('int_crm__clv_backtest_summaries') }}

),

spine as (

    select * from {{ ref('int_crm__period_spine') }}

),

calibration_fit as (

    select * from {{ ref('int_crm__clv_model_fit') }}
    where fitted_on = 'calibration' and is_bgnbd_converged

),

calibration as (

    select distinct calibration_end_date from summaries

),

holdout_periods as (

    select
        spine.period_start,
        spine.closing_date,
        cast(
            {{ crm_retention.days_between('calibration.calibration_end_date', 'spine.closing_date') }} as {{ crm_retention.type_rate() }}
        ) / {{ time_unit_days }} as horizon
    from spine
    cross join calibration
    where spine.closing_date > calibration.calibration_end_date

),

pairs as (

    select distinct
        summaries.frequency,
        summaries.customer_age,
        holdout_periods.horizon
    from summaries
    cross join holdout_periods

),

expectations as (

    {{ crm_retention.bgnbd_purchases_if_alive('pairs', 'calibration_fit') }}

),

triples as (

    select
        summaries.frequency,
        summaries.recency,
        summaries.customer_age,
        count(*) as customers,
        {{ crm_retention.bgnbd_p_alive(
            'min(calibration_fit.bgnbd_r)', 'min(calibration_fit.bgnbd_alpha)', 'min(calibration_fit.bgnbd_a)',
            'min(calibration_fit.bgnbd_b)', 'summaries.frequency', 'summaries.recency', 'summaries.customer_age'
        ) }} as p_alive
    from summaries
    cross join calibration_fit
    group by summaries.frequency, summaries.recency, summaries.customer_age

),

final as (

    select
        triples.frequency,
        triples.recency,
        triples.customer_age,
        holdout_periods.period_start,
        holdout_periods.closing_date,
        cast(triples.customers as {{ dbt.type_bigint() }}) as customers,
        triples.p_alive,
        expectations.purchases_if_alive
    from expectations
    inner join holdout_periods
        on expectations.horizon = holdout_periods.horizon
    inner join triples
        on
            expectations.frequency = triples.frequency
            and expectations.customer_age = triples.customer_age

)

select * from final
