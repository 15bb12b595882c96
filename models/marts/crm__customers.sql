{#-
    One row per customer: profile, cohort, order figures, lifecycle, RFM and latest NPS (see
    int_crm__customer_profiles), and the probability the customer is still alive where the
    predictive models run (null elsewhere).
-#}
{%- set predictions = crm_retention.predictions_status() -%}

with

profiles as (

    select * from {{ ref('int_crm__customer_profiles') }}

),

{% if predictions.enabled %}
predictions as (

    select * from {{ ref('int_crm__customer_clv_predictions') }}

),
{% endif %}

scored as (

    select
        profiles.*,
        {% if predictions.enabled -%}
        cast(predictions.p_alive as {{ crm_retention.type_rate() }}) as p_alive
        {%- else -%}
        cast(null as {{ crm_retention.type_rate() }}) as p_alive
        {%- endif %}
    from profiles
    {% if predictions.enabled -%}
    left join predictions
        on profiles.customer_id = predictions.customer_id
    {%- endif %}

),

final as (

    select
        customer_id,
        email,
        first_name,
        last_name,
        country,
        acquisition_channel,
        created_at,
        has_customer_record,
        cohort_period,
        first_order_date,
        last_order_date,
        orders,
        net_revenue,
        aov,
        days_since_last_order,
        is_active,
        lifecycle_status,
        is_at_risk,
        recency_score,
        frequency_score,
        monetary_score,
        rfm_score,
        rfm_segment,
        latest_nps_score,
        latest_nps_responded_at,
        p_alive
    from scored

)

select * from final
