{#-
    Customers that passed cleaning, one row per customer_id. With crm_using_customers: false (an
    orders-only export, no customers table) each customer comes from its staged orders instead:
    created when its first staged order was placed, with no attributes.
-#}
{%- set using_customers = crm_retention.get_flag('crm_using_customers', true) %}

with
{%- if using_customers %}

customers as (

    select * from {{ ref('base_crm__customers') }}
    where rejection_reason is null

),
{%- else %}

-- Base rows, not stg_crm__orders: a staging model reads no other staging model. The staged
-- base rows are the ones without a rejection reason, lines included.
customers as (

    select
        customer_id,
        {%- for name in ['email', 'first_name', 'last_name', 'country', 'acquisition_channel'] %}
        cast(null as {{ dbt.type_string() }}) as {{ name }},
        {%- endfor %}
        min(ordered_at) as created_at,
        cast(null as {{ dbt.type_timestamp() }}) as updated_at
    from {{ ref('base_crm__orders') }}
    where rejection_reason is null
    group by customer_id

),
{%- endif %}

final as (

    select
        customer_id,
        email,
        first_name,
        last_name,
        country,
        acquisition_channel,
        {%- for name in crm_retention.get_customer_segment_columns() %}
        {{ name }},
        {%- endfor %}
        created_at,
        updated_at
    from customers

)

select * from final
