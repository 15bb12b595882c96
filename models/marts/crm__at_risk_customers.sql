{#-
    Win-back targets for a marketing tool: active customers whose last order is at least
    crm_at_risk_days old, before their window closes, ranked by the revenue at stake (their net
    revenue to date), highest first. Where the predictive models run, the value at stake is also
    weighted by the probability the customer is still alive, and ranked by that (null elsewhere).
-#}
{%- set window_days = crm_retention.get_churn_window_days() -%}
{%- set predictions = crm_retention.predictions_status() -%}

with

customers as (

    select * from {{ ref('int_crm__customer_profiles') }}
    where lifecycle_status = 'at_risk'

),

{% if predictions.enabled %}
predictions as (

    select * from {{ ref('int_crm__customer_clv_predictions') }}

),
{% endif %}

weighted as (

    select
        customers.*,
        {% if predictions.enabled -%}
        cast(predictions.p_alive as {{ crm_retention.type_rate() }}) as p_alive
        {%- else -%}
        cast(null as {{ crm_retention.type_rate() }}) as p_alive
        {%- endif %}
    from customers
    {% if predictions.enabled -%}
    left join predictions
        on customers.customer_id = predictions.customer_id
    {%- endif %}

),

final as (

    select
        row_number() over (order by net_revenue desc, customer_id) as value_at_stake_rank,
        customer_id,
        email,
        first_name,
        last_name,
        country,
        acquisition_channel,
        has_customer_record,
        cohort_period,
        last_order_date,
        days_since_last_order,
        {{ window_days }} - days_since_last_order as days_until_churn,
        orders,
        net_revenue as value_at_stake,
        aov,
        rfm_score,
        rfm_segment,
        latest_nps_score,
        p_alive,
        net_revenue * p_alive as weighted_value_at_stake,
        case
            when p_alive is not null
                then row_number() over (order by net_revenue * p_alive desc, customer_id)
        end as weighted_value_at_stake_rank
    from weighted

)

select * from final
