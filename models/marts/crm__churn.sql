{#- One row per churn event: a spell that ended (last order + W) on or before the as-of date. -#}

with

spells as (

    select * from {{ ref('int_crm__customer_spells') }}
    where is_churned

),

final as (

    select
        customer_id,
        spell_ends_on as churned_on,
        {{ crm_retention.period_start('spell_ends_on') }} as period_start,
        spell_number,
        spell_started_on,
        last_order_date,
        spell_orders,
        spell_revenue,
        lifetime_orders,
        lifetime_revenue
    from spells

)

select * from final
