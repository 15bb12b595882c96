{#-
    One row per customer with a counted order: cohort (period of the first order) and lifetime
    figures, summed from the customer's spells (a few rows per customer, not one per order).
-#}
{{ crm_retention.incremental_by_customer() }}

with

spells as (

    select * from {{ ref('int_crm__customer_spells') }}
    {{ crm_retention.changed_customers_only() }}

),

customers as (

    select
        customer_id,
        min(spell_started_on) as first_order_date,
        max(last_order_date) as last_order_date,
        cast(sum(spell_orders) as {{ dbt.type_bigint() }}) as orders,
        sum(spell_revenue) as net_revenue
    from spells
    group by customer_id

),

final as (

    select
        customers.customer_id,
        {{ crm_retention.period_start('customers.first_order_date') }} as cohort_period,
        customers.first_order_date,
        customers.last_order_date,
        customers.orders,
        customers.net_revenue
    from customers

)

select * from final
