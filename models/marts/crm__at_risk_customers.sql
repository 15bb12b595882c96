{#-
    Win-back targets for a marketing tool: active customers whose last order is at least
    crm_at_risk_days old, before their window closes, ranked by the revenue at stake (their net
    revenue to date), highest first. Where the predictive models run, the value at stake is also
    weighted by the probability the customer is still alive, and ranked by that (null
    elsewhere). The ranks are windows over the at-risk customers only, a small share of the
    base (docs/engines.md).
-#}
{%- set window_days = crm_retention.get_churn_window_days() -%}
{%- set using_nps = crm_retention.get_flag('crm_using_nps', true) -%}
{%- set predictions = crm_retention.predictions_status() %}

with

lifecycle as (

    select * from {{ ref('int_crm__customer_lifecycle') }}
    where lifecycle_status = 'at_risk'

),

customers as (

    select * from {{ ref('int_crm__customers') }}

),

cohorts as (

    select * from {{ ref('int_crm__customer_cohorts') }}

),

rfm_scores as (

    select * from {{ ref('int_crm__customer_rfm_scores') }}

),

{% if using_nps -%}
latest_nps as (

    select * from {{ ref('int_crm__customer_latest_nps') }}

),
{%- endif %}

{% if predictions.enabled -%}
predictions as (

    select * from {{ ref('int_crm__customer_clv_predictions') }}

),
{%- endif %}

at_risk as (

    select
        lifecycle.customer_id,
        lifecycle.days_since_last_order,
        cohorts.cohort_period,
        cohorts.last_order_date,
        cohorts.orders,
        cohorts.net_revenue,
        {% if predictions.enabled -%}
        cast(predictions.p_alive as {{ crm_retention.type_rate() }}) as p_alive
        {%- else -%}
        cast(null as {{ crm_retention.type_rate() }}) as p_alive
        {%- endif %}
    from lifecycle
    inner join cohorts
        on lifecycle.customer_id = cohorts.customer_id
    {% if predictions.enabled -%}
    left join predictions
        on lifecycle.customer_id = predictions.customer_id
    {%- endif %}

),

final as (

    select
        cast(row_number() over (order by at_risk.net_revenue desc, at_risk.customer_id) as {{ dbt.type_bigint() }})
            as value_at_stake_rank,
        at_risk.customer_id,
        customers.email,
        customers.first_name,
        customers.last_name,
        customers.country,
        customers.acquisition_channel,
        customers.has_customer_record,
        at_risk.cohort_period,
        at_risk.last_order_date,
        cast(at_risk.days_since_last_order as {{ dbt.type_bigint() }}) as days_since_last_order,
        cast({{ window_days }} - at_risk.days_since_last_order as {{ dbt.type_bigint() }}) as days_until_churn,
        cast(at_risk.orders as {{ dbt.type_bigint() }}) as orders,
        cast(at_risk.net_revenue as {{ crm_retention.type_money() }}) as value_at_stake,
        {{ crm_retention.safe_divide('at_risk.net_revenue', 'at_risk.orders') }} as aov,
        rfm_scores.rfm_score,
        rfm_scores.rfm_segment,
        {% if using_nps -%}
        cast(latest_nps.latest_nps_score as {{ dbt.type_bigint() }}) as latest_nps_score,
        {%- else -%}
        cast(null as {{ dbt.type_bigint() }}) as latest_nps_score,
        {%- endif %}
        cast(at_risk.p_alive as {{ crm_retention.type_rate() }}) as p_alive,
        cast(at_risk.net_revenue * at_risk.p_alive as {{ crm_retention.type_rate() }}) as weighted_value_at_stake,
        cast(case
            when at_risk.p_alive is not null
                then row_number() over (order by at_risk.net_revenue * at_risk.p_alive desc, at_risk.customer_id)
        end as {{ dbt.type_bigint() }}) as weighted_value_at_stake_rank
    from at_risk
    inner join customers
        on at_risk.customer_id = customers.customer_id
    inner join rfm_scores
        on at_risk.customer_id = rfm_scores.customer_id
    {% if using_nps -%}
    left join latest_nps
        on at_risk.customer_id = latest_nps.customer_id
    {%- endif %}

)

select * from final
