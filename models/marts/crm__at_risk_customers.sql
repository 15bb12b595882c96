{#-
    Win-back targets for a marketing tool: active customers whose last order is at least
    crm_at_risk_days old, before their window closes, ranked by the revenue at stake (their net
    revenue to date), highest first. Where the predictive models run, the value at stake is also
    weighted by the probability the customer is still alive, and ranked by that (null
    elsewhere). A filter of crm__customers, the one place the customer figures are assembled.

    A rank is row_number() over every at-risk customer, computed as the RFM scores compute their
    positions so that a distributed engine does not sort all of them in one partition: the
    customers in higher value groups (`value_group`) plus the rank inside the customer's own
    group. The only unpartitioned windows run over the groups (docs/engines.md).

    Who is at risk moves with the as-of date: a view in incremental mode (`as_of_step`), over the
    crm__customers view (about 0.5 s a query at 1M customers on DuckDB).
-#}
{{ crm_retention.as_of_step() }}
{%- set window_days = crm_retention.get_churn_window_days() %}

with

customers as (

    select * from {{ ref('crm__customers') }}
    where is_at_risk

),

stakes as (

    select
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
        orders,
        net_revenue as value_at_stake,
        aov,
        rfm_score,
        rfm_segment,
        latest_nps_score,
        p_alive,
        cast(net_revenue * p_alive as {{ crm_retention.type_rate() }}) as weighted_value_at_stake,
        {{ crm_retention.value_group('net_revenue') }} as value_group,
        {{ crm_retention.value_group('net_revenue * p_alive') }} as weighted_value_group
    from customers

),

-- Customers in the groups above each group, for each of the two ranks (highest value first).
group_starts as (

    select
        'value' as measure,
        value_group as group_key,
        sum(customers) over (order by value_group desc rows between unbounded preceding and current row)
        - customers as customers_before
    from (
        select
            value_group,
            count(*) as customers
        from stakes
        group by value_group
    ) as value_groups

    union all

    select
        'weighted' as measure,
        weighted_value_group as group_key,
        sum(customers) over (order by weighted_value_group desc rows between unbounded preceding and current row)
        - customers as customers_before
    from (
        select
            weighted_value_group,
            count(*) as customers
        from stakes
        where weighted_value_at_stake is not null
        group by weighted_value_group
    ) as weighted_groups

),

final as (

    select
        cast(value_starts.customers_before + row_number() over (
            partition by stakes.value_group order by stakes.value_at_stake desc, stakes.customer_id
        ) as {{ dbt.type_bigint() }}) as value_at_stake_rank,
        stakes.customer_id,
        stakes.email,
        stakes.first_name,
        stakes.last_name,
        stakes.country,
        stakes.acquisition_channel,
        stakes.has_customer_record,
        stakes.cohort_period,
        stakes.last_order_date,
        stakes.days_since_last_order,
        cast({{ window_days }} - stakes.days_since_last_order as {{ dbt.type_bigint() }}) as days_until_churn,
        stakes.orders,
        stakes.value_at_stake,
        stakes.aov,
        stakes.rfm_score,
        stakes.rfm_segment,
        stakes.latest_nps_score,
        stakes.p_alive,
        stakes.weighted_value_at_stake,
        cast(weighted_starts.customers_before + row_number() over (
            partition by stakes.weighted_value_group
            order by stakes.weighted_value_at_stake desc, stakes.customer_id
        ) as {{ dbt.type_bigint() }}) as weighted_value_at_stake_rank
    from stakes
    inner join group_starts as value_starts
        on
            value_starts.measure = 'value'
            and stakes.value_group = value_starts.group_key
    left join group_starts as weighted_starts
        on
            weighted_starts.measure = 'weighted'
            and stakes.weighted_value_group = weighted_starts.group_key

)

select * from final
