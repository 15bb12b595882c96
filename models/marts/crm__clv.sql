{#-
    Customer lifetime value: historical net revenue to the as-of date, and, with marketing spend
    enabled, the acquisition cost of the customer's channel in their cohort period (spend over
    the customers that channel acquired then) and net CLV. Null, not zero, without spend. Then
    the purchase summaries of the predictive models and, where they run, their predictions (null
    elsewhere).
-#}
{{ crm_retention.as_of_step() }}
{%- set using_spend = crm_retention.get_flag('crm_using_marketing_spend', true) -%}
{%- set predictions = crm_retention.predictions_status() -%}

with

cohorts as (

    select * from {{ ref('int_crm__customer_cohorts') }}

),

-- Customers as the marts count them (a person's profile with crm_identity: email).
customers as (

    select * from {{ ref('int_crm__customers') }}

),

summaries as (

    select * from {{ ref('int_crm__customer_clv_summaries') }}

),

{% if predictions.enabled %}
predictions as (

    select * from {{ ref(predictions.model) }}

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),
{% endif %}

acquired as (

    select
        cohorts.customer_id,
        cohorts.cohort_period,
        customers.acquisition_channel,
        cohorts.net_revenue as historical_clv
    from cohorts
    left join customers
        on cohorts.customer_id = customers.customer_id

),

{% if using_spend %}
spend as (

    select
        channel,
        {{ crm_retention.period_start('spent_on') }} as period_start,
        sum(amount) as spend
    from {{ ref('stg_crm__marketing_spend') }}
    group by 1, 2

),

channel_cohorts as (

    select
        acquisition_channel,
        cohort_period,
        count(*) as acquired_customers
    from acquired
    where acquisition_channel is not null
    group by acquisition_channel, cohort_period

),

acquisition_costs as (

    select
        channel_cohorts.acquisition_channel,
        channel_cohorts.cohort_period,
        {{ crm_retention.safe_divide('spend.spend', 'channel_cohorts.acquired_customers') }} as acquisition_cost
    from channel_cohorts
    inner join spend
        on
            channel_cohorts.acquisition_channel = spend.channel
            and channel_cohorts.cohort_period = spend.period_start

),
{% endif %}

final as (

    select
        acquired.customer_id,
        acquired.cohort_period,
        acquired.acquisition_channel,
        cast(acquired.historical_clv as {{ crm_retention.type_money() }}) as historical_clv,
        {% if using_spend -%}
        -- A share of spend is a ratio: kept as a float, like every other ratio, so no engine rounds it.
        acquisition_costs.acquisition_cost,
        cast(acquired.historical_clv as {{ crm_retention.type_rate() }}) - acquisition_costs.acquisition_cost as net_clv,
        {%- else -%}
        cast(null as {{ crm_retention.type_rate() }}) as acquisition_cost,
        cast(null as {{ crm_retention.type_rate() }}) as net_clv,
        {%- endif %}
        cast(summaries.frequency as {{ dbt.type_bigint() }}) as frequency,
        cast(summaries.recency as {{ crm_retention.type_rate() }}) as recency,
        cast(summaries.customer_age as {{ crm_retention.type_rate() }}) as customer_age,
        cast(summaries.repeat_order_value as {{ crm_retention.type_rate() }}) as repeat_order_value,
        {% if predictions.enabled -%}
        cast(predictions.p_alive as {{ crm_retention.type_rate() }}) as p_alive,
        cast(predictions.expected_purchases as {{ crm_retention.type_rate() }}) as expected_purchases,
        cast(predictions.expected_order_value as {{ crm_retention.type_rate() }}) as expected_order_value,
        cast(predictions.predicted_clv as {{ crm_retention.type_rate() }}) as predicted_clv,
        cast(predictions.p_purchase_within_horizon as {{ crm_retention.type_rate() }}) as p_purchase_within_horizon,
        cast(predictions.p_purchase_within_30_days as {{ crm_retention.type_rate() }}) as p_purchase_within_30_days,
        {{ crm_retention.add_days('as_of.as_of_date', 'predictions.next_purchase_days') }} as next_purchase_date
        {%- else -%}
        cast(null as {{ crm_retention.type_rate() }}) as p_alive,
        cast(null as {{ crm_retention.type_rate() }}) as expected_purchases,
        cast(null as {{ crm_retention.type_rate() }}) as expected_order_value,
        cast(null as {{ crm_retention.type_rate() }}) as predicted_clv,
        cast(null as {{ crm_retention.type_rate() }}) as p_purchase_within_horizon,
        cast(null as {{ crm_retention.type_rate() }}) as p_purchase_within_30_days,
        cast(null as date) as next_purchase_date
        {%- endif %}
    from acquired
    left join summaries
        on acquired.customer_id = summaries.customer_id
    {% if predictions.enabled -%}
    left join predictions
        on acquired.customer_id = predictions.customer_id
    cross join as_of
    {%- endif %}
    {% if using_spend -%}
    left join acquisition_costs
        on
            acquired.acquisition_channel = acquisition_costs.acquisition_channel
            and acquired.cohort_period = acquisition_costs.cohort_period
    {%- endif %}

)

select * from final
