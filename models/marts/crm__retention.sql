{#-
    Customer retention per period, from the window model (SPEC section 3). Counts come from spell
    events (starts and churns) aggregated per period and accumulated, never from a customer x day
    grid: customers_at_start is the running total of earlier periods' net change, so
    E = S + N + R - C holds by construction and is tested independently.
-#}

with

spine as (

    select * from {{ ref('int_crm__period_spine') }}

),

spells as (

    select * from {{ ref('int_crm__customer_spells') }}

),

starts as (

    select
        {{ crm_retention.period_start('spell_started_on') }} as period_start,
        sum(case when spell_number = 1 then 1 else 0 end) as new_customers,
        sum(case when spell_number > 1 then 1 else 0 end) as reactivated_customers
    from spells
    group by 1

),

churns as (

    select
        spine.period_start,
        count(*) as churned_customers
    from spells
    inner join spine
        on {{ crm_retention.period_start('spells.spell_ends_on') }} = spine.period_start
    where spells.spell_ends_on <= spine.as_of_date
    group by spine.period_start

),

-- Customers active on the day before the period who are no longer active on its closing date:
-- their spell churned in the period and no later spell covers the closing date.
churned_from_start as (

    select
        spine.period_start,
        spine.closing_date,
        spells.customer_id
    from spells
    inner join spine
        on {{ crm_retention.period_start('spells.spell_ends_on') }} = spine.period_start
    where
        spells.spell_ends_on <= spine.as_of_date
        and spells.spell_started_on < spine.period_start

),

lost_from_start as (

    select
        churned_from_start.period_start,
        count(*) as lost_customers
    from churned_from_start
    left join spells as later_spells
        on
            churned_from_start.customer_id = later_spells.customer_id
            and later_spells.spell_started_on <= churned_from_start.closing_date
            and later_spells.spell_ends_on > churned_from_start.closing_date
    where later_spells.customer_id is null
    group by churned_from_start.period_start

),

movements as (

    select
        spine.period_start,
        spine.period_end,
        spine.is_complete_period,
        cast(coalesce(starts.new_customers, 0) as {{ dbt.type_bigint() }}) as new_customers,
        cast(coalesce(starts.reactivated_customers, 0) as {{ dbt.type_bigint() }}) as reactivated_customers,
        cast(coalesce(churns.churned_customers, 0) as {{ dbt.type_bigint() }}) as churned_customers,
        cast(coalesce(lost_from_start.lost_customers, 0) as {{ dbt.type_bigint() }}) as lost_customers
    from spine
    left join starts
        on spine.period_start = starts.period_start
    left join churns
        on spine.period_start = churns.period_start
    left join lost_from_start
        on spine.period_start = lost_from_start.period_start

),

balances as (

    select
        *,
        cast(coalesce(sum(new_customers + reactivated_customers - churned_customers) over (
            order by period_start
            rows between unbounded preceding and 1 preceding
        ), 0) as {{ dbt.type_bigint() }}) as customers_at_start
    from movements

),

final as (

    select
        period_start,
        period_end,
        is_complete_period,
        customers_at_start,
        new_customers,
        reactivated_customers,
        churned_customers,
        customers_at_start + new_customers + reactivated_customers - churned_customers as customers_at_end,
        customers_at_start - lost_customers as retained_customers,
        {{ crm_retention.safe_divide(
            'customers_at_start + reactivated_customers - churned_customers',
            'customers_at_start'
        ) }} as retention_rate,
        {{ crm_retention.safe_divide('churned_customers', 'customers_at_start') }} as churn_rate,
        {{ crm_retention.safe_divide('customers_at_start - lost_customers', 'customers_at_start') }} as survival_rate
    from balances

)

select * from final
