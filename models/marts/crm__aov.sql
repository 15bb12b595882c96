{#- Average order value per period: net revenue over counted orders, split by new and returning customers. -#}

with

spine as (

    select * from {{ ref('int_crm__period_spine') }}

),

customer_periods as (

    select * from {{ ref('int_crm__customer_periods') }}

),

period_orders as (

    select
        customer_periods.period_start,
        sum(customer_periods.orders) as orders,
        sum(customer_periods.net_revenue) as revenue,
        -- New: the period is the customer's first with a counted order, its cohort period.
        sum(case when customer_periods.previous_period_start is null then customer_periods.orders else 0 end)
            as new_customer_orders,
        sum(case when customer_periods.previous_period_start is null then customer_periods.net_revenue else 0 end)
            as new_customer_revenue
    from customer_periods
    group by customer_periods.period_start

),

filled as (

    select
        spine.period_start,
        spine.period_end,
        spine.is_complete_period,
        cast(coalesce(period_orders.orders, 0) as {{ dbt.type_bigint() }}) as orders,
        cast(coalesce(period_orders.revenue, 0) as {{ crm_retention.type_money() }}) as revenue,
        cast(coalesce(period_orders.new_customer_orders, 0) as {{ dbt.type_bigint() }}) as new_customer_orders,
        cast(coalesce(period_orders.new_customer_revenue, 0) as {{ crm_retention.type_money() }}) as new_customer_revenue,
        cast(coalesce(period_orders.orders - period_orders.new_customer_orders, 0) as {{ dbt.type_bigint() }}) as returning_customer_orders,
        cast(coalesce(period_orders.revenue - period_orders.new_customer_revenue, 0) as {{ crm_retention.type_money() }})
            as returning_customer_revenue
    from spine
    left join period_orders
        on spine.period_start = period_orders.period_start

),

final as (

    select
        period_start,
        period_end,
        is_complete_period,
        orders,
        revenue,
        {{ crm_retention.safe_divide('revenue', 'orders') }} as aov,
        new_customer_orders,
        new_customer_revenue,
        {{ crm_retention.safe_divide('new_customer_revenue', 'new_customer_orders') }} as new_customer_aov,
        returning_customer_orders,
        returning_customer_revenue,
        {{ crm_retention.safe_divide('returning_customer_revenue', 'returning_customer_orders') }}
            as returning_customer_aov
    from filled

)

select * from final
