{#-
    Win-back targets for a marketing tool: active customers whose last order is at least
    crm_at_risk_days old, before their window closes, ranked by the revenue at stake (their net
    revenue to date), highest first. Where the predictive models run, the value at stake is also
    weighted by the probability the customer is still alive, and ranked by that (null
    elsewhere). A filter of crm__customers, the one place the customer figures are assembled;
    the ranks are windows over the at-risk customers only, a small share of the base
    (docs/engines.md).
-#}
{%- set window_days = crm_retention.get_churn_window_days() %}

with

customers as (

    select * from {{ ref('crm__customers') }}
    where is_at_risk

),

final as (

    select
        cast(row_number() over (order by net_revenue desc, customer_id) as {{ dbt.type_bigint() }})
            as value_at_stake_rank,
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
        cast({{ window_days }} - days_since_last_order as {{ dbt.type_bigint() }}) as days_until_churn,
        orders,
        net_revenue as value_at_stake,
        aov,
        rfm_score,
        rfm_segment,
        latest_nps_score,
        p_alive,
        cast(net_revenue * p_alive as {{ crm_retention.type_rate() }}) as weighted_value_at_stake,
        cast(case
            when p_alive is not null
                then row_number() over (order by net_revenue * p_alive desc, customer_id)
        end as {{ dbt.type_bigint() }}) as weighted_value_at_stake_rank
    from customers

)

select * from final
