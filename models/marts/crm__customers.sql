{#-
    One row per customer: every staged customer and every guest with a staged order. Assembles
    the building blocks: who the customer is, their counted orders (cohort and lifetime
    figures), their state as of the as-of date, RFM scores and latest NPS response. Order
    figures, lifecycle and RFM count counted orders up to the as-of date only; customers
    without one have zero orders and null dates, lifecycle and scores. p_alive is the
    probability the customer is still alive where the predictive models run (null elsewhere).
-#}
{{ crm_retention.as_of_step() }}
{%- set using_nps = crm_retention.get_flag('crm_using_nps', true) -%}
{%- set predictions = crm_retention.predictions_status() %}

with

customers as (

    select * from {{ ref('int_crm__customers') }}

),

cohorts as (

    select * from {{ ref('int_crm__customer_cohorts') }}

),

lifecycle as (

    select * from {{ ref('int_crm__customer_lifecycle') }}

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

    select * from {{ ref(predictions.model) }}

),
{%- endif %}

final as (

    select
        customers.customer_id,
        customers.email,
        customers.first_name,
        customers.last_name,
        customers.country,
        customers.acquisition_channel,
        customers.created_at,
        customers.has_customer_record,
        cohorts.cohort_period,
        cohorts.first_order_date,
        cohorts.last_order_date,
        cast(coalesce(cohorts.orders, 0) as {{ dbt.type_bigint() }}) as orders,
        cast(coalesce(cohorts.net_revenue, 0) as {{ crm_retention.type_money() }}) as net_revenue,
        {{ crm_retention.safe_divide('cohorts.net_revenue', 'cohorts.orders') }} as aov,
        cast(lifecycle.days_since_last_order as {{ dbt.type_bigint() }}) as days_since_last_order,
        coalesce(lifecycle.is_active, false) as is_active,
        lifecycle.lifecycle_status,
        coalesce(lifecycle.lifecycle_status = 'at_risk', false) as is_at_risk,
        cast(rfm_scores.recency_score as {{ dbt.type_bigint() }}) as recency_score,
        cast(rfm_scores.frequency_score as {{ dbt.type_bigint() }}) as frequency_score,
        cast(rfm_scores.monetary_score as {{ dbt.type_bigint() }}) as monetary_score,
        rfm_scores.rfm_score,
        rfm_scores.rfm_segment,
        {% if using_nps -%}
        cast(latest_nps.latest_nps_score as {{ dbt.type_bigint() }}) as latest_nps_score,
        latest_nps.latest_nps_responded_at,
        {%- else -%}
        cast(null as {{ dbt.type_bigint() }}) as latest_nps_score,
        cast(null as {{ dbt.type_timestamp() }}) as latest_nps_responded_at,
        {%- endif %}
        {% if predictions.enabled -%}
        cast(predictions.p_alive as {{ crm_retention.type_rate() }}) as p_alive
        {%- else -%}
        cast(null as {{ crm_retention.type_rate() }}) as p_alive
        {%- endif %}
    from customers
    left join cohorts
        on customers.customer_id = cohorts.customer_id
    left join lifecycle
        on customers.customer_id = lifecycle.customer_id
    left join rfm_scores
        on customers.customer_id = rfm_scores.customer_id
    {% if using_nps -%}
    left join latest_nps
        on customers.customer_id = latest_nps.customer_id
    {%- endif %}
    {% if predictions.enabled -%}
    left join predictions
        on customers.customer_id = predictions.customer_id
    {%- endif %}

)

select * from final
