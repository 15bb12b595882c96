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

-- At the crm_period grain; crm__period_rollups builds the same rows at coarser grains.
final as (

    {{ crm_retention.customer_periods('orders') }}

)

select * from final
