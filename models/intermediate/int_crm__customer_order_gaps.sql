{#-
    One row per customer and gap length: how many times the customer came back after gap_days
    days, between consecutive counted order days up to the as-of date. crm__order_gaps adds them
    up over all customers. A view in full builds; in incremental mode a table where a run
    recomputes only the customers whose orders changed.
-#}
{{ crm_retention.incremental_by_customer(full_build='view') }}

with

orders as (

    select * from {{ ref('int_crm__orders') }}
    {{ crm_retention.changed_customers_only() }}

),

order_days as (

    select distinct
        customer_id,
        order_date
    from orders

),

gaps as (

    select
        customer_id,
        {{ crm_retention.days_between(
            'lag(order_date) over (partition by customer_id order by order_date)', 'order_date'
        ) }} as gap_days
    from order_days

),

final as (

    select
        customer_id,
        cast(gap_days as {{ dbt.type_bigint() }}) as gap_days,
        cast(count(*) as {{ dbt.type_bigint() }}) as gaps
    from gaps
    where gap_days is not null
    group by customer_id, gap_days

)

select * from final
