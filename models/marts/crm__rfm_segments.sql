{#-
    One row per RFM segment: how many customers are in it, their orders and net revenue, and its
    shares of all scored customers and revenue, so a dashboard shows segments without
    aggregating. The customers are those of crm__customers with an RFM segment (a counted order),
    with the same figures; it reads the scores and the cohorts that crm__customers assembles, not
    crm__customers itself, which in incremental mode is a view that also joins every customer's
    record, NPS and predictions.
-#}

with

scores as (

    select * from {{ ref('int_crm__customer_rfm_scores') }}
    where rfm_segment is not null

),

cohorts as (

    select * from {{ ref('int_crm__customer_cohorts') }}

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

customers as (

    select
        scores.rfm_segment,
        cohorts.orders,
        cohorts.net_revenue,
        {{ crm_retention.days_between('cohorts.last_order_date', 'as_of.as_of_date') }} as days_since_last_order
    from scores
    inner join cohorts
        on scores.customer_id = cohorts.customer_id
    cross join as_of

),

segments as (

    select
        rfm_segment,
        count(*) as customers,
        sum(orders) as orders,
        sum(net_revenue) as net_revenue,
        avg(cast(days_since_last_order as {{ crm_retention.type_rate() }})) as mean_days_since_last_order
    from customers
    group by rfm_segment

),

totals as (

    select
        count(*) as customers,
        sum(net_revenue) as net_revenue
    from customers

),

final as (

    select
        segments.rfm_segment,
        cast(segments.customers as {{ dbt.type_bigint() }}) as customers,
        {{ crm_retention.safe_divide('segments.customers', 'totals.customers') }} as share_of_customers,
        cast(segments.orders as {{ dbt.type_bigint() }}) as orders,
        cast(segments.net_revenue as {{ crm_retention.type_money() }}) as net_revenue,
        {{ crm_retention.safe_divide('segments.net_revenue', 'totals.net_revenue') }} as share_of_revenue,
        {{ crm_retention.safe_divide('segments.net_revenue', 'segments.customers') }} as net_revenue_per_customer,
        cast(segments.mean_days_since_last_order as {{ crm_retention.type_rate() }}) as mean_days_since_last_order
    from segments
    cross join totals

)

select * from final
