{#-
    One row per RFM segment: how many customers are in it, their orders and net revenue, and its
    shares of all scored customers and revenue. A roll-up of crm__customers (customers with a
    counted order, the ones RFM scores), so a dashboard shows segments without aggregating.
-#}

with

customers as (

    select * from {{ ref('crm__customers') }}
    where rfm_segment is not null

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
