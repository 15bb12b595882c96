{#- One row per churn event: a spell that ended (last order + W) on or before the as-of date. -#}
{{ crm_retention.as_of_step() }}

with

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

spells as (

    select spells.*
    from {{ ref('int_crm__customer_spells') }} as spells
    inner join as_of
        on spells.spell_ends_on <= as_of.as_of_date

),

final as (

    select
        customer_id,
        spell_ends_on as churned_on,
        {{ crm_retention.period_start('spell_ends_on') }} as period_start,
        cast(spell_number as {{ dbt.type_bigint() }}) as spell_number,
        spell_started_on,
        last_order_date,
        cast(spell_orders as {{ dbt.type_bigint() }}) as spell_orders,
        cast(spell_revenue as {{ crm_retention.type_money() }}) as spell_revenue,
        cast(lifetime_orders as {{ dbt.type_bigint() }}) as lifetime_orders,
        cast(lifetime_revenue as {{ crm_retention.type_money() }}) as lifetime_revenue
    from spells

)

select * from final
