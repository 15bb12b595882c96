{#-
    Counted orders up to the as-of date: the only orders any metric sees. Reads the base model:
    the staging view's join to customers (has_customer_record) would cost a join per order.
    A view in full builds (its readers scan it once each); a table in incremental mode.
-#}
{{ config(
    materialized='incremental' if crm_retention.is_incremental_mode() else 'view',
    incremental_strategy='append',
    pre_hook="{{ crm_retention.delete_changed_customers() }}",
) }}
{{ crm_retention.depends_on_changed_customers() }}

with

orders as (

    select * from {{ ref('base_crm__orders') }}
    where rejection_reason is null and status_class = 'counted'
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
