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
-#}
{%- set window_days = crm_retention.get_churn_window_days() %}

with

customers as (

    select * from {{ ref('crm__customers') }}
    where is_at_risk

),

stakes as (

    select
        customer_id,
        net_revenue as value_at_stake,
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

ranks as (

    select
        stakes.customer_id,
        value_starts.customers_before + row_number() over (
            partition by stakes.value_group order by stakes.value_at_stake desc, stakes.customer_id
        ) as value_at_stake_rank,
        weighted_starts.customers_before + row_number() over (
            partition by stakes.weighted_value_group
            order by stakes.weighted_value_at_stake desc, stakes.customer_id
        ) as weighted_value_at_stake_rank
    from stakes
    inner join group_starts as value_starts
        on
            value_starts.measure = 'value'
            and stakes.value_group = value_starts.group_key
    left join group_starts as weighted_starts
        on
            weighted_starts.measure = 'weighted'
            and stakes.weighted_value_group = weighted_starts.group_key

),

final as (

    select
        cast(ranks.value_at_stake_rank as {{ dbt.type_bigint() }}) as value_at_stake_rank,
        customers.customer_id,
        customers.email,
        customers.first_name,
        customers.last_name,
        customers.country,
        customers.acquisition_channel,
        customers.has_customer_record,
        customers.cohort_period,
        customers.last_order_date,
        customers.days_since_last_order,
        cast({{ window_days }} - customers.days_since_last_order as {{ dbt.type_bigint() }}) as days_until_churn,
        customers.orders,
        customers.net_revenue as value_at_stake,
        customers.aov,
        customers.rfm_score,
        customers.rfm_segment,
        customers.latest_nps_score,
        customers.p_alive,
        stakes.weighted_value_at_stake,
        cast(ranks.weighted_value_at_stake_rank as {{ dbt.type_bigint() }}) as weighted_value_at_stake_rank
    from customers
    inner join stakes
        on customers.customer_id = stakes.customer_id
    inner join ranks
        on customers.customer_id = ranks.customer_id

)

select * from final
