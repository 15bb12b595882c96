{#-
    One row per customer and gap length: how many times the customer came back after gap_days
    days, between consecutive counted order days up to the as-of date. crm__order_gaps adds them
    up over all customers. A view in full builds; in incremental mode a table where a run
    recomputes only the customers whose orders changed.
-#}
{{ crm_retention.incremental_by_customer(settings=['orders', 'periods'], log='stg_crm__order_changes', upstream='int_crm__orders', full_build='view') }}

with

orders as (

    select * from {{ ref('int_crm__orders') }}
    {{ crm_retention.changed_customers_only() }}

),

-- The days since the customer's previous order. Orders on one day give gaps of 0, and the first
-- order of a day follows one of the previous order day, so the gaps above 0 are exactly the
-- gaps between consecutive order days, without a distinct over all orders first.
gaps as (

    select
        customer_id,
        {{ crm_retention.days_between(
            'lag(order_date) over (partition by customer_id order by order_date)', 'order_date'
        ) }} as gap_days
    from orders

),

final as (

    select
        customer_id,
        cast(gap_days as {{ dbt.type_bigint() }}) as gap_days,
        cast(count(*) as {{ dbt.type_bigint() }}) as gaps
    from gaps
    where gap_days > 0
    group by customer_id, gap_days

)

select * from final
