{#-
    Win-back targets for a marketing tool: active customers whose last order is at least
    crm_at_risk_days old, before their window closes, ranked by the revenue at stake (their net
    revenue to date), highest first.
-#}
{%- set window_days = crm_retention.get_churn_window_days() -%}

with

customers as (

    select * from {{ ref('int_crm__customer_profiles') }}
    where lifecycle_status = 'at_risk'

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
        latest_nps_score
    from customers

)

select * from final
