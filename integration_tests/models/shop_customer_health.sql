-- A host model on the package's public marts, the way a user's project builds on them.
with

customers as (

    select * from {{ ref('crm__customers') }}

),

final as (

    select
        customer_id,
        has_customer_record,
        lifecycle_status,
        is_at_risk,
        days_since_last_order,
        orders,
        net_revenue
    from customers

)

select * from final
