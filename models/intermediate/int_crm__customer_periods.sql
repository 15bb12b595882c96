{#- One row per customer and period with a counted order: the grain of cohorts, repeat rate, AOV and revenue movements. -#}
{{ config(
    materialized=crm_retention.heavy_materialization(),
    incremental_strategy='append',
    pre_hook="{{ crm_retention.delete_changed_customers() }}",
) }}
{{ crm_retention.depends_on_changed_customers() }}

with

orders as (

    select * from {{ ref('int_crm__orders') }}
    {{ crm_retention.changed_customers_only() }}

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
