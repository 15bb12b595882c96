{#-
    Customer state as of the as-of date, one row per customer with a counted order: days since
    the last order, whether the customer is active (inside a spell) and the lifecycle status of
    SPEC section 4.
-#}
{{ crm_retention.as_of_step() }}
{%- set window_days = crm_retention.get_churn_window_days() -%}
{%- set at_risk_days = crm_retention.get_at_risk_days() %}

with

cohorts as (

    select * from {{ ref('int_crm__customer_cohorts') }}

),

spells as (

    select * from {{ ref('int_crm__customer_spells') }}
    where is_latest_spell

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

states as (

    select
        cohorts.customer_id,
        {{ crm_retention.days_between('cohorts.last_order_date', 'as_of.as_of_date') }} as days_since_last_order,
        spells.spell_ends_on > as_of.as_of_date as is_active,
        spells.spell_number,
        {{ crm_retention.days_between('spells.spell_started_on', 'as_of.as_of_date') }} as days_since_spell_start
    from cohorts
    cross join as_of
    inner join spells
        on cohorts.customer_id = spells.customer_id

),

final as (

    select
        customer_id,
        days_since_last_order,
        is_active,
        case
            when not is_active then 'churned'
            when days_since_last_order >= {{ at_risk_days }} then 'at_risk'
            when spell_number = 1 and days_since_spell_start < {{ window_days }} then 'new'
            when spell_number > 1 and days_since_spell_start < {{ window_days }} then 'reactivated'
            else 'active'
        end as lifecycle_status
    from states

)

select * from final
