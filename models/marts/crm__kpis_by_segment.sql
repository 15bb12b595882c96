{#-
    The headline numbers per period and segment (crm_segments): customer retention from
    crm__retention_by_segment, and the orders, revenue, AOV, repeat-customer rate and purchase
    frequency of each segment value's customers, defined as in crm__aov and crm__repeat_rate.
    For every period and segment name, the values' counts, orders and revenue add up to
    crm__kpis'. Revenue retention, NPS and formula CLV are not broken down.
-#}
{{ config(enabled=crm_retention.get_segments() | length > 0) }}

with

retention as (

    select * from {{ ref('crm__retention_by_segment') }}

),

customer_periods as (

    select * from {{ ref('int_crm__customer_periods') }}

),

segments as (

    select * from {{ ref('int_crm__customer_segments') }}

),

period_customers as (

    select
        segments.segment_name,
        segments.segment_value,
        customer_periods.period_start,
        count(*) as customers,
        sum(customer_periods.orders) as orders,
        sum(customer_periods.net_revenue) as revenue,
        sum(case when customer_periods.orders >= 2 then 1 else 0 end) as repeat_customers
    from customer_periods
    inner join segments
        on customer_periods.customer_id = segments.customer_id
    group by segments.segment_name, segments.segment_value, customer_periods.period_start

),

final as (

    select
        retention.period_start,
        retention.period_end,
        retention.is_complete_period,
        retention.segment_name,
        retention.segment_value,
        retention.customers_at_start,
        retention.new_customers,
        retention.reactivated_customers,
        retention.churned_customers,
        retention.customers_at_end,
        retention.retained_customers,
        retention.retention_rate,
        retention.churn_rate,
        retention.survival_rate,
        cast(coalesce(period_customers.orders, 0) as {{ dbt.type_bigint() }}) as orders,
        cast(coalesce(period_customers.revenue, 0) as {{ crm_retention.type_money() }}) as revenue,
        {{ crm_retention.safe_divide('period_customers.revenue', 'period_customers.orders') }} as aov,
        {{ crm_retention.safe_divide('period_customers.repeat_customers', 'period_customers.customers') }}
            as repeat_customer_rate,
        {{ crm_retention.safe_divide('period_customers.orders', 'period_customers.customers') }}
            as purchase_frequency
    from retention
    left join period_customers
        on
            retention.period_start = period_customers.period_start
            and retention.segment_name = period_customers.segment_name
            and retention.segment_value = period_customers.segment_value

)

select * from final
