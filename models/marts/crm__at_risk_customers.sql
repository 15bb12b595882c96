{#-
    Win-back targets for a marketing tool: active customers whose last order is at least
    crm_at_risk_days old, before their window closes, ranked by the revenue at stake (their net
    revenue to date), highest first. The rank is one window over the at-risk customers only, a
    small share of the base (docs/engines.md).
-#}
{%- set window_days = crm_retention.get_churn_window_days() -%}
{%- set using_nps = crm_retention.get_flag('crm_using_nps', true) %}

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

final as (

    select
        cast(row_number() over (order by cohorts.net_revenue desc, lifecycle.customer_id) as {{ dbt.type_bigint() }})
            as value_at_stake_rank,
        lifecycle.customer_id,
        customers.email,
        customers.first_name,
        customers.last_name,
        customers.country,
        customers.acquisition_channel,
        customers.has_customer_record,
        cohorts.cohort_period,
        cohorts.last_order_date,
        cast(lifecycle.days_since_last_order as {{ dbt.type_bigint() }}) as days_since_last_order,
        cast({{ window_days }} - lifecycle.days_since_last_order as {{ dbt.type_bigint() }}) as days_until_churn,
        cast(cohorts.orders as {{ dbt.type_bigint() }}) as orders,
        cast(cohorts.net_revenue as {{ crm_retention.type_money() }}) as value_at_stake,
        {{ crm_retention.safe_divide('cohorts.net_revenue', 'cohorts.orders') }} as aov,
        rfm_scores.rfm_score,
        rfm_scores.rfm_segment,
        {% if using_nps -%}
        cast(latest_nps.latest_nps_score as {{ dbt.type_bigint() }}) as latest_nps_score
        {%- else -%}
        cast(null as {{ dbt.type_bigint() }}) as latest_nps_score
        {%- endif %}
    from lifecycle
    inner join customers
        on lifecycle.customer_id = customers.customer_id
    inner join cohorts
        on lifecycle.customer_id = cohorts.customer_id
    inner join rfm_scores
        on lifecycle.customer_id = rfm_scores.customer_id
    {% if using_nps -%}
    left join latest_nps
        on lifecycle.customer_id = latest_nps.customer_id
    {%- endif %}

)

select * from final
