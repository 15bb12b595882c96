{#- Counted orders up to the as-of date: the only orders any metric sees. -#}
{{ config(
    materialized=crm_retention.heavy_materialization(),
    incremental_strategy='append',
    pre_hook="{{ crm_retention.delete_changed_customers() }}",
) }}
{{ crm_retention.depends_on_changed_customers() }}

with

orders as (

    select * from {{ ref('stg_crm__orders') }}
    where status_class = 'counted'
    {% if crm_retention.is_incremental_mode() and is_incremental() -%}
        and customer_id in (select customer_id from {{ ref('int_crm__changed_customers') }})
    {%- endif %}

),

as_of as (

    select * from {{ ref('int_crm__as_of') }}

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.order_date,
        {{ crm_retention.period_start('orders.order_date') }} as period_start,
        orders.net_revenue
    from orders
    inner join as_of
        on orders.order_date <= as_of.as_of_date

)

select * from final
