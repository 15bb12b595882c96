{#- One row per customer: profile, cohort, order figures, lifecycle, RFM and latest NPS (see int_crm__customer_profiles). -#}

with

profiles as (

    select * from {{ ref('int_crm__customer_profiles') }}

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
        latest_nps_responded_at
    from profiles

)

select * from final
