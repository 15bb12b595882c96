{#-
    One row per customer and period with a counted order: the grain of cohorts, repeat rate, AOV
    and revenue movements. Each row also names the customer's previous and next periods with a
    counted order, so the period marts need neither a sort of these rows nor a join to the
    cohorts; in incremental mode only the changed customers' rows are sorted again.
-#}
{{ crm_retention.incremental_by_customer(settings=['orders', 'periods'], log='stg_crm__order_changes', upstream='int_crm__orders') }}

with

orders as (

    select * from {{ ref('int_crm__orders') }}
    {{ crm_retention.changed_customers_only() }}

),

periods as (

    select
        customer_id,
        period_start,
        count(*) as orders,
        sum(net_revenue) as net_revenue
    from orders
    group by customer_id, period_start

),

final as (

    select
        customer_id,
        period_start,
        orders,
        net_revenue,
        lag(period_start) over (partition by customer_id order by period_start) as previous_period_start,
        lag(net_revenue) over (partition by customer_id order by period_start) as previous_period_revenue,
        lead(period_start) over (partition by customer_id order by period_start) as next_period_start
    from periods

)

select * from final
