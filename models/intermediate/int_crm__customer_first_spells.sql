{#-
    One row per customer with a counted order: how long their first activity spell lasted
    (docs/definitions.md "Survival curves"). The event is the window model's churn of the first
    spell, on spell_ends_on when that is on or before the as-of date (the churn crm__churn lists
    with spell_number 1); a spell still open on the as-of date is censored there. Read by
    crm__survival.
-#}
{{ crm_retention.as_of_step() }}

with

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

spells as (

    select * from {{ ref('int_crm__customer_spells') }}

),

first_spells as (

    select
        spells.customer_id,
        {{ crm_retention.period_start('spells.spell_started_on') }} as cohort_period,
        spells.spell_started_on,
        spells.spell_ends_on,
        spells.spell_ends_on <= as_of.as_of_date as is_event,
        as_of.as_of_date
    from spells
    cross join as_of
    where spells.spell_number = 1

),

final as (

    select
        customer_id,
        cohort_period,
        case
            when is_event then {{ crm_retention.days_between('spell_started_on', 'spell_ends_on') }}
            else {{ crm_retention.days_between('spell_started_on', 'as_of_date') }}
        end as duration_days,
        is_event
    from first_spells

)

select * from final
