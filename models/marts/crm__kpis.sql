{#-
    One wide row per period of the headline numbers: a roll-up of the other marts, the one mart
    that reads marts. formula_clv = aov x purchases per active customer x expected lifetime in
    periods, aov x (orders / ((S + E) / 2)) x (1 / churn_rate); null when a factor is undefined.
-#}
{%- set using_nps = crm_retention.get_flag('crm_using_nps', true) -%}

with

retention as (

    select * from {{ ref('crm__retention') }}

),

repeat_rate as (

    select * from {{ ref('crm__repeat_rate') }}

),

aov as (

    select * from {{ ref('crm__aov') }}

),

revenue_retention as (

    select * from {{ ref('crm__revenue_retention') }}

),

{% if using_nps %}
nps as (

    select * from {{ ref('crm__nps') }}

),
{% endif %}

final as (

    select
        retention.period_start,
        retention.period_end,
        retention.is_complete_period,
        retention.customers_at_start,
        retention.new_customers,
        retention.reactivated_customers,
        retention.churned_customers,
        retention.customers_at_end,
        retention.retained_customers,
        retention.retention_rate,
        retention.churn_rate,
        retention.survival_rate,
        aov.orders,
        aov.revenue,
        aov.aov,
        repeat_rate.repeat_customer_rate,
        repeat_rate.purchase_frequency,
        revenue_retention.gross_revenue_retention,
        revenue_retention.net_revenue_retention,
        {% if using_nps -%}
        nps.nps,
        {%- else -%}
        cast(null as {{ crm_retention.type_rate() }}) as nps,
        {%- endif %}
        case
            when retention.customers_at_start + retention.customers_at_end = 0 then null
            when retention.churn_rate is null or retention.churn_rate = 0 then null
            else aov.aov
                * (
                    cast(aov.orders as {{ crm_retention.type_rate() }})
                    / ((retention.customers_at_start + retention.customers_at_end) / 2.0)
                )
                * (1 / retention.churn_rate)
        end as formula_clv
    from retention
    inner join aov
        on retention.period_start = aov.period_start
    inner join repeat_rate
        on retention.period_start = repeat_rate.period_start
    inner join revenue_retention
        on retention.period_start = revenue_retention.period_start
    {% if using_nps -%}
    inner join nps
        on retention.period_start = nps.period_start
    {%- endif %}

)

select * from final
