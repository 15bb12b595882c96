{#-
    crm__retention: E = S + N + R - C in every period, and S and E agree with the window model
    counted directly from the spells (customers active on the day before period_start, and on
    the closing date). Returns the periods where either fails.
-#}

with

retention as (

    select * from {{ ref('crm__retention') }}

),

spine as (

    select * from {{ ref('int_crm__period_spine') }}

),

spells as (

    select * from {{ ref('int_crm__customer_spells') }}

),

active_counts as (

    select
        spine.period_start,
        sum(
            case
                when
                    spells.spell_started_on <= {{ crm_retention.add_days('spine.period_start', -1) }}
                    and spells.spell_ends_on > {{ crm_retention.add_days('spine.period_start', -1) }}
                    then 1
                else 0
            end
        ) as active_at_start,
        sum(
            case
                when
                    spells.spell_started_on <= spine.closing_date
                    and spells.spell_ends_on > spine.closing_date
                    then 1
                else 0
            end
        ) as active_at_end
    from spine
    cross join spells
    group by spine.period_start

),

checked as (

    select
        retention.period_start,
        retention.customers_at_start,
        retention.new_customers,
        retention.reactivated_customers,
        retention.churned_customers,
        retention.customers_at_end,
        coalesce(active_counts.active_at_start, 0) as active_at_start,
        coalesce(active_counts.active_at_end, 0) as active_at_end
    from retention
    left join active_counts
        on retention.period_start = active_counts.period_start

)

select *
from checked
where
    customers_at_end
    <> customers_at_start + new_customers + reactivated_customers - churned_customers
    or customers_at_start <> active_at_start
    or customers_at_end <> active_at_end
