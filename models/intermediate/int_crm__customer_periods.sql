{#- One row per customer and period with a counted order: the grain of cohorts, repeat rate, AOV and revenue movements. -#}

with

orders as (

    select * from {{ ref('int_crm__orders') }}

),

final as (

    select
        customer_id,
        period_start,
        count(*) as orders,
        sum(net_revenue) as net_revenue
    from orders
    group by customer_id, period_start

)

select * from final
